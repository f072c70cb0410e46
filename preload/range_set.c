/* range_set.c - see range_set.h. */
#include "range_set.h"

#include <string.h>

/* The first range ending after addr. */
static size_t first_after(const struct range_set *set, uintptr_t addr)
{
    size_t lo = 0, hi = set->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (set->ranges[mid].end <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void insert_at(struct range_set *set, size_t i, uintptr_t start,
                      uintptr_t end)
{
    if (set->n == RANGE_SET_MAX) {
        set->dropped = true;
        return;
    }
    memmove(&set->ranges[i + 1], &set->ranges[i],
            (set->n - i) * sizeof set->ranges[0]);
    set->ranges[i].start = start;
    set->ranges[i].end = end;
    set->n++;
}

static void delete_at(struct range_set *set, size_t i)
{
    memmove(&set->ranges[i], &set->ranges[i + 1],
            (set->n - i - 1) * sizeof set->ranges[0]);
    set->n--;
}

static bool valid(uintptr_t start, size_t len)
{
    return len && start + len > start;
}

void range_set_remove(struct range_set *set, uintptr_t start, size_t len)
{
    uintptr_t end = start + len;
    size_t i;
    if (!valid(start, len))
        return;
    i = first_after(set, start);
    while (i < set->n && set->ranges[i].start < end) {
        uintptr_t r_start = set->ranges[i].start, r_end = set->ranges[i].end;
        if (r_start < start && r_end > end) {
            /* A hole in the middle: two ranges. */
            set->ranges[i].end = start;
            insert_at(set, i + 1, end, r_end);
            return;
        }
        if (r_start < start) {
            set->ranges[i++].end = start;
        } else if (r_end > end) {
            set->ranges[i].start = end;
            return;
        } else {
            delete_at(set, i);
        }
    }
}

void range_set_add(struct range_set *set, uintptr_t start, size_t len)
{
    uintptr_t end = start + len;
    size_t i;
    if (!valid(start, len))
        return;
    range_set_remove(set, start, len);
    i = first_after(set, start);
    if (i > 0 && set->ranges[i - 1].end == start) {
        set->ranges[i - 1].end = end;
        if (i < set->n && set->ranges[i].start == end) {
            set->ranges[i - 1].end = set->ranges[i].end;
            delete_at(set, i);
        }
    } else if (i < set->n && set->ranges[i].start == end) {
        set->ranges[i].start = start;
    } else {
        insert_at(set, i, start, end);
    }
}

bool range_set_overlaps(const struct range_set *set, uintptr_t start,
                        size_t len)
{
    size_t i;
    if (!valid(start, len))
        return false;
    i = first_after(set, start);
    return i < set->n && set->ranges[i].start < start + len;
}

size_t range_set_parts(const struct range_set *set, uintptr_t start,
                       size_t len, uintptr_t *starts, size_t *lens,
                       size_t max)
{
    uintptr_t end = start + len;
    size_t count = 0;
    if (!valid(start, len))
        return 0;
    for (size_t i = first_after(set, start);
         i < set->n && set->ranges[i].start < end; i++, count++) {
        uintptr_t from = set->ranges[i].start > start ? set->ranges[i].start
                                                      : start;
        uintptr_t to = set->ranges[i].end < end ? set->ranges[i].end : end;
        if (count < max) {
            starts[count] = from;
            lens[count] = to - from;
        }
    }
    return count;
}

bool range_set_for_each(const struct range_set *set,
                        void (*fn)(uintptr_t start, size_t len, void *arg),
                        void *arg)
{
    for (size_t i = 0; i < set->n; i++)
        fn(set->ranges[i].start, set->ranges[i].end - set->ranges[i].start,
           arg);
    return !set->dropped;
}
