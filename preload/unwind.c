/* unwind.c - see unwind.h. */
#include "unwind.h"

#include <stdatomic.h>
#include <stdbool.h>

#include "arena.h"
#include "eh_frame.h"
#include "spinlock.h"
#include "tracer.h"

#if defined(__x86_64__)

/* A rule packed in one word, so that a reader sees all of it or none:
 * bits 0-1 kind, bit 2 rbp-based CFA, bit 3 rbp saved, bits 16-31 rbp's
 * offset from the CFA, bits 32-63 the CFA's offset from its register. */
#define PACK_BASE_RBP 0x4u
#define PACK_RBP_SAVED 0x8u

#define RULES_INITIAL_BITS 10
#define RULES_MAX_BITS 20
#define RULES_MAX_PROBES 16
/* A frame larger than this is taken for a wrong rule, not a real one. */
#define FRAME_SIZE_MAX ((uintptr_t)256 << 20)

/* Open addressing keyed by return address. An entry is written pc = 0,
 * rule, pc, and read pc, rule, pc: a reader that sees the same pc twice
 * holds that pc's rule, never half of another's. */
struct rule_slot {
    _Atomic uintptr_t pc;
    _Atomic uint64_t packed;
};

struct rule_table {
    size_t mask;
    size_t count;
    uint64_t generation;       /* of rules_generation when last emptied */
    struct rule_slot slots[];
};

/* Tables replaced by a bigger one stay mapped: a reader may still be
 * probing them, and their sizes sum to less than the live table's. */
static struct rule_table *_Atomic rule_table;
static _Atomic uint64_t rules_generation;
/* Writers only, and only by trylock: a thread that finds it taken (by
 * another thread, or by the code its signal handler interrupted) uses
 * the rule it derived without caching it. */
static spinlock_t rules_lock;

static inline size_t rule_hash(uintptr_t pc, size_t mask)
{
    return (size_t)(((uint64_t)pc * 0x9E3779B97F4A7C15ull) >> 40) & mask;
}

static uint64_t rule_pack(struct frame_rule rule)
{
    uint64_t packed = rule.kind;
    if (rule.cfa_base == FRAME_BASE_RBP)
        packed |= PACK_BASE_RBP;
    if (rule.rbp_saved)
        packed |= PACK_RBP_SAVED |
                  (uint64_t)(uint16_t)(int16_t)rule.rbp_offset << 16;
    return packed | (uint64_t)(uint32_t)rule.cfa_offset << 32;
}

static inline bool rule_lookup(const struct rule_table *t, uintptr_t pc,
                               uint64_t *packed)
{
    size_t i = rule_hash(pc, t->mask);
    for (unsigned probe = 0; probe < RULES_MAX_PROBES; probe++) {
        const struct rule_slot *slot = &t->slots[i];
        uintptr_t key = atomic_load_explicit(&slot->pc, memory_order_acquire);
        if (key == pc) {
            uint64_t value = atomic_load_explicit(&slot->packed,
                                                  memory_order_acquire);
            if (atomic_load_explicit(&slot->pc, memory_order_relaxed) != pc)
                return false;
            *packed = value;
            return true;
        }
        if (key == 0)
            return false;
        i = (i + 1) & t->mask;
    }
    return false;
}

static struct rule_table *rule_table_new(unsigned bits, uint64_t generation)
{
    size_t n = (size_t)1 << bits;
    struct rule_table *t = arena_map(sizeof *t + n * sizeof t->slots[0]);
    if (t) {
        t->mask = n - 1;
        t->generation = generation;
    }
    return t;
}

/* Under rules_lock. */
static bool rule_place(struct rule_table *t, uintptr_t pc, uint64_t packed)
{
    size_t i = rule_hash(pc, t->mask);
    for (unsigned probe = 0; probe < RULES_MAX_PROBES; probe++) {
        struct rule_slot *slot = &t->slots[i];
        uintptr_t key = atomic_load_explicit(&slot->pc, memory_order_relaxed);
        if (key == 0 || key == pc) {
            atomic_store_explicit(&slot->pc, 0, memory_order_relaxed);
            atomic_store_explicit(&slot->packed, packed, memory_order_release);
            atomic_store_explicit(&slot->pc, pc, memory_order_release);
            if (key == 0)
                t->count++;
            return true;
        }
        i = (i + 1) & t->mask;
    }
    return false;
}

/* Under rules_lock: a table of the current generation with room. */
static struct rule_table *rule_table_writable(void)
{
    struct rule_table *t = atomic_load_explicit(&rule_table,
                                                memory_order_relaxed);
    uint64_t generation = atomic_load(&rules_generation);
    unsigned bits;

    if (!t) {
        t = rule_table_new(RULES_INITIAL_BITS, generation);
        if (t)
            atomic_store_explicit(&rule_table, t, memory_order_release);
        return t;
    }
    if (t->generation != generation) {
        /* Emptied in place: a reader racing with this sees pc 0 or a
         * changed pc, and derives the rule afresh. */
        for (size_t i = 0; i <= t->mask; i++)
            atomic_store_explicit(&t->slots[i].pc, 0, memory_order_relaxed);
        t->count = 0;
        t->generation = generation;
    }
    if ((t->count + 1) * 2 <= t->mask + 1)
        return t;
    bits = (unsigned)__builtin_ctzll((unsigned long long)(t->mask + 1)) + 1;
    if (bits > RULES_MAX_BITS)
        return NULL;
    {
        struct rule_table *bigger = rule_table_new(bits, generation);
        if (!bigger)
            return NULL;
        for (size_t i = 0; i <= t->mask; i++) {
            uintptr_t pc = atomic_load_explicit(&t->slots[i].pc,
                                                memory_order_relaxed);
            if (pc)
                rule_place(bigger, pc,
                           atomic_load_explicit(&t->slots[i].packed,
                                                memory_order_relaxed));
        }
        atomic_store_explicit(&rule_table, bigger, memory_order_release);
        return bigger;
    }
}

static uint64_t rule_derive(uintptr_t return_address)
{
    /* The call instruction, not the one after it: a call that ends a
     * function (noreturn) returns past its FDE. */
    uint64_t packed = rule_pack(eh_frame_rule_for(return_address - 1));
    if (spin_trylock(&rules_lock)) {
        struct rule_table *t = rule_table_writable();
        if (t)
            rule_place(t, return_address, packed);
        spin_unlock(&rules_lock);
    }
    return packed;
}

/* The rule for the return address pc, from the table or derived. */
static inline uint64_t rule_of(const struct rule_table *t, uintptr_t pc)
{
    uint64_t packed;
    if (likely(t && rule_lookup(t, pc, &packed)))
        return packed;
    return rule_derive(pc);
}

/* One frame up: false when the rule does not allow it. */
static inline bool step(uint64_t packed, uintptr_t *sp, uintptr_t *rbp)
{
    uintptr_t cfa = ((packed & PACK_BASE_RBP) ? *rbp : *sp) +
                    (uintptr_t)(intptr_t)(int32_t)(packed >> 32);
    if (unlikely((packed & 3) != FRAME_RULE_STEP))
        return false;
    /* Callers' frames lie above, the return address at CFA-8 at least as
     * high as sp; anything else is a rule gone wrong (or rbp not holding
     * a frame), and must not be followed. */
    if (unlikely(cfa - *sp - sizeof(uintptr_t) > FRAME_SIZE_MAX || (cfa & 7)))
        return false;
    if (packed & PACK_RBP_SAVED)
        *rbp = *(const uintptr_t *)(cfa + (uintptr_t)(intptr_t)(int16_t)
                                              (packed >> 16));
    *sp = cfa;
    return true;
}

int unwind_from_slot(uintptr_t entry_slot, uintptr_t *frames,
                     uintptr_t *slots, size_t depth, uintptr_t own_start,
                     uintptr_t own_end)
{
    const struct rule_table *t =
        atomic_load_explicit(&rule_table, memory_order_acquire);
    uintptr_t sp = entry_slot + sizeof(uintptr_t);
    uintptr_t rbp = *(const uintptr_t *)(entry_slot - sizeof(uintptr_t));
    uintptr_t pc = *(const uintptr_t *)entry_slot;
    uint64_t packed;
    size_t n = 0;

    if (t && t->generation !=
                 atomic_load_explicit(&rules_generation, memory_order_relaxed))
        t = NULL;
    /* libmtrace.so's own entry points calling each other (reallocarray
     * calls realloc): not the program's frames. */
    while (pc >= own_start && pc < own_end) {
        if (!step(rule_of(t, pc), &sp, &rbp))
            return -1;
        pc = *(const uintptr_t *)(sp - sizeof(uintptr_t));
    }
    while (pc != 0 && n < depth) {
        frames[n] = pc;
        slots[n] = sp - sizeof(uintptr_t);
        n++;
        packed = rule_of(t, pc);
        if ((packed & 3) == FRAME_RULE_OUTERMOST)
            break;
        if (!step(packed, &sp, &rbp))
            return -1;
        pc = *(const uintptr_t *)(sp - sizeof(uintptr_t));
    }
    return (int)n;
}

void unwind_forget_rules(void)
{
    atomic_fetch_add(&rules_generation, 1);
}

void unwind_after_fork_child(void)
{
    spin_unlock(&rules_lock);
}

size_t unwind_cached_rules(void)
{
    const struct rule_table *t = atomic_load(&rule_table);
    return t && t->generation == atomic_load(&rules_generation) ? t->count
                                                                : 0;
}

#else /* not x86-64: libunwind does every stack */

int unwind_from_slot(uintptr_t entry_slot, uintptr_t *frames,
                     uintptr_t *slots, size_t depth, uintptr_t own_start,
                     uintptr_t own_end)
{
    (void)entry_slot, (void)frames, (void)slots, (void)depth;
    (void)own_start, (void)own_end;
    return -1;
}

void unwind_forget_rules(void) {}
void unwind_after_fork_child(void) {}
size_t unwind_cached_rules(void) { return 0; }

#endif
