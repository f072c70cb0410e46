/*
 * unwind.h - the tracer's own stack walk, for x86-64 code with DWARF call
 * frame information. A return address's rule (where the caller's frame
 * is) is read from .eh_frame once and kept in a lock-free table shared by
 * all threads, so a walk costs a table probe and two loads per frame,
 * where libunwind's cached unw_backtrace costs about a hundred
 * instructions (frame_rules.h). Any frame it does not understand (signal frames,
 * JIT code, DWARF expressions) makes it give up, and the caller asks
 * libunwind for that stack instead.
 */
#ifndef MTRACE_UNWIND_H
#define MTRACE_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Walks from the return address stored at entry_slot, which must be the
 * slot just above a frame-pointer frame of the caller's own (the saved
 * rbp sits at entry_slot - 8): the interposed entry points make such a
 * frame. Stores up to `depth` return addresses, skipping leading frames
 * inside [own_start, own_end) (libmtrace.so calling itself), and where
 * each was read from into slots. Returns the number of
 * frames, or -1 when some frame needs libunwind. */
int unwind_from_slot(uintptr_t entry_slot, uintptr_t *frames,
                     uintptr_t *slots, size_t depth, uintptr_t own_start,
                     uintptr_t own_end);

#define UNWIND_READS_MAX 32

/* The memory a walk's result depends on besides its return-address
 * slots: for each step that computed the CFA from rbp, where that rbp
 * value was loaded from (the entry point's saved rbp, or a callee's save
 * slot) and what it was. The same entry slot, the same values in the
 * return-address slots and in these gives the same stack. */
struct unwind_reads {
    uint32_t n;                /* UNWIND_READS_MAX + 1: too many to list */
    bool ends_on_zero;         /* stopped at a return address of 0, whose
                                * slot is not among the ones reported */
    uintptr_t addr[UNWIND_READS_MAX];
    uintptr_t value[UNWIND_READS_MAX];
};

/* unwind_from_slot that also fills *reads. */
int unwind_with_reads(uintptr_t entry_slot, uintptr_t *frames,
                      uintptr_t *slots, size_t depth, uintptr_t own_start,
                      uintptr_t own_end, struct unwind_reads *reads);

/* Where the walk from entry_slot reads its second return address: one
 * step by the rule of the first (frames[1]'s slot, as unwind_with_reads
 * would report it), or 0 when that frame takes more than a plain step. */
uintptr_t unwind_second_slot(uintptr_t entry_slot);

/* Code was unloaded: cached rules for its addresses may be wrong for what
 * is mapped there next. Cheap; the table is emptied lazily. */
void unwind_forget_rules(void);

/* In a forked child: the rule table's lock may be held by a thread that
 * does not exist there. */
void unwind_after_fork_child(void);

/* Rules cached, for the tests. */
size_t unwind_cached_rules(void);

#endif
