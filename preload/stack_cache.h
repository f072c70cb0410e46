/*
 * stack_cache.h - skips unwinding for allocations from a call chain seen
 * before. An entry remembers, for one chain, where on the stack each
 * frame's return address lives and what it was. If the allocator is
 * entered with its own return address at the same place and every
 * remembered slot still holds the remembered address, the chain is the
 * same one: the same instruction at each level, at the same depth, gives
 * the same frame layout. Nothing on the stack is ever written (a "shadow
 * stack" that rewrites return addresses breaks exceptions and longjmp).
 *
 * Our own unwinder reports each frame's slot as it walks, and then a
 * chain is learned at once. For a stack libunwind had to walk, learning
 * needs its slow step-by-step walk (about seven fast backtraces), so only
 * a whole chain met three times in a row at one cache slot is learned
 * (loops, not one-off calls), and only while the thread's hits pay for
 * its learning.
 */
#ifndef MTRACE_STACK_CACHE_H
#define MTRACE_STACK_CACHE_H

#include <stdint.h>

struct site;

/* entry_slot: address of the allocator entry point's own return address
 * (its caller's frame). The site of that chain, or NULL. */
struct site *stack_cache_find(uintptr_t entry_slot);

/* After a full unwind found `site` for a call entered at entry_slot;
 * slots: where each of its frames was read, or NULL if unknown. */
void stack_cache_learn(uintptr_t entry_slot, struct site *site,
                       const uintptr_t *slots);

#endif
