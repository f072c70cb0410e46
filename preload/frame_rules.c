/* frame_rules.c - see frame_rules.h. */
#include "frame_rules.h"

#include "arena.h"
#include "spinlock.h"

#define RULES_INITIAL_BITS 10
#define RULES_MAX_BITS 20

/* Tables replaced by a bigger one stay mapped: a reader may still be
 * probing them, and their sizes sum to less than the live table's. */
struct rule_table *_Atomic frame_rules_table;
_Atomic uint64_t frame_rules_generation;
/* Writers only, and only by trylock: a thread that finds it taken (by
 * another thread, or by the code its signal handler interrupted) uses
 * the rule it derived without caching it. */
static spinlock_t rules_lock;

static uint64_t rule_pack(struct frame_rule rule)
{
    uint64_t packed = rule.kind;
    if (rule.cfa_base == FRAME_BASE_RBP)
        packed |= RULE_BASE_RBP;
    if (rule.rbp_saved)
        packed |= RULE_RBP_SAVED |
                  (uint64_t)(uint16_t)(int16_t)rule.rbp_offset << 16;
    return packed | (uint64_t)(uint32_t)rule.cfa_offset << 32;
}

static struct rule_table *rule_table_new(unsigned bits, uint64_t generation)
{
    size_t n = (size_t)1 << bits;
    struct rule_table *t = arena_map(sizeof *t + n * sizeof t->slots[0]);
    if (t) {
        t->mask = n - 1;
        atomic_store_explicit(&t->generation, generation, memory_order_relaxed);
    }
    return t;
}

/* Under rules_lock. */
static bool rule_place(struct rule_table *t, uintptr_t pc, uint64_t packed)
{
    size_t i = frame_rules_hash(pc, t->mask);
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
    struct rule_table *t = atomic_load_explicit(&frame_rules_table,
                                                memory_order_relaxed);
    uint64_t generation = atomic_load(&frame_rules_generation);
    struct rule_table *bigger;
    unsigned bits;

    if (!t) {
        t = rule_table_new(RULES_INITIAL_BITS, generation);
        if (t)
            atomic_store_explicit(&frame_rules_table, t,
                                  memory_order_release);
        return t;
    }
    if (atomic_load_explicit(&t->generation, memory_order_relaxed) !=
        generation) {
        /* Emptied in place: a reader racing with this sees pc 0 or a
         * changed pc, and derives the rule afresh. */
        for (size_t i = 0; i <= t->mask; i++)
            atomic_store_explicit(&t->slots[i].pc, 0, memory_order_relaxed);
        t->count = 0;
        atomic_store_explicit(&t->generation, generation, memory_order_release);
    }
    if ((t->count + 1) * 2 <= t->mask + 1)
        return t;
    bits = (unsigned)__builtin_ctzll((unsigned long long)(t->mask + 1)) + 1;
    if (bits > RULES_MAX_BITS || !(bigger = rule_table_new(bits, generation)))
        return NULL;
    for (size_t i = 0; i <= t->mask; i++) {
        uintptr_t pc = atomic_load_explicit(&t->slots[i].pc,
                                            memory_order_relaxed);
        if (pc)
            rule_place(bigger, pc,
                       atomic_load_explicit(&t->slots[i].packed,
                                            memory_order_relaxed));
    }
    atomic_store_explicit(&frame_rules_table, bigger, memory_order_release);
    return bigger;
}

uint64_t frame_rules_derive(uintptr_t return_address)
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

void frame_rules_forget(void)
{
    atomic_fetch_add(&frame_rules_generation, 1);
}

void frame_rules_after_fork_child(void)
{
    spin_unlock(&rules_lock);
}

size_t frame_rules_cached(void)
{
    const struct rule_table *t = frame_rules_current();
    return t ? t->count : 0;
}
