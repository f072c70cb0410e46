/*
 * buckets.h - V8-style generations for the blocks still live at the end:
 * large (size >= the large threshold, whatever its age), else young (age
 * below the young threshold) or old. Every block is in exactly one.
 */
#ifndef MTRACE_BUCKETS_H
#define MTRACE_BUCKETS_H

#include <stdint.h>

enum bucket { BUCKET_YOUNG = 0, BUCKET_OLD = 1, BUCKET_LARGE = 2 };
#define BUCKET_COUNT 3

struct bucket_thresholds {
    uint64_t young_ns;      /* --young: younger than this is young */
    uint64_t large_bytes;   /* --large: at least this is large */
};

#define BUCKETS_DEFAULT_YOUNG_NS 1000000000ull
#define BUCKETS_DEFAULT_LARGE_BYTES 131072ull

struct bucket_totals {
    uint64_t bytes[BUCKET_COUNT];
    uint64_t blocks[BUCKET_COUNT];
};

/* A block born at birth_ns, seen at end_ns (a birth after the end counts as
 * age 0: clocks of different threads may disagree by a little). */
enum bucket bucket_classify(const struct bucket_thresholds *th, uint64_t size,
                            uint64_t birth_ns, uint64_t end_ns);

void bucket_totals_add(struct bucket_totals *totals, enum bucket b,
                       uint64_t bytes, uint64_t blocks);
void bucket_totals_merge(struct bucket_totals *into,
                         const struct bucket_totals *from);

const char *bucket_name(enum bucket b);   /* "young", "old", "large" */

#endif
