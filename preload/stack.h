/*
 * stack.h - the return addresses of the current call, with the tracer's
 * own frames cut off so that frames[0] is the caller of the allocator.
 * Our own unwinder (unwind.h) first; libunwind for the stacks it gives up
 * on.
 */
#ifndef MTRACE_STACK_H
#define MTRACE_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "unwind.h"

/* The executable segment of the loaded object whose code holds addr. */
struct code_range {
    uintptr_t start, end;
};
bool code_range_of(uintptr_t addr, struct code_range *out);

/* Once, before the first capture: learns where libmtrace.so's code is and
 * turns on libunwind's per-thread cache. */
void stack_init(void);

/* The stack of the call that entered the allocator with its return
 * address at entry_slot (ENTRY_SLOT() in an entry point): up to `depth`
 * frames; returns how many. When our unwinder did the walk, *have_slots
 * is set, slots[i] is where frames[i] was read from and *reads lists the
 * other loads the walk depended on (unwind.h). */
size_t stack_capture(uintptr_t entry_slot, uintptr_t *frames,
                     uintptr_t *slots, struct unwind_reads *reads,
                     bool *have_slots, size_t depth);

/* libunwind alone, from wherever it is called. */
size_t stack_capture_slow(uintptr_t *frames, size_t depth);

/* MTRACE_CHECK_UNWIND=1: compares a stack found without libunwind (by
 * our walk or by the stack cache) with libunwind's and counts a mismatch;
 * stack_check_report prints the counts once, on stderr. */
void stack_check(const uintptr_t *frames, size_t n, size_t depth,
                 bool from_cache);
void stack_check_report(void);

#endif
