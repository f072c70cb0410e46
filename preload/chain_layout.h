/*
 * chain_layout.h - where one walk found a call chain's return addresses,
 * relative to the slot it started from, and which other loads it depended
 * on: what lets a later allocation prove it comes from the same chain by
 * reading those slots instead of walking (stack_cache.h explains why that
 * proof is exact). The stack cache keeps one per entry; a site keeps the
 * one it was first walked with, for the chain memo (chain_memo.h).
 */
#ifndef MTRACE_CHAIN_LAYOUT_H
#define MTRACE_CHAIN_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "unwind.h"

/* Chains deeper than this are not kept (MTRACE_DEPTH above it). */
#define LAYOUT_DEPTH 32
/* rbp loads that are not a frame-pointer chain's, per layout. */
#define LAYOUT_OTHER_READS 4
#define LAYOUT_WORD sizeof(uintptr_t)

/* In code built with frame pointers every step loads rbp, and always in
 * one pattern: the word below frame i's return address holds the frame
 * pointer of frame i+1, which sits just below frame i+1's return address.
 * Those loads cost a bit each (fp_chain); any other goes in the list.
 * What a lookup checks first comes first: the stack cache puts a layout
 * right after 32 bytes of its own, so that one cache line holds those,
 * fp_chain, the depth and the first 13 offsets. */
struct chain_layout {
    uint32_t fp_chain;                  /* bit i: *(slot i - 8) ==
                                         * slot i+1 - 8 */
    uint8_t nframes;
    uint8_t nreads;
    uint16_t at[LAYOUT_DEPTH];          /* slot i - entry slot, in words */
    int16_t read_at[LAYOUT_OTHER_READS]; /* load address - entry slot */
    uintptr_t read_value[LAYOUT_OTHER_READS];
};

/* The key of a chain by its entry slot and first two return addresses,
 * for the tables that tell chains apart by them (the stack cache's
 * overflow sets, the chain memo); its high bits mix all of them. */
static inline uint64_t chain_key(uintptr_t entry_slot, uintptr_t first_pc,
                                 uintptr_t second_pc)
{
    uint64_t key = ((entry_slot >> 3) ^ first_pc) * 0x9E3779B97F4A7C15ull ^
                   second_pc;
    return key * 0xBF58476D1CE4E5B9ull;
}

/* The layout of the walk that found n frames from entry_slot, reporting
 * slots and reads; false when it cannot be kept (too deep, too wide,
 * too many other loads, or a walk that did not start at entry_slot). */
bool chain_layout_from_walk(struct chain_layout *layout, uintptr_t entry_slot,
                            const uintptr_t *slots, uint32_t n,
                            const struct unwind_reads *reads);

/* Frames `from` and up, for code without frame pointers (the usual
 * case). */
static inline bool layout_slots_match(const struct chain_layout *l,
                                      const uintptr_t *base,
                                      const uintptr_t *frames, unsigned from)
{
    /* Offsets, not a running sum: the loads do not wait on each other. */
    for (unsigned i = from; i < l->nframes; i++)
        if (base[l->at[i]] != frames[i])
            return false;
    return true;
}

/* The same, also checking the frame-pointer chain where fp_chain says.
 * Frames placed by the frame pointer of the one below mostly come in one
 * run from the first: node's chains but for their outermost frame or two,
 * 20 to 30 frames. That run goes through a loop with no bit to test, 12
 * instructions a frame instead of 15. */
static inline bool layout_slots_and_chain_match(const struct chain_layout *l,
                                                const uintptr_t *base,
                                                const uintptr_t *frames,
                                                unsigned from)
{
    const uintptr_t *slot;
    uint64_t fp_chain = l->fp_chain >> (from - 1);
    unsigned i = from, run_end;
    /* at[from - 1] is only kept for a chain that deep. */
    if (from >= l->nframes)
        return true;
    /* Frames `from` to run_end - 1 were placed through rbp: the bits
     * set from from - 1 up to the first clear one. */
    run_end = from + (unsigned)__builtin_ctzll(~fp_chain);
    if (run_end > l->nframes)
        run_end = l->nframes;
    slot = base + l->at[from - 1];
    for (; i < run_end; i++) {
        const uintptr_t *next = base + l->at[i];
        if (slot[-1] != (uintptr_t)(next - 1) || *next != frames[i])
            return false;
        slot = next;
    }
    fp_chain >>= i - from;
    for (; i < l->nframes; i++, fp_chain >>= 1) {
        const uintptr_t *next = base + l->at[i];
        /* The frame pointer that places the next slot, then the slot. */
        if (((fp_chain & 1) && slot[-1] != (uintptr_t)(next - 1)) ||
            *next != frames[i])
            return false;
        slot = next;
    }
    return true;
}

/* Whether the stack entered at entry_slot holds the chain `frames` laid
 * out as l says, frames below `from` (1 or 2) and the frame pointers that
 * placed them already known to match. Each slot is read only once the
 * frames below it matched, as the walk would read it: a stack that is not
 * the remembered one (a coroutine's, smaller, at the same place) is never
 * read past. */
static inline __attribute__((always_inline)) bool
chain_layout_rest_matches(const struct chain_layout *l, uintptr_t entry_slot,
                          const uintptr_t *frames, unsigned from)
{
    const uintptr_t *base = (const uintptr_t *)entry_slot;
    if (!(l->fp_chain ? layout_slots_and_chain_match(l, base, frames, from)
                      : layout_slots_match(l, base, frames, from)))
        return false;
    for (unsigned i = 0; i < l->nreads; i++)
        if (*(const uintptr_t *)(entry_slot + (uintptr_t)((intptr_t)
                                     l->read_at[i] * (intptr_t)LAYOUT_WORD)) !=
            l->read_value[i])
            return false;
    return true;
}

#endif
