/* model.c - see model.h. */
#include "model.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

void model_init(struct model *m, const struct bucket_thresholds *th)
{
    memset(m, 0, sizeof *m);
    m->thresholds = *th;
    m->birth_sample_state = 0x9e3779b97f4a7c15ull;
}

static void site_free(struct model_site *site)
{
    free(site->frames);
    free(site->timeline);
    free(site->end.births);
    free(site);
}

void model_free(struct model *m)
{
    for (size_t i = 0; i < m->nmaps; i++) {
        for (size_t j = 0; j < m->maps[i].count; j++) {
            free((void *)m->maps[i].modules[j].path);
            free((void *)m->maps[i].modules[j].build_id);
        }
        free(m->maps[i].modules);
    }
    free(m->maps);
    for (size_t i = 0; i < m->nsites; i++)
        site_free(m->sites[i]);
    free(m->sites);
    free(m->by_id);
    free(m->pending_counters);
    free(m->timeline);
    free(m->exe);
    free(m->cmdline);
    memset(m, 0, sizeof *m);
}

void model_set_process(struct model *m, const struct reader_record *rec)
{
    const struct mt_rec_process *p = &rec->u.process.info;

    m->has_process = true;
    m->process = *p;
    free(m->exe);
    free(m->cmdline);
    m->exe = p->exe_len ? xstrndup(rec->u.process.exe, p->exe_len) : NULL;
    m->cmdline = xstrndup(rec->u.process.cmdline, p->cmdline_len);
    m->cmdline_len = p->cmdline_len;
}

void model_add_module_map(struct model *m, const struct reader_record *rec)
{
    struct model_module_map *map;

    xgrow((void **)&m->maps, &m->maps_cap, m->nmaps + 1, sizeof *m->maps);
    map = &m->maps[m->nmaps++];
    map->generation = rec->u.modules.generation;
    map->count = rec->u.modules.count;
    map->modules = xcalloc(map->count, sizeof *map->modules);
    for (size_t i = 0; i < map->count; i++) {
        const struct reader_module *in = &rec->u.modules.modules[i];
        struct sym_module *out = &map->modules[i];
        uint8_t *build_id = xmalloc(in->info.build_id_len);

        memcpy(build_id, in->build_id, in->info.build_id_len);
        out->path = xstrndup(in->path, in->info.path_len);
        out->bias = in->info.bias;
        out->start = in->info.start;
        out->end = in->info.end;
        out->build_id = build_id;
        out->build_id_len = in->info.build_id_len;
        out->dev = in->info.dev;
        out->ino = in->info.ino;
        out->size = in->info.size;
        out->mtime_ns = in->info.mtime_ns;
    }
}

struct model_site *model_site_find(const struct model *m, uint32_t id)
{
    return id < m->by_id_cap ? m->by_id[id] : NULL;
}

struct model_site *model_define_site(struct model *m,
                                     const struct reader_record *rec)
{
    const struct mt_rec_site *in = &rec->u.site.info;
    struct model_site *site = xcalloc(1, sizeof *site);

    site->id = in->site_id;
    site->kind = in->kind;
    site->nframes = in->nframes;
    site->frames = xmalloc(in->nframes * sizeof *site->frames);
    memcpy(site->frames, rec->u.site.frames,
           in->nframes * sizeof *site->frames);
    site->module_map = m->nmaps ? m->nmaps - 1 : MODEL_NO_MODULES;
    if (in->site_id >= m->by_id_cap) {
        size_t old = m->by_id_cap;
        xgrow((void **)&m->by_id, &m->by_id_cap, (size_t)in->site_id + 1,
              sizeof *m->by_id);
        memset(m->by_id + old, 0, (m->by_id_cap - old) * sizeof *m->by_id);
    }
    m->by_id[in->site_id] = site;
    xgrow((void **)&m->sites, &m->sites_cap, m->nsites + 1, sizeof *m->sites);
    site->index = m->nsites;
    m->sites[m->nsites++] = site;
    return site;
}

void model_queue_counters(struct model *m, const struct reader_record *rec)
{
    size_t n = rec->u.counters.count;

    xgrow((void **)&m->pending_counters, &m->pending_cap,
          m->npending_counters + n, sizeof *m->pending_counters);
    for (size_t i = 0; i < n; i++)
        reader_counters_at(rec, i,
                           &m->pending_counters[m->npending_counters + i]);
    m->npending_counters += n;
}

static void site_add_point(struct model_site *site, uint64_t t_ns,
                           uint64_t live_bytes)
{
    uint64_t previous = site->npoints
                            ? site->timeline[site->npoints - 1].live_bytes
                            : 0;

    /* The timeline is a step function: a point that repeats the level
     * says nothing, and leaving it out keeps long traces small. */
    if (live_bytes == previous && site->npoints)
        return;
    if (live_bytes == 0 && !site->npoints)
        return;
    xgrow((void **)&site->timeline, &site->timeline_cap, site->npoints + 1,
          sizeof *site->timeline);
    site->timeline[site->npoints].t_ns = t_ns;
    site->timeline[site->npoints].live_bytes = live_bytes;
    site->npoints++;
}

void model_commit_snapshot(struct model *m, const struct mt_rec_snapshot *s)
{
    for (size_t i = 0; i < m->npending_counters; i++) {
        const struct mt_site_counters *c = &m->pending_counters[i];
        struct model_site *site = model_site_find(m, c->site_id);

        site->counters.live_bytes = c->live_bytes;
        site->counters.allocs = c->allocs;
        site->counters.frees = c->frees;
        site->counters.bytes_allocated = c->bytes_allocated;
        site->counters.peak_live_bytes = c->peak_live_bytes;
        site_add_point(site, s->t_ns, c->live_bytes);
    }
    m->npending_counters = 0;
    m->ncommitted = m->nsites;
    xgrow((void **)&m->timeline, &m->timeline_cap, m->ntimeline + 1,
          sizeof *m->timeline);
    m->timeline[m->ntimeline].t_ns = s->t_ns;
    m->timeline[m->ntimeline].live_bytes = s->live_bytes;
    m->ntimeline++;
    m->has_snapshot = true;
    m->last_snapshot = *s;
}

void model_discard_pending(struct model *m)
{
    while (m->nsites > m->ncommitted) {
        struct model_site *site = m->sites[--m->nsites];
        m->by_id[site->id] = NULL;
        site_free(site);
    }
    m->npending_counters = 0;
}

void model_mark_truncated(struct model *m)
{
    model_discard_pending(m);
    m->truncated = true;
    m->end_ns = m->has_snapshot ? m->last_snapshot.t_ns : 0;
}

void model_set_end(struct model *m, const struct mt_rec_end *end)
{
    /* Sites defined after the final snapshot are kept (survivors may name
     * them); counters without a snapshot to date them are not. */
    m->ncommitted = m->nsites;
    m->npending_counters = 0;
    m->has_end = true;
    m->end = *end;
    m->end_ns = end->t_ns;
    m->reachability = (end->flags & MT_END_REACHABILITY_DONE) != 0;
}

/* xorshift64*: a fixed seed keeps reports of the same trace identical. */
static uint64_t sample_random(struct model *m)
{
    uint64_t x = m->birth_sample_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    m->birth_sample_state = x;
    return x * 0x2545f4914f6cdd1dull;
}

/* Reservoir sampling (Algorithm R): every birth has the same chance to be
 * in the sample, whatever the order of the survivors in the file. */
static void site_add_birth(struct model *m, struct model_site_end *end,
                           uint64_t birth_ns)
{
    end->survivors_seen++;
    if (end->nbirths < MODEL_BIRTHS_CAP) {
        xgrow((void **)&end->births, &end->births_cap, end->nbirths + 1,
              sizeof *end->births);
        end->births[end->nbirths++] = birth_ns;
        return;
    }
    uint64_t slot = sample_random(m) % end->survivors_seen;
    if (slot < MODEL_BIRTHS_CAP)
        end->births[slot] = birth_ns;
}

void model_add_survivor(struct model *m, const struct mt_survivor *s)
{
    struct model_site *site = model_site_find(m, s->site_id);
    struct model_site_end *end = &site->end;
    enum bucket b = bucket_classify(&m->thresholds, s->size, s->birth_ns,
                                    m->end_ns);

    end->live_bytes += s->size;
    end->live_blocks++;
    bucket_totals_add(&end->buckets, b, s->size, 1);
    if (m->reachability && (s->flags & MT_SURV_UNREACHABLE)) {
        end->unreachable_blocks++;
        end->unreachable_bytes += s->size;
    }
    if (!end->has_ages || s->birth_ns < end->oldest_birth_ns)
        end->oldest_birth_ns = s->birth_ns;
    if (!end->has_ages || s->birth_ns > end->newest_birth_ns)
        end->newest_birth_ns = s->birth_ns;
    end->has_ages = true;
    site_add_birth(m, end, s->birth_ns);
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

void model_finish_survivors(struct model *m)
{
    m->survivors_used = true;
    m->live_bytes_end = 0;
    m->live_blocks_end = 0;
    memset(&m->buckets, 0, sizeof m->buckets);
    for (size_t i = 0; i < m->nsites; i++) {
        struct model_site_end *end = &m->sites[i]->end;
        if (end->nbirths > 1)
            qsort(end->births, end->nbirths, sizeof *end->births,
                  compare_u64);
        m->live_bytes_end += end->live_bytes;
        m->live_blocks_end += end->live_blocks;
        bucket_totals_merge(&m->buckets, &end->buckets);
    }
}

uint64_t model_counters_live_blocks(const struct model_counters *c)
{
    return c->allocs > c->frees ? c->allocs - c->frees : 0;
}
