/* buckets.c - see buckets.h. */
#include "buckets.h"

enum bucket bucket_classify(const struct bucket_thresholds *th, uint64_t size,
                            uint64_t birth_ns, uint64_t end_ns)
{
    uint64_t age = end_ns > birth_ns ? end_ns - birth_ns : 0;

    if (size >= th->large_bytes)
        return BUCKET_LARGE;
    return age < th->young_ns ? BUCKET_YOUNG : BUCKET_OLD;
}

void bucket_totals_add(struct bucket_totals *totals, enum bucket b,
                       uint64_t bytes, uint64_t blocks)
{
    totals->bytes[b] += bytes;
    totals->blocks[b] += blocks;
}

void bucket_totals_merge(struct bucket_totals *into,
                         const struct bucket_totals *from)
{
    for (int b = 0; b < BUCKET_COUNT; b++) {
        into->bytes[b] += from->bytes[b];
        into->blocks[b] += from->blocks[b];
    }
}

const char *bucket_name(enum bucket b)
{
    switch (b) {
    case BUCKET_YOUNG: return "young";
    case BUCKET_OLD: return "old";
    case BUCKET_LARGE: return "large";
    }
    return "?";
}
