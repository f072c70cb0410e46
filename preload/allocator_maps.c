/* allocator_maps.c - see allocator_maps.h. */
#include "allocator_maps.h"

#include <string.h>

#include "range_set.h"

spinlock_t allocator_maps_lock;
static struct range_set maps;

void allocator_maps_add(uintptr_t start, size_t len)
{
    spin_lock(&allocator_maps_lock);
    range_set_add(&maps, start, len);
    spin_unlock(&allocator_maps_lock);
}

void allocator_maps_remove(uintptr_t start, size_t len)
{
    spin_lock(&allocator_maps_lock);
    range_set_remove(&maps, start, len);
    spin_unlock(&allocator_maps_lock);
}

bool allocator_maps_for_each(void (*fn)(uintptr_t start, size_t len,
                                        void *arg),
                             void *arg)
{
    bool complete;
    spin_lock(&allocator_maps_lock);
    complete = range_set_for_each(&maps, fn, arg);
    spin_unlock(&allocator_maps_lock);
    return complete;
}

void allocator_maps_after_fork_child(void)
{
    if (!atomic_load_explicit(&allocator_maps_lock, memory_order_relaxed))
        return;
    memset(&maps, 0, sizeof maps);
    maps.dropped = true;
    spin_unlock(&allocator_maps_lock);
}
