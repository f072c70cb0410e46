/* stack_cache.c - see stack_cache.h. */
#define UNW_LOCAL_ONLY
#include "stack_cache.h"

#include <libunwind.h>
#include <stdbool.h>
#include <string.h>

#include "sites.h"
#include "stack.h"

/* Chains deeper than this are not cached (MTRACE_DEPTH above it). */
#define CACHE_DEPTH 32
#define CACHE_ENTRIES 8
/* Sightings of a chain before its slots are learned. */
#define CACHE_LEARN_AFTER 3
/* Frames of the tracer between the unwinder and the entry point. */
#define CACHE_OWN_FRAMES_MAX 8

struct cache_entry {
    uintptr_t entry_slot;
    uintptr_t entry_return;
    struct site *site;              /* NULL: not learned (yet) */
    uint32_t sightings;
    uint32_t nslots;
    uintptr_t slots[CACHE_DEPTH];   /* slots[i] holds site->frames[i] */
};

static __thread struct cache_entry cache[CACHE_ENTRIES];

static inline struct cache_entry *entry_for(uintptr_t entry_slot)
{
    return &cache[(entry_slot >> 4) % CACHE_ENTRIES];
}

struct site *stack_cache_find(uintptr_t entry_slot)
{
    struct cache_entry *e = entry_for(entry_slot);
    const struct site *site = e->site;
    if (!site || e->entry_slot != entry_slot)
        return NULL;
    for (uint32_t i = 0; i < e->nslots; i++)
        if (*(const uintptr_t *)e->slots[i] != site->frames[i])
            return NULL;
    return e->site;
}

/* Walks with unw_step, which reports each frame's stack pointer: frame
 * i's return address sits just below the stack pointer of frame i+1. */
static bool learn_slots(struct cache_entry *e, uintptr_t entry_slot,
                        const struct site *site)
{
    unw_context_t context;
    unw_cursor_t cursor;
    uint32_t found = 0, own = 0;
    bool past_entry = false;

    if (unw_getcontext(&context) < 0 ||
        unw_init_local(&cursor, &context) < 0)
        return false;
    while (found < site->nframes && unw_step(&cursor) > 0) {
        unw_word_t ip, sp;
        uintptr_t slot;
        if (unw_get_reg(&cursor, UNW_REG_IP, &ip) < 0 ||
            unw_get_reg(&cursor, UNW_REG_SP, &sp) < 0)
            return false;
        slot = (uintptr_t)sp - sizeof(uintptr_t);
        if (!past_entry) {
            /* Still inside the tracer: wait for the entry point's slot. */
            if (slot != entry_slot)
                if (++own > CACHE_OWN_FRAMES_MAX)
                    return false;
            past_entry = slot == entry_slot;
            if (!past_entry)
                continue;
        }
        /* A signal frame or a frame libunwind could not place: the
         * remembered slot must hold exactly the frame we record. */
        if (ip != site->frames[found] || *(const uintptr_t *)slot != ip)
            return false;
        e->slots[found++] = slot;
    }
    if (found != site->nframes)
        return false;
    e->nslots = found;
    return true;
}

void stack_cache_learn(uintptr_t entry_slot, struct site *site)
{
    struct cache_entry *e = entry_for(entry_slot);
    uintptr_t entry_return = *(const uintptr_t *)entry_slot;

    if (site->nframes > CACHE_DEPTH || site->nframes == 0 ||
        site->frames[0] != entry_return)
        return;
    if (e->entry_slot != entry_slot || e->entry_return != entry_return) {
        e->entry_slot = entry_slot;
        e->entry_return = entry_return;
        e->site = NULL;
        e->sightings = 0;
    }
    if (++e->sightings < CACHE_LEARN_AFTER)
        return;
    e->sightings = 0;
    e->site = learn_slots(e, entry_slot, site) ? site : NULL;
}
