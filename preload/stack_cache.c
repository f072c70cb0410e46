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
#define CACHE_ENTRIES 16
/* Sightings of a chain before its slots are learned. */
#define CACHE_LEARN_AFTER 3
/* Learning walks with unw_step, which in libunwind costs about as much as
 * a hundred cache hits save (seven unwinds' work plus a sigprocmask pair
 * per frame). A thread earns a credit per hit and pays LEARN_COST per
 * learning, so code whose chains never repeat (an interpreter, sqlite's
 * VM) stops learning instead of paying for it on every third call. */
#define LEARN_COST 128
#define CREDIT_START (4 * LEARN_COST)
#define CREDIT_MAX (64 * LEARN_COST)
/* Frames of the tracer between the unwinder and the entry point. */
#define CACHE_OWN_FRAMES_MAX 8

struct cache_entry {
    uintptr_t entry_slot;
    struct site *site;              /* NULL: not learned (yet) */
    struct site *candidate;         /* site of the last full unwind here */
    uint32_t sightings;             /* of candidate, in a row */
    uint32_t nslots;
    uintptr_t slots[CACHE_DEPTH];   /* slots[i] holds site->frames[i] */
};

static __thread struct cache_entry cache[CACHE_ENTRIES];
static __thread uint32_t learn_credit;
static __thread bool credit_started;

static inline struct cache_entry *entry_for(uintptr_t entry_slot)
{
    /* The slot and the call it returns to: loops at the same depth from
     * different call sites spread over the entries. */
    uintptr_t key = (entry_slot >> 3) ^ *(const uintptr_t *)entry_slot;
    return &cache[(key ^ (key >> 7)) % CACHE_ENTRIES];
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
    if (learn_credit < CREDIT_MAX)
        learn_credit++;
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

void stack_cache_learn(uintptr_t entry_slot, struct site *site,
                       const uintptr_t *slots)
{
    struct cache_entry *e = entry_for(entry_slot);

    if (site->nframes > CACHE_DEPTH || site->nframes == 0 ||
        site->frames[0] != *(const uintptr_t *)entry_slot)
        return;
    if (slots) {
        e->site = NULL;   /* a signal handler must not match half a copy */
        e->entry_slot = entry_slot;
        e->candidate = site;
        e->sightings = 0;
        e->nslots = site->nframes;
        memcpy(e->slots, slots, site->nframes * sizeof *slots);
        e->site = site;
        return;
    }
    /* The same full chain, not only the same entry: a helper that many
     * callers share would otherwise be learned again and again, and each
     * learning costs several unwinds. */
    if (e->entry_slot != entry_slot || e->candidate != site) {
        e->entry_slot = entry_slot;
        e->candidate = site;
        e->site = NULL;
        e->sightings = 0;
    }
    if (++e->sightings < CACHE_LEARN_AFTER)
        return;
    if (!credit_started) {
        learn_credit = CREDIT_START;
        credit_started = true;
    }
    if (learn_credit < LEARN_COST)
        return;
    learn_credit -= LEARN_COST;
    e->sightings = 0;
    e->site = learn_slots(e, entry_slot, site) ? site : NULL;
}
