/* estimate.c - see estimate.h. */
#include "estimate.h"

#include <string.h>

/* Splits `part` of `total` blocks in proportion part_bytes / total_bytes,
 * without overflow for any 64-bit values. */
static uint64_t proportional_blocks(uint64_t blocks, uint64_t part_bytes,
                                    uint64_t total_bytes)
{
    unsigned __int128 n = (unsigned __int128)blocks * part_bytes;
    return total_bytes ? (uint64_t)((n + total_bytes / 2) / total_bytes) : 0;
}

/*
 * Walks the timeline backwards keeping the suffix minimum: the level the
 * site never fell under again from a point on. The bytes between the
 * suffix minimum before point i and the one from point i on appeared at
 * point i at the latest: they are given point i's time as birth.
 */
static void estimate_site(struct model *m, struct model_site *site)
{
    struct model_site_end *end = &site->end;
    uint64_t live = site->counters.live_bytes;
    uint64_t blocks = model_counters_live_blocks(&site->counters);
    uint64_t young_bytes = 0, level, below;
    size_t i;

    memset(end, 0, sizeof *end);
    end->live_bytes = live;
    end->live_blocks = blocks;
    if (live == 0 || blocks == 0)
        return;
    if (live / blocks >= m->thresholds.large_bytes) {
        bucket_totals_add(&end->buckets, BUCKET_LARGE, live, blocks);
    } else {
        level = live;
        for (i = site->npoints; i-- > 0 && level > 0;) {
            const struct verdict_point *p = &site->timeline[i];
            below = i > 0 ? site->timeline[i - 1].live_bytes : 0;
            if (below >= level)
                continue;
            uint64_t age = m->end_ns > p->t_ns ? m->end_ns - p->t_ns : 0;
            if (age < m->thresholds.young_ns)
                young_bytes += level - below;
            if (!end->has_ages)
                end->newest_birth_ns = p->t_ns;
            end->oldest_birth_ns = p->t_ns;
            end->has_ages = true;
            level = below;
        }
        /* Levels the timeline never explains (counters without points)
         * are as old as the recording. */
        if (level > 0) {
            end->oldest_birth_ns = 0;
            if (!end->has_ages)
                end->newest_birth_ns = 0;
            end->has_ages = true;
        }
        /* One block cannot be split between ages: a realloc'd array is as
         * young as its last growth. */
        if (blocks == 1) {
            uint64_t age = m->end_ns > end->newest_birth_ns
                               ? m->end_ns - end->newest_birth_ns : 0;
            young_bytes = age < m->thresholds.young_ns ? live : 0;
            end->oldest_birth_ns = end->newest_birth_ns;
        }
        uint64_t young_blocks = proportional_blocks(blocks, young_bytes, live);
        bucket_totals_add(&end->buckets, BUCKET_YOUNG, young_bytes,
                          young_blocks);
        bucket_totals_add(&end->buckets, BUCKET_OLD, live - young_bytes,
                          blocks - young_blocks);
    }
}

void estimate_end_state(struct model *m)
{
    m->ages_estimated = true;
    m->survivors_used = false;
    m->live_bytes_end = 0;
    m->live_blocks_end = 0;
    memset(&m->buckets, 0, sizeof m->buckets);
    for (size_t i = 0; i < m->nsites; i++) {
        struct model_site *site = m->sites[i];
        estimate_site(m, site);
        m->live_bytes_end += site->end.live_bytes;
        m->live_blocks_end += site->end.live_blocks;
        bucket_totals_merge(&m->buckets, &site->end.buckets);
    }
}
