/*
 * frame_rules.h - the unwinder's memory: for each return address met, the
 * rule that finds its caller's frame (eh_frame.h), packed in one word and
 * kept in a lock-free open-addressing table shared by every thread. A
 * lookup is a hash and two or three loads; a miss reads .eh_frame once.
 */
#ifndef MTRACE_FRAME_RULES_H
#define MTRACE_FRAME_RULES_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eh_frame.h"

/* Bits 0-1 the kind (enum frame_rule_kind), bit 2 an rbp-based CFA,
 * bit 3 rbp saved, bits 16-31 rbp's offset from the CFA, bits 32-63 the
 * CFA's offset from its register. */
#define RULE_KIND(packed) ((unsigned)(packed) & 3u)
#define RULE_BASE_RBP 0x4u
#define RULE_RBP_SAVED 0x8u
#define RULE_CFA_OFFSET(packed) ((intptr_t)(int32_t)((packed) >> 32))
#define RULE_RBP_OFFSET(packed) ((intptr_t)(int16_t)((packed) >> 16))

/* An entry is written pc = 0, rule, pc, and read pc, rule, pc: a reader
 * that sees the same pc twice holds that pc's rule, never half of
 * another's. */
struct rule_slot {
    _Atomic uintptr_t pc;
    _Atomic uint64_t packed;
};

struct rule_table {
    size_t mask;
    _Atomic size_t count;      /* written under the writers' lock */
    _Atomic uint64_t generation;  /* of frame_rules_generation when
                                   * emptied: stored after the slots */
    struct rule_slot slots[];
};

#define RULES_MAX_PROBES 16

extern struct rule_table *_Atomic frame_rules_table;
extern _Atomic uint64_t frame_rules_generation;

/* The table to read for one walk, or NULL (none yet, or code unloaded
 * since it was filled: every lookup then misses). */
static inline const struct rule_table *frame_rules_current(void)
{
    const struct rule_table *t =
        atomic_load_explicit(&frame_rules_table, memory_order_acquire);
    if (t && atomic_load_explicit(&t->generation, memory_order_acquire) !=
                 atomic_load_explicit(&frame_rules_generation,
                                      memory_order_relaxed))
        return NULL;
    return t;
}

static inline size_t frame_rules_hash(uintptr_t pc, size_t mask)
{
    return (size_t)(((uint64_t)pc * 0x9E3779B97F4A7C15ull) >> 40) & mask;
}

static inline bool frame_rules_lookup(const struct rule_table *t,
                                      uintptr_t pc, uint64_t *packed)
{
    size_t i = frame_rules_hash(pc, t->mask);
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

/* Reads the rule of a return address from .eh_frame and caches it. */
uint64_t frame_rules_derive(uintptr_t return_address);

static inline uint64_t frame_rules_get(const struct rule_table *t,
                                       uintptr_t return_address)
{
    uint64_t packed;
    if (__builtin_expect(t && frame_rules_lookup(t, return_address, &packed),
                         1))
        return packed;
    return frame_rules_derive(return_address);
}

/* Code was unloaded; see unwind_forget_rules. */
void frame_rules_forget(void);
void frame_rules_after_fork_child(void);
size_t frame_rules_cached(void);

#endif
