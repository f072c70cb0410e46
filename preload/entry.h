/*
 * entry.h - what every exported allocator entry point does around the
 * real call (interpose.c: the malloc family; cxx_new.c: C++ operator new
 * and delete): record under the reentrancy guard, and leave errno as the
 * real call left it, never as the tracer did.
 */
#ifndef MTRACE_ENTRY_H
#define MTRACE_ENTRY_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "errno_slot.h"
#include "record.h"
#include "tracer.h"


/* A record under the reentrancy guard, errno as the real call left it. */
#define GUARDED_RECORD(call)                                                  \
    do {                                                                     \
        int *errno_ = errno_slot(), saved_errno_ = *errno_;                  \
        tracer_in_hook = 1;                                                  \
        call;                                                                \
        tracer_in_hook = 0;                                                  \
        *errno_ = saved_errno_;                                              \
    } while (0)

static inline void *after_alloc(void *ptr, size_t size, uint32_t kind,
                                uintptr_t entry_slot)
{
    GUARDED_RECORD(record_alloc(ptr, size, kind, entry_slot));
    return ptr;
}

/* A refused request (NULL for a non-zero size): counted, errno kept. */
static inline void after_failure(size_t size)
{
    GUARDED_RECORD(record_failure(size));
}

/* ptr is about to go back to the allocator: out of the table first, as
 * once released another thread may get its address from malloc. */
static inline void before_free(void *ptr)
{
    GUARDED_RECORD(record_free(ptr));
}

/* The same before an allocator's own delete (cxx_new.c). */
static inline void before_foreign_delete(void *ptr)
{
    GUARDED_RECORD(record_free_quietly(ptr));
}

/* Our free (interpose.c), called from inside: no PLT, and free's own
 * path stays in one place (delete in cxx_new.c is a jump to it). */
void traced_free(void *ptr);

#endif
