/* reader_records.c - each record's payload decoded and checked for the
 * reader (reader_internal.h); the stream around it is reader.c's. */
#include "reader_internal.h"

#include <string.h>

#include "trace_unpack.h"
#include "xalloc.h"

_Static_assert(sizeof(struct mt_rec_site_counters) ==
                   sizeof(struct mt_rec_survivors),
               "one fixed part for both counted records");

static bool site_is_defined(const struct trace_reader *r, uint32_t id)
{
    return id < r->site_defined_cap && r->site_defined[id];
}

static uint32_t entry_site_id(const uint8_t *entry)
{
    uint32_t id;
    memcpy(&id, entry, sizeof id);
    return id;
}

/* A payload that starts with a fixed part of `size` bytes: copies it to
 * out, or reports a payload too short for it. */
static enum reader_status decode_head(struct trace_reader *r,
                                      struct reader_record *rec,
                                      uint32_t length, void *out, size_t size)
{
    if (length < size) {
        /* Its status spelled out: the callers' compiler then sees out set
         * whenever READER_RECORD comes back. */
        reader_damaged(r, rec, "is %u bytes long (at least %zu)", length,
                       size);
        return READER_ERROR;
    }
    memcpy(out, r->payload, size);
    return READER_RECORD;
}

static enum reader_status decode_process(struct trace_reader *r,
                                         struct reader_record *rec,
                                         uint32_t length)
{
    struct mt_rec_process *p = &rec->u.process.info;
    uint64_t need;
    enum reader_status st = decode_head(r, rec, length, p, sizeof *p);

    if (st != READER_RECORD)
        return st;
    need = (uint64_t)sizeof *p + p->exe_len + p->cmdline_len;
    if (need != length)
        return reader_damaged(r, rec,
                              "is %u bytes long, but its strings of %u and "
                              "%u bytes need %llu", length, p->exe_len,
                              p->cmdline_len,
                              (unsigned long long)need);
    rec->u.process.exe = (const char *)r->payload + sizeof *p;
    rec->u.process.cmdline = rec->u.process.exe + p->exe_len;
    return READER_RECORD;
}

static enum reader_status decode_modules(struct trace_reader *r,
                                         struct reader_record *rec,
                                         uint32_t length)
{
    struct mt_rec_modules head;
    size_t pos = sizeof head;
    enum reader_status st = decode_head(r, rec, length, &head, sizeof head);

    if (st != READER_RECORD)
        return st;
    if (head.count > (length - sizeof head) / sizeof(struct mt_module))
        return reader_damaged(r, rec, "claims %u modules in %u bytes",
                              head.count, length);
    if (head.generation <= r->last_generation)
        return reader_damaged(r, rec, "has generation %u after generation %u",
                              head.generation, r->last_generation);
    xgrow((void **)&r->modules, &r->modules_cap, head.count,
          sizeof *r->modules);
    for (uint32_t i = 0; i < head.count; i++) {
        struct reader_module *m = &r->modules[i];
        if (length - pos < sizeof m->info)
            return reader_damaged(r, rec, "has module %u of %u past its end",
                                  i + 1, head.count);
        memcpy(&m->info, r->payload + pos, sizeof m->info);
        pos += sizeof m->info;
        if ((uint64_t)m->info.build_id_len + m->info.path_len > length - pos)
            return reader_damaged(r, rec,
                                  "has module %u of %u whose strings (%u + %u "
                                  "bytes) run past its end", i + 1, head.count,
                                  m->info.build_id_len, m->info.path_len);
        m->build_id = r->payload + pos;
        pos += m->info.build_id_len;
        m->path = (const char *)r->payload + pos;
        pos += m->info.path_len;
    }
    if (pos != length)
        return reader_damaged(r, rec, "has %zu bytes after its %u modules",
                              length - pos, head.count);
    r->last_generation = head.generation;
    rec->u.modules.generation = head.generation;
    rec->u.modules.count = head.count;
    rec->u.modules.modules = r->modules;
    return READER_RECORD;
}

/* Version 2's frames (trace_format.h), filling the rest of the payload
 * exactly, into frames. */
static enum reader_status unpack_site_frames(struct trace_reader *r,
                                             struct reader_record *rec,
                                             uint32_t length,
                                             uint32_t nframes,
                                             uint64_t *frames)
{
    const uint8_t *at = r->payload + sizeof(struct mt_rec_site),
                  *end = r->payload + length;
    uint32_t whole = unpack_frames(&at, end, nframes, frames);

    if (whole < nframes)
        return reader_damaged(r, rec, "has frame %u of %u cut short or "
                              "overflowing", whole + 1, nframes);
    if (at != end)
        return reader_damaged(r, rec, "has %zu bytes after its %u frames",
                              (size_t)(end - at), nframes);
    return READER_RECORD;
}

static enum reader_status decode_site(struct trace_reader *r,
                                      struct reader_record *rec,
                                      uint32_t length)
{
    struct mt_rec_site *s = &rec->u.site.info;
    enum reader_status st = decode_head(r, rec, length, s, sizeof *s);

    if (st != READER_RECORD)
        return st;
    if (s->nframes > MT_MAX_FRAMES)
        return reader_damaged(r, rec, "has %u frames (at most %d)", s->nframes,
                              MT_MAX_FRAMES);
    if (r->version >= 2) {
        st = unpack_site_frames(r, rec, length, s->nframes,
                                rec->u.site.frames);
        if (st != READER_RECORD)
            return st;
    } else {
        uint64_t need = sizeof *s + (uint64_t)s->nframes * sizeof(uint64_t);
        if (need != length)
            return reader_damaged(r, rec,
                                  "is %u bytes long, but %u frames need %llu",
                                  length, s->nframes,
                                  (unsigned long long)need);
    }
    if (s->kind != MT_KIND_HEAP && s->kind != MT_KIND_MMAP &&
        s->kind != MT_KIND_FAILED)
        return reader_damaged(r, rec, "has unknown site kind %u", s->kind);
    if (s->site_id == 0)
        return reader_damaged(r, rec, "defines site 0 (site ids start at 1)");
    if (s->site_id > r->sites_defined + READER_SITE_ID_SLACK)
        return reader_damaged(r, rec,
                              "defines site %u, far beyond the %llu sites "
                              "defined so far", s->site_id,
                              (unsigned long long)r->sites_defined);
    if (site_is_defined(r, s->site_id))
        return reader_damaged(r, rec, "defines site %u a second time",
                              s->site_id);
    if (s->site_id >= r->site_defined_cap) {
        size_t old = r->site_defined_cap;
        xgrow((void **)&r->site_defined, &r->site_defined_cap,
              (size_t)s->site_id + 1, 1);
        memset(r->site_defined + old, 0, r->site_defined_cap - old);
    }
    r->site_defined[s->site_id] = 1;
    r->sites_defined++;
    if (r->version < 2)
        memcpy(rec->u.site.frames, r->payload + sizeof *s,
               s->nframes * sizeof(uint64_t));
    return READER_RECORD;
}

/* SITE_COUNTERS and SURVIVORS: a fixed part holding `count`, then exactly
 * `count` entries, each starting with a defined site id. */
static enum reader_status decode_entries(struct trace_reader *r,
                                         struct reader_record *rec,
                                         uint32_t length, size_t entry_size,
                                         uint32_t *count,
                                         const uint8_t **entries)
{
    /* SURVIVORS' fixed part is the same. */
    struct mt_rec_site_counters head;
    const size_t fixed = sizeof head;
    uint64_t need;
    enum reader_status st = decode_head(r, rec, length, &head, fixed);

    if (st != READER_RECORD)
        return st;
    *count = head.count;
    need = fixed + (uint64_t)*count * entry_size;
    if (need != length)
        return reader_damaged(r, rec,
                              "is %u bytes long, but %u entries need %llu",
                              length, *count, (unsigned long long)need);
    *entries = r->payload + fixed;
    for (uint32_t i = 0; i < *count; i++) {
        uint32_t id = entry_site_id(*entries + i * entry_size);
        if (!site_is_defined(r, id))
            return reader_damaged(r, rec, "references undefined site %u", id);
    }
    return READER_RECORD;
}

/* Version 2's SITE_COUNTERS: `count` packed entries (trace_format.h),
 * filling exactly the payload, unpacked for reader_counters_at. */
static enum reader_status decode_packed_counters(struct trace_reader *r,
                                                 struct reader_record *rec,
                                                 uint32_t length)
{
    struct mt_rec_site_counters head;
    const size_t fixed = sizeof head;
    const uint8_t *at = r->payload + fixed, *end = r->payload + length;
    uint32_t count;
    enum reader_status st = decode_head(r, rec, length, &head, fixed);

    if (st != READER_RECORD)
        return st;
    count = head.count;
    /* An entry takes six bytes at least. */
    if (count > (length - fixed) / 6)
        return reader_damaged(r, rec,
                              "is %u bytes long, too short for %u entries",
                              length, count);
    if (count > r->unpacked_cap)
        xgrow((void **)&r->unpacked, &r->unpacked_cap, count,
              sizeof *r->unpacked);
    for (uint32_t i = 0; i < count; i++) {
        struct mt_site_counters *c = &r->unpacked[i];
        uint64_t id;
        if (!unpack_counters(&at, end, c, &id))
            return reader_damaged(r, rec, "has entry %u of %u cut short or "
                                  "overflowing", i + 1, count);
        if (id > UINT32_MAX || !site_is_defined(r, (uint32_t)id))
            return reader_damaged(r, rec, "references undefined site %llu",
                                  (unsigned long long)id);
        c->site_id = (uint32_t)id;
    }
    if (at != end)
        return reader_damaged(r, rec, "has %zu bytes after its %u entries",
                              (size_t)(end - at), count);
    rec->u.counters.count = count;
    rec->u.counters.entries = (const uint8_t *)r->unpacked;
    return READER_RECORD;
}

static enum reader_status check_time(struct trace_reader *r,
                                     const struct reader_record *rec,
                                     const char *what, uint64_t t_ns)
{
    if (t_ns > READER_TIME_MAX)
        return reader_damaged(r, rec,
                              "has %s %llu ns, beyond any recording (at "
                              "most %llu)", what, (unsigned long long)t_ns,
                              (unsigned long long)READER_TIME_MAX);
    return READER_RECORD;
}

static enum reader_status decode_survivors(struct trace_reader *r,
                                           struct reader_record *rec,
                                           uint32_t length)
{
    enum reader_status st =
        decode_entries(r, rec, length, sizeof(struct mt_survivor),
                       &rec->u.survivors.count, &rec->u.survivors.entries);

    for (uint32_t i = 0; st == READER_RECORD && i < rec->u.survivors.count;
         i++) {
        struct mt_survivor s;
        reader_survivor_at(rec, i, &s);
        st = check_time(r, rec, "a birth time", s.birth_ns);
    }
    return st;
}

static enum reader_status decode_fixed(struct trace_reader *r,
                                       struct reader_record *rec,
                                       uint32_t length, void *out,
                                       size_t size)
{
    if (length != size)
        return reader_damaged(r, rec, "is %u bytes long (expected %zu)",
                              length, size);
    memcpy(out, r->payload, size);
    return READER_RECORD;
}

enum reader_status reader_decode(struct trace_reader *r,
                                 struct reader_record *rec, uint32_t length)
{
    enum reader_status st;

    switch (rec->type) {
    case MT_REC_PROCESS:
        return decode_process(r, rec, length);
    case MT_REC_MODULES:
        return decode_modules(r, rec, length);
    case MT_REC_SITE:
        return decode_site(r, rec, length);
    case MT_REC_SITE_COUNTERS:
        if (r->version >= 2)
            return decode_packed_counters(r, rec, length);
        return decode_entries(r, rec, length, sizeof(struct mt_site_counters),
                              &rec->u.counters.count,
                              &rec->u.counters.entries);
    case MT_REC_SNAPSHOT:
        st = decode_fixed(r, rec, length, &rec->u.snapshot,
                          sizeof rec->u.snapshot);
        return st == READER_RECORD
                   ? check_time(r, rec, "time", rec->u.snapshot.t_ns)
                   : st;
    case MT_REC_SURVIVORS:
        return decode_survivors(r, rec, length);
    case MT_REC_END:
        st = decode_fixed(r, rec, length, &rec->u.end, sizeof rec->u.end);
        return st == READER_RECORD ? check_time(r, rec, "time",
                                                rec->u.end.t_ns)
                                   : st;
    }
    return reader_damaged(r, rec, "has an unknown type");
}

void reader_counters_at(const struct reader_record *rec, size_t i,
                        struct mt_site_counters *out)
{
    memcpy(out, rec->u.counters.entries + i * sizeof *out, sizeof *out);
}

void reader_survivor_at(const struct reader_record *rec, size_t i,
                        struct mt_survivor *out)
{
    memcpy(out, rec->u.survivors.entries + i * sizeof *out, sizeof *out);
}
