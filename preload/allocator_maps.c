/* allocator_maps.c - see allocator_maps.h. Sorted by start; a few
 * hundred ranges at most in practice (jemalloc keeps its mappings), and a
 * change is a system call's companion, so a shifted array is plenty. */
#include "allocator_maps.h"

#include <string.h>

struct map_range {
    uintptr_t start, end;
};

spinlock_t allocator_maps_lock;
static struct map_range ranges[ALLOCATOR_MAPS];
static size_t nranges;
static bool dropped;

/* The first range ending after addr. */
static size_t first_after(uintptr_t addr)
{
    size_t lo = 0, hi = nranges;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ranges[mid].end <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool insert_at(size_t i, uintptr_t start, uintptr_t end)
{
    if (nranges == ALLOCATOR_MAPS) {
        dropped = true;
        return false;
    }
    memmove(&ranges[i + 1], &ranges[i], (nranges - i) * sizeof *ranges);
    ranges[i] = (struct map_range){ start, end };
    nranges++;
    return true;
}

static void remove_locked(uintptr_t start, uintptr_t end)
{
    size_t i = first_after(start);
    while (i < nranges && ranges[i].start < end) {
        struct map_range r = ranges[i];
        if (r.start < start && r.end > end) {
            /* A hole in the middle: two ranges. */
            ranges[i].end = start;
            insert_at(i + 1, end, r.end);
            return;
        }
        if (r.start < start) {
            ranges[i++].end = start;
        } else if (r.end > end) {
            ranges[i].start = end;
            return;
        } else {
            memmove(&ranges[i], &ranges[i + 1],
                    (nranges - i - 1) * sizeof *ranges);
            nranges--;
        }
    }
}

void allocator_maps_add(uintptr_t start, size_t len)
{
    uintptr_t end = start + len;
    size_t i;
    if (!len || end < start)
        return;
    spin_lock(&allocator_maps_lock);
    /* A mapping made over another (MAP_FIXED) replaces what it covers. */
    remove_locked(start, end);
    i = first_after(start);
    if (i > 0 && ranges[i - 1].end == start) {
        ranges[i - 1].end = end;
        if (i < nranges && ranges[i].start == end) {
            ranges[i - 1].end = ranges[i].end;
            memmove(&ranges[i], &ranges[i + 1],
                    (nranges - i - 1) * sizeof *ranges);
            nranges--;
        }
    } else if (i < nranges && ranges[i].start == end) {
        ranges[i].start = start;
    } else {
        insert_at(i, start, end);
    }
    spin_unlock(&allocator_maps_lock);
}

void allocator_maps_remove(uintptr_t start, size_t len)
{
    if (!len || start + len < start)
        return;
    spin_lock(&allocator_maps_lock);
    remove_locked(start, start + len);
    spin_unlock(&allocator_maps_lock);
}

bool allocator_maps_for_each(void (*fn)(uintptr_t start, size_t len,
                                        void *arg),
                             void *arg)
{
    bool complete;
    spin_lock(&allocator_maps_lock);
    for (size_t i = 0; i < nranges; i++)
        fn(ranges[i].start, ranges[i].end - ranges[i].start, arg);
    complete = !dropped;
    spin_unlock(&allocator_maps_lock);
    return complete;
}

void allocator_maps_reset(void)
{
    nranges = 0;
    dropped = false;
}
