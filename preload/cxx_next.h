/*
 * cxx_next.h - where the C++ operator new and delete that a call would
 * reach without us are (cxx_new.c calls them, or does what they do), and
 * what they are. The next definitions after libmtrace.so in the global
 * scope, found at the first call; or, when that scope has none (a C
 * program that dlopen'ed a C++ library RTLD_LOCAL, as Python loads
 * extensions), the first ones in the calling library's own scope, looked
 * up once a calling object and kept by its code's range.
 */
#ifndef MTRACE_CXX_NEXT_H
#define MTRACE_CXX_NEXT_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "tracer.h"

/* The twenty, as ten operations in a scalar and an array form. */
enum { SCALAR, ARRAY };
enum next_op_id {
    NEW, NEW_NOTHROW, NEW_ALIGNED, NEW_ALIGNED_NOTHROW, DELETE,
    DELETE_SIZED, DELETE_NOTHROW, DELETE_ALIGNED, DELETE_SIZED_ALIGNED,
    DELETE_ALIGNED_NOTHROW, NEXT_OPS
};

/* What the definitions are, which decides what cxx_new.c does. */
enum cxx_mode {
    MODE_UNKNOWN, MODE_STANDARD, MODE_FOREIGN, MODE_PASSED,
    MODE_BY_CALLER,            /* the global scope has none: see callers */
};

/* The next definitions (NULL where there is none) and what they are. */
struct next_ops {
    void *fn[NEXT_OPS][2];
    _Atomic int mode;
};

extern struct next_ops cxx_global_ops;

/* Around calls into the loader: under the guard, as the blocks it
 * allocates (dlerror's message, a handle's) are not the program's; errno
 * as the program left it. */
struct loader_call {
    int saved_errno, saved_hook;
};

static inline void loader_call_begin(struct loader_call *c)
{
    c->saved_errno = errno;
    c->saved_hook = tracer_in_hook;
    tracer_in_hook = 1;
}

static inline void loader_call_end(const struct loader_call *c)
{
    tracer_in_hook = c->saved_hook;
    errno = c->saved_errno;
}

/* The first call, and every call in MODE_BY_CALLER. */
const struct next_ops *cxx_next_ops_slow(uintptr_t caller);

/* The definitions the code at `caller` would reach. */
static inline const struct next_ops *ops_for(uintptr_t caller)
{
    int mode =
        atomic_load_explicit(&cxx_global_ops.mode, memory_order_acquire);
    if (likely(mode != MODE_UNKNOWN) && likely(mode != MODE_BY_CALLER))
        return &cxx_global_ops;
    return cxx_next_ops_slow(caller);
}

static inline int mode_of(const struct next_ops *ops)
{
    return atomic_load_explicit(&ops->mode, memory_order_relaxed);
}

static inline void *next_fn(const struct next_ops *ops, int op, int form)
{
    return __atomic_load_n(&ops->fn[op][form], __ATOMIC_RELAXED);
}

/* After a dlclose: the definitions found per calling library are looked
 * up again, as another library may now sit where an unloaded one was. */
void cxx_new_forget_callers(void);

#endif
