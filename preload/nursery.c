/* nursery.c - see nursery.h. */
#include "nursery.h"

struct nursery_slot nursery[NURSERY_SLOTS];
__thread bool nursery_mine;
__thread bool nursery_on;
__thread unsigned nursery_hits;
static __thread unsigned windows_rested;

void nursery_adopt(void)
{
    nursery_mine = true;
    nursery_on = true;
    nursery_hits = 0;
    windows_rested = 0;
}

enum nursery_change nursery_review(void)
{
    unsigned hits = nursery_hits;
    nursery_hits = 0;
    if (!nursery_mine)
        return NURSERY_KEEP;
    if (nursery_on) {
        if (hits >= NURSERY_WINDOW / 2)
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
