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
 * meet at one key must be able to sit side by side. When more of them
 * meet there than a set holds (every allocation of cc1 passes xmalloc),
 * the one a new chain pushes out moves to an overflow set chosen by its
 * second return address too, which a lookup that misses its set finds by
 * one step of the walk.
 *
 * Each thread's entries live in memory of their own, mapped on its first
 * traced allocation and handed to the next new thread when it exits, not
 * in static TLS: that would come out of every thread's stack.
 *
 * Our own unwinder reports the slots and loads as it walks; a chain is
 * learned the second time it misses in its set. A lookup that misses the
 * thread's sets asks the chain memo (chain_memo.h), shared by all
 * threads, before the caller walks; a chain found there is learned as a
 * walked one would be. Stacks that libunwind had
 * to walk (signal frames, DWARF expressions) are not cached: our walk
 * covers every other stack, and libunwind's step-by-step walk needed to
 * learn one cost more than the hits it bought.
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
 * slots and reads: what our unwinder reported, slots NULL when libunwind
 * walked the stack (then nothing is learned). */
void stack_cache_learn(uintptr_t entry_slot, struct site *site,
                       const uintptr_t *slots,
                       const struct unwind_reads *reads);

/* In a forked child: the lock of the free list may be held. */
void stack_cache_after_fork_child(void);

#endif
