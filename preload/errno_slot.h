/*
 * errno_slot.h - the calling thread's errno without calling the C
 * library's __errno_location, which every traced malloc and free did
 * twice (save, restore): 1.3% of cxx_containers' samples under the
 * tracer. errno lives in the C library's static TLS block, at one fixed
 * distance from the thread pointer in every thread, taken once at start.
 */
#ifndef MTRACE_ERRNO_SLOT_H
#define MTRACE_ERRNO_SLOT_H

#include <stddef.h>

/* Set by errno_slot_init, before the tracer turns active: errno_slot is
 * only for paths that run once it is (tracer_should_record). */
extern ptrdiff_t errno_tp_offset;

void errno_slot_init(void);

static inline int *errno_slot(void)
{
    return (int *)((char *)__builtin_thread_pointer() + errno_tp_offset);
}

#endif
