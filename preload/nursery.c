/* nursery.c - see nursery.h. */
#include "nursery.h"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "counter.h"

struct nursery_slot nursery[NURSERY_SLOTS];
_Atomic int nursery_busy;
_Atomic bool nursery_owned;
spinlock_t nursery_lock;
/* The membarrier command that reaches the owner; 0: none works. */
static int barrier_command;
__thread bool nursery_mine;
__thread bool nursery_on;
__thread unsigned nursery_hits, nursery_evictions;
static __thread unsigned windows_rested;

void nursery_adopt(void)
{
    atomic_store(&nursery_owned, true);
    nursery_mine = true;
    nursery_on = true;
    nursery_hits = 0;
    nursery_evictions = 0;
    windows_rested = 0;
}

enum nursery_change nursery_review(void)
{
    unsigned hits = nursery_hits, evictions = nursery_evictions;
    nursery_hits = 0;
    nursery_evictions = 0;
    if (!nursery_mine)
        return NURSERY_KEEP;
    if (nursery_on) {
        if (evictions <= NURSERY_EVICTIONS_PER_HIT * hits)
            return NURSERY_KEEP;
        nursery_on = false;
        windows_rested = 0;
        return NURSERY_STOP;
    }
    if (++windows_rested < NURSERY_REST_WINDOWS)
        return NURSERY_KEEP;
    nursery_on = true;
    return NURSERY_START;
}

void nursery_for_each(void (*fn)(const struct live_block *, void *),
                      void *arg, bool take)
{
    for (unsigned i = 0; i < NURSERY_SLOTS; i++) {
        struct live_block block;
        if (!nursery[i].key)
            continue;
        nursery_unpack(&nursery[i], &block);
        if (take)
            nursery_clear(&nursery[i]);
        fn(&block, arg);
    }
}

unsigned nursery_count(void)
{
    unsigned n = 0;
    for (unsigned i = 0; i < NURSERY_SLOTS; i++)
        n += nursery[i].key != 0;
    return n;
}

static long membarrier(int command)
{
    return syscall(SYS_membarrier, command, 0, 0);
}

bool nursery_possible(void)
{
    long supported = membarrier(MEMBARRIER_CMD_QUERY);
    if (supported < 0)
        return false;
    /* Expedited: IPIs to the process's own CPUs, microseconds; global
     * waits for every CPU of the machine to schedule, milliseconds. */
    if ((supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
        membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0)
        barrier_command = MEMBARRIER_CMD_PRIVATE_EXPEDITED;
    else if (supported & MEMBARRIER_CMD_GLOBAL)
        barrier_command = MEMBARRIER_CMD_GLOBAL;
    return barrier_command != 0;
}

void nursery_stop_owner(void)
{
    atomic_store(&tracer_threaded, true);
    /* The owner's raise of nursery_busy and its read of tracer_threaded
     * are both before or both after the barrier it is made to run: it
     * sees tracer_threaded on, or we see it busy. */
    membarrier(barrier_command);      /* cannot fail once registered */
    while (atomic_load(&nursery_busy))
        cpu_relax();
}
