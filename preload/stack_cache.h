/*
 * stack_cache.h - skips unwinding and interning for allocations from a
 * call chain seen before. An entry remembers, for one chain entered at
 * one stack address, where each frame's return address lives and, for
 * frames whose caller is found through rbp, where that rbp was loaded
 * from and its value. A walk is a function of its start and of those
 * loads, so if every remembered slot still holds the remembered value the
 * chain is the same one. Nothing on the stack is ever written (a "shadow
 * stack" that rewrites return addresses breaks exceptions and longjmp).
 *
 * Entries are grouped in small sets by (entry slot, return address): a
 * helper that many callers share (operator new, sqlite3Malloc) calls
 * malloc from one instruction at a handful of depths, so the chains that
 * meet at one key must be able to sit side by side.
 *
 * Each thread's entries live in memory of their own, mapped on its first
 * traced allocation and handed to the next new thread when it exits, not
 * in static TLS: that would come out of every thread's stack.
 *
 * Our own unwinder reports the slots and loads as it walks, and then a
 * chain is learned at once. For a stack libunwind had to walk, learning
 * needs its slow step-by-step walk (about seven fast backtraces), so only
 * a chain met three times in a row is learned, and only while the
 * thread's hits pay for its learning; those entries check the return
 * addresses only, which libunwind's frame-pointer guesses leave us.
 */
#ifndef MTRACE_STACK_CACHE_H
#define MTRACE_STACK_CACHE_H

#include <stdint.h>

#include "unwind.h"

struct site;

/* Once, at start-up (creates the key that recycles a thread's entries). */
void stack_cache_init(void);

/* entry_slot: address of the allocator entry point's own return address
 * (its caller's frame). The site of that chain, or NULL. */
struct site *stack_cache_find(uintptr_t entry_slot);

/* After a full unwind found `site` for a call entered at entry_slot;
 * slots and reads: what our unwinder reported, or NULL when libunwind
 * walked the stack. */
void stack_cache_learn(uintptr_t entry_slot, struct site *site,
                       const uintptr_t *slots,
                       const struct unwind_reads *reads);

/* In a forked child: the lock of the free list may be held. */
void stack_cache_after_fork_child(void);

#endif
