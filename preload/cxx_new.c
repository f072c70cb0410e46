/*
 * cxx_new.c - C++ operator new and delete, all twenty forms (scalar and
 * array; nothrow, aligned, sized). The C++ runtime's own (libstdc++,
 * libc++) only call malloc and free, which we trace anyway; but a program
 * linked with jemalloc or tcmalloc gets that allocator's operator new,
 * which never calls malloc: its whole C++ heap went unseen.
 *
 * Each call goes to the definition its caller would reach without us:
 * the next one after libmtrace.so in the global scope or, when that scope
 * has none (a C program that dlopen'ed a C++ library RTLD_LOCAL, as Python
 * loads extensions), the first one in the calling library's own scope.
 * What that definition is decides what we do:
 *
 * - standard (the C++ runtime's): new does what the runtime's would,
 *   malloc (memalign), and records as malloc does, so the site's first
 *   frame is the code that called new, in every form; a failed malloc
 *   (the new-handler loop, bad_alloc) goes to the runtime's, whose malloc
 *   calls are traced. Every delete is our free, as the runtime's ends in
 *   free().
 * - foreign (it belongs to the allocator that gave malloc): each call is
 *   recorded around the allocator's, its new under the reentrancy guard
 *   unless the program set a new-handler (foreign_new).
 * - passed (any other: a library's own operator new, pool or counter):
 *   called as it is, unrecorded; whatever it asks of malloc is traced.
 */
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "cxx_next.h"
#include "entry.h"
#include "real_alloc.h"
#include "trace_format.h"

/* std::align_val_t is an enum of size_t; std::nothrow_t const & is a
 * pointer the callee never reads. */
typedef void *(*new_fn)(size_t size);
typedef void *(*new_nothrow_fn)(size_t size, const void *tag);
typedef void *(*new_aligned_fn)(size_t size, size_t align);
typedef void *(*new_aligned_nothrow_fn)(size_t size, size_t align,
                                        const void *tag);
typedef void (*delete_fn)(void *ptr);
typedef void (*delete_sized_fn)(void *ptr, size_t size);
typedef void (*delete_nothrow_fn)(void *ptr, const void *tag);
typedef void (*delete_aligned_fn)(void *ptr, size_t align);
typedef void (*delete_sized_aligned_fn)(void *ptr, size_t size,
                                        size_t align);
typedef void (*delete_aligned_nothrow_fn)(void *ptr, size_t align,
                                          const void *tag);

static const char nothrow_tag;

/*
 * No next definition: the program's C++ runtime is nowhere we can see.
 * What the runtime would do, but for bad_alloc, which C cannot throw: a
 * message, then abort, as an uncaught bad_alloc would.
 */
static __attribute__((noinline, cold, noreturn)) void no_runtime(void)
{
    static const char msg[] = "mtrace: operator new failed, and no C++ "
                              "runtime was found to throw bad_alloc\n";
    ssize_t ignored = write(2, msg, sizeof msg - 1);
    (void)ignored;
    abort();
}

static inline size_t nonzero(size_t size)
{
    return size ? size : 1;
}

static inline bool is_nothrow(int op)
{
    return op == NEW_NOTHROW || op == NEW_ALIGNED_NOTHROW;
}

/* What the runtime's new asks of the allocator. */
static inline void *runtime_allocation(size_t size, size_t align)
{
    return align ? REAL_ALLOC(memalign)(align, nonzero(size))
                 : REAL_ALLOC(malloc)(nonzero(size));
}

/* The next new of this form, unrecorded; it may throw through here. */
static inline void *call_next_new(const struct next_ops *ops, int op,
                                  int form, size_t size, size_t align)
{
    void *fn = next_fn(ops, op, form), *ptr;
    if (likely(fn)) {
        switch (op) {
        case NEW:
            return ((new_fn)fn)(size);
        case NEW_NOTHROW:
            return ((new_nothrow_fn)fn)(size, &nothrow_tag);
        case NEW_ALIGNED:
            return ((new_aligned_fn)fn)(size, align);
        default:
            return ((new_aligned_nothrow_fn)fn)(size, align, &nothrow_tag);
        }
    }
    ptr = runtime_allocation(size, align);
    if (!ptr && !is_nothrow(op))
        no_runtime();
    return ptr;
}

/* Whether the program set a new-handler (std::get_new_handler); when
 * that cannot be asked, as if it had. */
static bool new_handler_set(void)
{
    static void (*(*get_handler)(void))(void);
    static bool looked;
    if (!looked) {
        struct loader_call call;
        loader_call_begin(&call);
        get_handler = (void (*(*)(void))(void))dlsym(
            RTLD_DEFAULT, "_ZSt15get_new_handlerv");
        loader_call_end(&call);
        looked = true;
    }
    return !get_handler || get_handler() != NULL;
}

/* The allocator's new, recorded, under the guard: jemalloc's aligned new
 * calls aligned_alloc, which would count it twice. An exception must not
 * cross the guard (it would stay up and silence the thread), so a
 * throwing form asks the nothrow twin first, and only when that fails
 * calls itself, unguarded, to throw bad_alloc. Unless the program set a
 * new-handler: the allocator's new runs it, also in the nothrow form, and
 * it must run as often as without us and what it does be seen, so then
 * the form itself is called, unguarded (jemalloc's aligned forms then
 * count twice). */
static __attribute__((noinline)) void *
foreign_new(const struct next_ops *ops, int op, int form, size_t size,
            size_t align, uintptr_t entry_slot)
{
    int quiet = op == NEW || op == NEW_NOTHROW ? NEW_NOTHROW
                                               : NEW_ALIGNED_NOTHROW;
    void *ptr = NULL;
    if (next_fn(ops, quiet, form) && !new_handler_set()) {
        tracer_in_hook = 1;
        ptr = call_next_new(ops, quiet, form, size, align);
        tracer_in_hook = 0;
        if (likely(ptr))
            return after_alloc(ptr, size, MT_KIND_HEAP, entry_slot);
        after_failure(size);
        if (is_nothrow(op))
            return NULL;
        /* Throws bad_alloc (or runs a handler set since). */
        ptr = call_next_new(ops, op, form, size, align);
        return ptr ? after_alloc(ptr, size, MT_KIND_HEAP, entry_slot) : NULL;
    }
    ptr = call_next_new(ops, op, form, size, align);
    if (likely(ptr))
        return after_alloc(ptr, size, MT_KIND_HEAP, entry_slot);
    after_failure(size);       /* a nothrow form's NULL */
    return NULL;
}

static inline bool is_aligned_op(int op)
{
    return op == NEW_ALIGNED || op == NEW_ALIGNED_NOTHROW;
}

/* The standard mode's new, as the runtime's does it (an alignment of 0
 * or one that is no power of two: its error, from its own). NULL: let
 * the runtime's fail, throw or call the new-handler. */
static inline void *standard_new(int op, size_t size, size_t align,
                                 uintptr_t entry_slot)
{
    void *ptr;
    if (is_aligned_op(op) && (align == 0 || (align & (align - 1))))
        return NULL;
    ptr = runtime_allocation(size, align);
    return ptr ? after_alloc(ptr, nonzero(size), MT_KIND_HEAP, entry_slot)
               : NULL;
}

/* Anything but the standard mode's recorded new. `tried`: cxx_new's
 * malloc failed; the runtime's new-handler loop is next, not another. */
static __attribute__((noinline)) void *
new_elsewhere(int op, int form, size_t size, size_t align,
              uintptr_t entry_slot, bool tried)
{
    /* The slot holds our return address: the caller's code. */
    const struct next_ops *ops = ops_for(*(const uintptr_t *)entry_slot);
    int mode = mode_of(ops);
    void *ptr;
    if (mode == MODE_STANDARD && !tried && tracer_should_record() &&
        (ptr = standard_new(op, size, align, entry_slot)))
        return ptr;
    if (mode == MODE_FOREIGN && tracer_should_record())
        return foreign_new(ops, op, form, size, align, entry_slot);
    return call_next_new(ops, op, form, size, align);
}

/* The global mode: the one test of the common path. */
static inline int global_mode(void)
{
    return atomic_load_explicit(&cxx_global_ops.mode, memory_order_relaxed);
}

static inline __attribute__((always_inline)) void *
cxx_new(int op, int form, size_t size, size_t align, uintptr_t entry_slot)
{
    void *ptr;
    bool tried = false;
    if (likely(global_mode() == MODE_STANDARD) &&
        likely(tracer_should_record())) {
        if (likely(ptr = standard_new(op, size, align, entry_slot)))
            return ptr;
        tried = true;
    }
    return new_elsewhere(op, form, size, align, entry_slot, tried);
}

/* Anything but the standard mode's delete, which is our free. */
static __attribute__((noinline)) void
delete_elsewhere(int op, int form, void *ptr, size_t size, size_t align,
                 uintptr_t caller)
{
    const struct next_ops *ops = ops_for(caller);
    int mode = mode_of(ops);
    void *fn;
    if (mode == MODE_STANDARD) {
        traced_free(ptr);
        return;
    }
    if (mode == MODE_FOREIGN && ptr && tracer_should_record())
        before_foreign_delete(ptr);
    if (unlikely(!(fn = next_fn(ops, op, form)))) {
        REAL_ALLOC(free)(ptr);
        return;
    }
    switch (op) {
    case DELETE:
        ((delete_fn)fn)(ptr);
        break;
    case DELETE_SIZED:
        ((delete_sized_fn)fn)(ptr, size);
        break;
    case DELETE_NOTHROW:
        ((delete_nothrow_fn)fn)(ptr, &nothrow_tag);
        break;
    case DELETE_ALIGNED:
        ((delete_aligned_fn)fn)(ptr, align);
        break;
    case DELETE_SIZED_ALIGNED:
        ((delete_sized_aligned_fn)fn)(ptr, size, align);
        break;
    default:
        ((delete_aligned_nothrow_fn)fn)(ptr, align, &nothrow_tag);
        break;
    }
}

static inline __attribute__((always_inline)) void
cxx_delete(int op, int form, void *ptr, size_t size, size_t align,
           uintptr_t caller)
{
    if (likely(global_mode() == MODE_STANDARD))
        traced_free(ptr);
    else
        delete_elsewhere(op, form, ptr, size, align, caller);
}

#define CALLER() ((uintptr_t)__builtin_return_address(0))

EXPORT void *_Znwm(size_t size)
{
    return cxx_new(NEW, SCALAR, size, 0, ENTRY_SLOT());
}

EXPORT void *_Znam(size_t size)
{
    return cxx_new(NEW, ARRAY, size, 0, ENTRY_SLOT());
}

EXPORT void *_ZnwmRKSt9nothrow_t(size_t size, const void *tag)
{
    (void)tag;
    return cxx_new(NEW_NOTHROW, SCALAR, size, 0, ENTRY_SLOT());
}

EXPORT void *_ZnamRKSt9nothrow_t(size_t size, const void *tag)
{
    (void)tag;
    return cxx_new(NEW_NOTHROW, ARRAY, size, 0, ENTRY_SLOT());
}

EXPORT void *_ZnwmSt11align_val_t(size_t size, size_t align)
{
    return cxx_new(NEW_ALIGNED, SCALAR, size, align, ENTRY_SLOT());
}

EXPORT void *_ZnamSt11align_val_t(size_t size, size_t align)
{
    return cxx_new(NEW_ALIGNED, ARRAY, size, align, ENTRY_SLOT());
}

EXPORT void *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t size, size_t align,
                                                const void *tag)
{
    (void)tag;
    return cxx_new(NEW_ALIGNED_NOTHROW, SCALAR, size, align, ENTRY_SLOT());
}

EXPORT void *_ZnamSt11align_val_tRKSt9nothrow_t(size_t size, size_t align,
                                                const void *tag)
{
    (void)tag;
    return cxx_new(NEW_ALIGNED_NOTHROW, ARRAY, size, align, ENTRY_SLOT());
}

EXPORT void _ZdlPv(void *ptr)
{
    cxx_delete(DELETE, SCALAR, ptr, 0, 0, CALLER());
}

EXPORT void _ZdaPv(void *ptr)
{
    cxx_delete(DELETE, ARRAY, ptr, 0, 0, CALLER());
}

EXPORT void _ZdlPvm(void *ptr, size_t size)
{
    cxx_delete(DELETE_SIZED, SCALAR, ptr, size, 0, CALLER());
}

EXPORT void _ZdaPvm(void *ptr, size_t size)
{
    cxx_delete(DELETE_SIZED, ARRAY, ptr, size, 0, CALLER());
}

EXPORT void _ZdlPvRKSt9nothrow_t(void *ptr, const void *tag)
{
    (void)tag;
    cxx_delete(DELETE_NOTHROW, SCALAR, ptr, 0, 0, CALLER());
}

EXPORT void _ZdaPvRKSt9nothrow_t(void *ptr, const void *tag)
{
    (void)tag;
    cxx_delete(DELETE_NOTHROW, ARRAY, ptr, 0, 0, CALLER());
}

EXPORT void _ZdlPvSt11align_val_t(void *ptr, size_t align)
{
    cxx_delete(DELETE_ALIGNED, SCALAR, ptr, 0, align, CALLER());
}

EXPORT void _ZdaPvSt11align_val_t(void *ptr, size_t align)
{
    cxx_delete(DELETE_ALIGNED, ARRAY, ptr, 0, align, CALLER());
}

EXPORT void _ZdlPvmSt11align_val_t(void *ptr, size_t size, size_t align)
{
    cxx_delete(DELETE_SIZED_ALIGNED, SCALAR, ptr, size, align, CALLER());
}

EXPORT void _ZdaPvmSt11align_val_t(void *ptr, size_t size, size_t align)
{
    cxx_delete(DELETE_SIZED_ALIGNED, ARRAY, ptr, size, align, CALLER());
}

EXPORT void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *ptr, size_t align,
                                                const void *tag)
{
    (void)tag;
    cxx_delete(DELETE_ALIGNED_NOTHROW, SCALAR, ptr, 0, align, CALLER());
}

EXPORT void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *ptr, size_t align,
                                                const void *tag)
{
    (void)tag;
    cxx_delete(DELETE_ALIGNED_NOTHROW, ARRAY, ptr, 0, align, CALLER());
}
