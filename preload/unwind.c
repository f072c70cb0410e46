/* unwind.c - see unwind.h. */
#include "unwind.h"

#include <stdbool.h>

#include "frame_rules.h"
#include "tracer.h"

#if defined(__x86_64__)

/* A frame larger than this is taken for a wrong rule, not a real one. */
#define FRAME_SIZE_MAX ((uintptr_t)256 << 20)
/* Code without unwind information (V8's generated code and builtins) is
 * walked as libunwind walks it, by the frame-pointer chain: CFA = rbp +
 * 16, the caller's rbp saved at rbp. */
#define FRAME_POINTER_RULE                                                  \
    ((uint64_t)FRAME_RULE_STEP | RULE_BASE_RBP | RULE_RBP_SAVED |           \
     (uint64_t)(uint16_t)(int16_t)-16 << 16 | (uint64_t)16 << 32)
/* A stack spans less than this between a walk's frames and its top. */
#define STACK_SPAN_MAX ((uintptr_t)64 << 20)

/* The top of this thread's stack as far as walks have shown it: memory
 * from any frame up to here is mapped. A guess from rbp is followed only
 * below it: rbp may hold anything in code that does not keep frame
 * pointers. */
static __thread uintptr_t stack_known_top;

static inline bool frame_pointer_plausible(uintptr_t sp, uintptr_t rbp)
{
    uintptr_t top = stack_known_top;
    return top > sp && top - sp <= STACK_SPAN_MAX && rbp >= sp &&
           (rbp & 7) == 0 && rbp + 2 * sizeof(uintptr_t) <= top;
}

/* Notes where the rbp an rbp-based step uses came from, once. */
static inline void note_rbp_read(struct unwind_reads *reads, uintptr_t addr,
                                 uintptr_t value, bool *noted)
{
    if (*noted)
        return;
    *noted = true;
    if (reads->n < UNWIND_READS_MAX) {
        reads->addr[reads->n] = addr;
        reads->value[reads->n] = value;
    }
    if (reads->n <= UNWIND_READS_MAX)
        reads->n++;
}

/* One frame up: false when the rule does not allow it. *rbp_from: where
 * the caller's rbp was loaded from, or unchanged. */
static inline bool step(uint64_t packed, uintptr_t *sp, uintptr_t *rbp,
                        uintptr_t *rbp_from, uintptr_t top)
{
    uintptr_t cfa = ((packed & RULE_BASE_RBP) ? *rbp : *sp) +
                    (uintptr_t)RULE_CFA_OFFSET(packed);
    if (unlikely(RULE_KIND(packed) != FRAME_RULE_STEP))
        return false;
    /* Callers' frames lie above, the return address at CFA-8 at least as
     * high as sp; anything else is a rule gone wrong (or rbp not holding
     * a frame), and must not be followed. Past a frame-pointer guess, also
     * nothing above the part of the stack known to be mapped (top). */
    if (unlikely(cfa - *sp - sizeof(uintptr_t) > FRAME_SIZE_MAX || (cfa & 7) ||
                 cfa > top))
        return false;
    if (packed & RULE_RBP_SAVED) {
        *rbp_from = cfa + (uintptr_t)RULE_RBP_OFFSET(packed);
        *rbp = *(const uintptr_t *)*rbp_from;
    }
    *sp = cfa;
    return true;
}

/* step, keeping the list of rbp loads that rbp-based steps depend on. */
static inline bool step_noting(uint64_t packed, uintptr_t *sp, uintptr_t *rbp,
                               uintptr_t *rbp_from, struct unwind_reads *reads,
                               bool *noted, uintptr_t top)
{
    uintptr_t from = *rbp_from;
    if (packed & RULE_BASE_RBP)
        note_rbp_read(reads, from, *rbp, noted);
    if (!step(packed, sp, rbp, rbp_from, top))
        return false;
    if (*rbp_from != from)
        *noted = false;   /* a new value, from a new place */
    return true;
}

/* The registers a walk starts from: the slot above the entry point's
 * frame-pointer frame, whose saved rbp sits just below it. */
static inline void walk_start(uintptr_t entry_slot, uintptr_t *sp,
                              uintptr_t *rbp, uintptr_t *rbp_from)
{
    *sp = entry_slot + sizeof(uintptr_t);
    *rbp_from = entry_slot - sizeof(uintptr_t);
    *rbp = *(const uintptr_t *)*rbp_from;
}

int unwind_with_reads(uintptr_t entry_slot, uintptr_t *frames,
                      uintptr_t *slots, size_t depth, uintptr_t own_start,
                      uintptr_t own_end, struct unwind_reads *reads)
{
    const struct rule_table *t = frame_rules_current();
    uintptr_t sp, rbp, rbp_from, pc = *(const uintptr_t *)entry_slot;
    bool rbp_noted = false;
    bool complete = false;
    uintptr_t top = UINTPTR_MAX;   /* lowered by a frame-pointer guess */
    size_t n = 0;

    walk_start(entry_slot, &sp, &rbp, &rbp_from);
    reads->n = 0;
    reads->ends_on_zero = false;
    if (depth == 0)
        return 0;
    /* libmtrace.so's own entry points calling each other (reallocarray
     * calls realloc): not the program's frames. */
    while (pc >= own_start && pc < own_end) {
        if (!step_noting(frame_rules_get(t, pc), &sp, &rbp, &rbp_from, reads,
                         &rbp_noted, UINTPTR_MAX))
            return -1;
        pc = *(const uintptr_t *)(sp - sizeof(uintptr_t));
    }
    while (pc != 0) {
        uint64_t packed;

        frames[n] = pc;
        slots[n] = sp - sizeof(uintptr_t);
        if (++n == depth)
            break;
        packed = frame_rules_get(t, pc);
        if (RULE_KIND(packed) == FRAME_RULE_OUTERMOST) {
            complete = true;
            break;
        }
        if (RULE_KIND(packed) == FRAME_RULE_NO_INFO) {
            if (!frame_pointer_plausible(sp, rbp))
                return -1;
            packed = FRAME_POINTER_RULE;
            /* A guess may be wrong: from here on, read nothing above the
             * stack known to be mapped. */
            top = stack_known_top;
        }
        if (!step_noting(packed, &sp, &rbp, &rbp_from, reads, &rbp_noted, top))
            return -1;
        pc = *(const uintptr_t *)(sp - sizeof(uintptr_t));
    }
    if (complete && slots[n - 1] + sizeof(uintptr_t) > stack_known_top)
        stack_known_top = slots[n - 1] + sizeof(uintptr_t);
    reads->ends_on_zero = !complete && n < depth;
    return (int)n;
}

uintptr_t unwind_second_slot(uintptr_t entry_slot)
{
    uint64_t packed = frame_rules_get(frame_rules_current(),
                                      *(const uintptr_t *)entry_slot);
    uintptr_t sp, rbp, rbp_from;

    walk_start(entry_slot, &sp, &rbp, &rbp_from);
    if (RULE_KIND(packed) != FRAME_RULE_STEP ||
        !step(packed, &sp, &rbp, &rbp_from, UINTPTR_MAX))
        return 0;
    return sp - sizeof(uintptr_t);
}

void unwind_forget_rules(void)
{
    frame_rules_forget();
}

void unwind_after_fork_child(void)
{
    frame_rules_after_fork_child();
}

size_t unwind_cached_rules(void)
{
    return frame_rules_cached();
}

#else /* not x86-64: libunwind does every stack */

int unwind_with_reads(uintptr_t entry_slot, uintptr_t *frames,
                      uintptr_t *slots, size_t depth, uintptr_t own_start,
                      uintptr_t own_end, struct unwind_reads *reads)
{
    (void)entry_slot, (void)frames, (void)slots, (void)depth;
    (void)own_start, (void)own_end;
    reads->n = 0;
    return -1;
}

uintptr_t unwind_second_slot(uintptr_t entry_slot)
{
    (void)entry_slot;
    return 0;
}

void unwind_forget_rules(void) {}
void unwind_after_fork_child(void) {}
size_t unwind_cached_rules(void) { return 0; }

#endif

int unwind_from_slot(uintptr_t entry_slot, uintptr_t *frames,
                     uintptr_t *slots, size_t depth, uintptr_t own_start,
                     uintptr_t own_end)
{
    struct unwind_reads reads;
    return unwind_with_reads(entry_slot, frames, slots, depth, own_start,
                             own_end, &reads);
}
