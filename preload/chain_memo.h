/*
 * chain_memo.h - the stack cache's last resort before a walk: one table,
 * shared by all threads, of the chains walked lately, each entry a site
 * that keeps the layout it was first walked with (chain_layout.h).
 *
 * A compiler's allocations come from more chains than a thread's stack
 * cache holds (cc1 -O2 on a few thousand lines: 10,542 chains; 97% of its
 * walks repeated one of them), and each walk costs a rule-table miss per
 * frame and a site-table miss. Here a chain costs 24 bytes (and its site
 * a layout of 136), is found by its entry slot and first two return
 * addresses, then proved by reading its slots as the cache does. The table is mapped only once a process has walked
 * MEMO_AFTER_WALKS stacks: programs whose chains fit the cache never pay
 * for it.
 *
 * Entries are read and written without a lock. Whatever a race leaves in
 * an entry (a tag of one chain next to the site of another) only makes a
 * proof fail: a site is returned only when the stack holds its frames
 * where its layout says, and a layout only serves while no code has been
 * unloaded since it was walked (frame_rules_generation).
 */
#ifndef MTRACE_CHAIN_MEMO_H
#define MTRACE_CHAIN_MEMO_H

#include <stdbool.h>
#include <stdint.h>

#include "chain_layout.h"

struct site;

/* Walks a process makes before the table is mapped. */
#define MEMO_AFTER_WALKS 4096

/* The site of the chain entered at entry_slot, whose first two return
 * addresses are first_pc and second_pc, if the memo holds it; its layout
 * in *layout. NULL if not. */
struct site *chain_memo_find(uintptr_t entry_slot, uintptr_t first_pc,
                             uintptr_t second_pc,
                             const struct chain_layout **layout);

/* Starts loading where chain_memo_find will look for this chain. */
void chain_memo_prefetch(uintptr_t entry_slot, uintptr_t first_pc,
                         uintptr_t second_pc);

/* A walk from entry_slot found `site`, laid out as `walked`: remembered
 * (and counted towards mapping the table). */
void chain_memo_add(uintptr_t entry_slot, struct site *site,
                    const struct chain_layout *walked);

/* Whether the table is mapped (for tests). */
bool chain_memo_active(void);

#endif
