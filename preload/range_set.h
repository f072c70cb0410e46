/*
 * range_set.h - a set of disjoint address ranges, adjacent ones merged,
 * sorted by start, in a fixed array: past RANGE_SET_MAX ranges, new ones
 * are dropped and the set says so. No lock of its own: its user's.
 * Ranges of a few hundred at most in practice, and a change is a system
 * call's companion, so a shifted array is plenty.
 */
#ifndef MTRACE_RANGE_SET_H
#define MTRACE_RANGE_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RANGE_SET_MAX 1024

struct range_set {
    struct { uintptr_t start, end; } ranges[RANGE_SET_MAX];
    size_t n;
    bool dropped;
};

/* [start, start + len) joins the set, replacing what it covers. */
void range_set_add(struct range_set *set, uintptr_t start, size_t len);
void range_set_remove(struct range_set *set, uintptr_t start, size_t len);

/* Whether any of [start, start + len) is in the set. */
bool range_set_overlaps(const struct range_set *set, uintptr_t start,
                        size_t len);

/* Up to `max` parts of [start, start + len) in the set, into starts and
 * lens, by address; how many there are in all. */
size_t range_set_parts(const struct range_set *set, uintptr_t start,
                       size_t len, uintptr_t *starts, size_t *lens,
                       size_t max);

/* Calls fn on each range; false when some were dropped. */
bool range_set_for_each(const struct range_set *set,
                        void (*fn)(uintptr_t start, size_t len, void *arg),
                        void *arg);

#endif
