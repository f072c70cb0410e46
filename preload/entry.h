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

#include "record.h"
#include "tracer.h"


static inline void *after_alloc(void *ptr, size_t size, uint32_t kind,
                                uintptr_t entry_slot)
{
    int saved_errno = errno;
    tracer_in_hook = 1;
    record_alloc(ptr, size, kind, entry_slot);
    tracer_in_hook = 0;
    errno = saved_errno;
    return ptr;
}

/* A refused request (NULL for a non-zero size): counted, errno kept. */
static inline void after_failure(size_t size)
{
    int saved_errno = errno;
    tracer_in_hook = 1;
    record_failure(size);
    tracer_in_hook = 0;
    errno = saved_errno;
}

/* ptr is about to go back to the allocator: out of the table first, as
 * once released another thread may get its address from malloc. */
static inline void before_free(void *ptr)
{
    int saved_errno = errno;
    tracer_in_hook = 1;
    record_free(ptr);
    tracer_in_hook = 0;
    errno = saved_errno;
}

/* Our free (interpose.c), called from inside: no PLT, and free's own
 * path stays in one place (delete in cxx_new.c is a jump to it). */
void traced_free(void *ptr);

#endif
