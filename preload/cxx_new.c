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
 *   (foreign_new). What a new-handler does inside it is not seen.
 * - passed (any other: a library's own operator new, pool or counter):
 *   called as it is, unrecorded; whatever it asks of malloc is traced.
 */
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cxx_new.h"
#include "entry.h"
#include "real_alloc.h"
#include "spinlock.h"
#include "stack.h"
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

/* The twenty, as ten operations in a scalar and an array form. */
enum { SCALAR, ARRAY };
enum next_op_id {
    NEW, NEW_NOTHROW, NEW_ALIGNED, NEW_ALIGNED_NOTHROW, DELETE,
    DELETE_SIZED, DELETE_NOTHROW, DELETE_ALIGNED, DELETE_SIZED_ALIGNED,
    DELETE_ALIGNED_NOTHROW, NEXT_OPS
};

static const char *const next_op_names[NEXT_OPS][2] = {
    [NEW] = { "_Znwm", "_Znam" },
    [NEW_NOTHROW] = { "_ZnwmRKSt9nothrow_t", "_ZnamRKSt9nothrow_t" },
    [NEW_ALIGNED] = { "_ZnwmSt11align_val_t", "_ZnamSt11align_val_t" },
    [NEW_ALIGNED_NOTHROW] = { "_ZnwmSt11align_val_tRKSt9nothrow_t",
                              "_ZnamSt11align_val_tRKSt9nothrow_t" },
    [DELETE] = { "_ZdlPv", "_ZdaPv" },
    [DELETE_SIZED] = { "_ZdlPvm", "_ZdaPvm" },
    [DELETE_NOTHROW] = { "_ZdlPvRKSt9nothrow_t", "_ZdaPvRKSt9nothrow_t" },
    [DELETE_ALIGNED] = { "_ZdlPvSt11align_val_t", "_ZdaPvSt11align_val_t" },
    [DELETE_SIZED_ALIGNED] = { "_ZdlPvmSt11align_val_t",
                               "_ZdaPvmSt11align_val_t" },
    [DELETE_ALIGNED_NOTHROW] = { "_ZdlPvSt11align_val_tRKSt9nothrow_t",
                                 "_ZdaPvSt11align_val_tRKSt9nothrow_t" },
};

enum cxx_mode {
    MODE_UNKNOWN, MODE_STANDARD, MODE_FOREIGN, MODE_PASSED,
    MODE_BY_CALLER,            /* the global scope has none: see callers */
};

/* The next definitions (NULL where there is none) and what they are. */
struct next_ops {
    void *fn[NEXT_OPS][2];
    _Atomic int mode;
};

static struct next_ops global_ops;

/* In MODE_BY_CALLER, one per calling object, by its code's range. A
 * slot is in use while `end` is not 0; written under callers_lock but
 * read without it: `end` goes last. dlclose empties them all (a library
 * loaded later may take the range), and a full table falls back to the
 * C++ runtime's definitions. The lock is only ever tried, never waited
 * for (a forked child may find it held forever): a thread that finds it
 * taken keeps what it found in a copy of its own. */
#define CALLER_SLOTS 32
static struct caller_ops {
    struct next_ops ops;
    uintptr_t start;
    _Atomic uintptr_t end;
} callers[CALLER_SLOTS];
static spinlock_t callers_lock;
static __thread struct next_ops callers_unshared;
static struct next_ops runtime_ops;

static const char nothrow_tag;

/* The C++ runtime's operator new calls malloc and nothing else. */
static bool is_cxx_runtime(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    return strncmp(base, "libstdc++.so", 12) == 0 ||
           strncmp(base, "libc++.so", 9) == 0 ||
           strncmp(base, "libc++abi.so", 12) == 0;
}

static enum cxx_mode choose_mode(void *next_new)
{
    Dl_info info;
    if (!next_new || !dladdr(next_new, &info) || !info.dli_fname)
        return MODE_PASSED;
    real_alloc_resolve();
    if (real_alloc_owns_code((uintptr_t)next_new))
        return MODE_FOREIGN;
    /* Our malloc is not the program's when its executable has its own:
     * the runtime's new must then reach that one. */
    return is_cxx_runtime(info.dli_fname) && !real_alloc_shadowed_by()
               ? MODE_STANDARD
               : MODE_PASSED;
}

/* Around calls into the loader: under the guard, as the blocks it
 * allocates (dlerror's message, a handle's) are not the program's; errno
 * as the program left it. */
struct loader_call {
    int saved_errno, saved_hook;
};

static void loader_call_begin(struct loader_call *c)
{
    c->saved_errno = errno;
    c->saved_hook = tracer_in_hook;
    tracer_in_hook = 1;
}

static void loader_call_end(const struct loader_call *c)
{
    tracer_in_hook = c->saved_hook;
    errno = c->saved_errno;
}

/* What `handle` finds (RTLD_NEXT, or an object and its dependencies),
 * with the mode last. */
static void find_ops(struct next_ops *ops, void *handle)
{
    struct loader_call call;
    loader_call_begin(&call);
    for (int op = 0; op < NEXT_OPS; op++)
        for (int form = SCALAR; form <= ARRAY; form++)
            __atomic_store_n(&ops->fn[op][form],
                             handle ? dlsym(handle, next_op_names[op][form])
                                    : NULL,
                             __ATOMIC_RELAXED);
    atomic_store_explicit(&ops->mode, choose_mode(ops->fn[NEW][SCALAR]),
                          memory_order_release);
    loader_call_end(&call);
}

/* Opens the object (RTLD_NOLOAD: only if loaded) just to look in it:
 * closed again, so that the program's dlclose still unloads it. */
static void find_ops_in(struct next_ops *ops, const char *path)
{
    struct loader_call call;
    void *handle;
    loader_call_begin(&call);
    handle = dlopen(path, RTLD_LAZY | RTLD_NOLOAD);
    find_ops(ops, handle);
    if (handle)
        dlclose(handle);
    loader_call_end(&call);
}

static const struct next_ops *runtime_fallback(void)
{
    if (atomic_load_explicit(&runtime_ops.mode, memory_order_acquire) ==
        MODE_UNKNOWN)
        find_ops_in(&runtime_ops, "libstdc++.so.6");
    return &runtime_ops;
}

static unsigned caller_slot(uintptr_t caller)
{
    unsigned i;
    for (i = 0; i < CALLER_SLOTS; i++) {
        uintptr_t end = atomic_load_explicit(&callers[i].end,
                                             memory_order_acquire);
        if (caller < end && caller >= callers[i].start)
            break;
    }
    return i;
}

/* The calling object's slot, made on its first call. */
static const struct next_ops *caller_ops_of(uintptr_t caller)
{
    struct next_ops found;
    struct code_range code;
    Dl_info info;
    unsigned i;

    if ((i = caller_slot(caller)) < CALLER_SLOTS)
        return &callers[i].ops;
    if (!code_range_of(caller, &code) || !dladdr((void *)caller, &info) ||
        !info.dli_fname)
        return runtime_fallback();
    /* The loader's lock is taken outside ours, never inside. */
    memset(&found, 0, sizeof found);
    find_ops_in(&found, info.dli_fname);
    if (!spin_trylock(&callers_lock)) {
        memcpy(&callers_unshared, &found, sizeof found);
        return &callers_unshared;
    }
    /* Another thread may have found it meanwhile. */
    if ((i = caller_slot(caller)) == CALLER_SLOTS) {
        for (i = 0; i < CALLER_SLOTS; i++)
            if (!atomic_load_explicit(&callers[i].end, memory_order_relaxed))
                break;
        if (i < CALLER_SLOTS) {
            memcpy(callers[i].ops.fn, found.fn, sizeof found.fn);
            atomic_store_explicit(&callers[i].ops.mode,
                                  atomic_load(&found.mode),
                                  memory_order_relaxed);
            callers[i].start = code.start;
            atomic_store_explicit(&callers[i].end, code.end,
                                  memory_order_release);
        }
    }
    spin_unlock(&callers_lock);
    return i < CALLER_SLOTS ? &callers[i].ops : runtime_fallback();
}

void cxx_new_forget_callers(void)
{
    /* Held past a while only by a thread a fork left behind. */
    bool locked = spin_lock_bounded(&callers_lock, 1000);
    for (unsigned i = 0; i < CALLER_SLOTS; i++)
        atomic_store_explicit(&callers[i].end, 0, memory_order_relaxed);
    atomic_store(&runtime_ops.mode, MODE_UNKNOWN);
    if (locked)
        spin_unlock(&callers_lock);
}

static __attribute__((noinline, cold)) const struct next_ops *
ops_slow(uintptr_t caller)
{
    if (atomic_load_explicit(&global_ops.mode, memory_order_acquire) ==
        MODE_UNKNOWN) {
        /* Two threads may resolve at once: both find the same. */
        struct loader_call call;
        void *next_new;
        loader_call_begin(&call);
        next_new = dlsym(RTLD_NEXT, "_Znwm");
        loader_call_end(&call);
        if (next_new)
            find_ops(&global_ops, RTLD_NEXT);
        else
            atomic_store(&global_ops.mode, MODE_BY_CALLER);
    }
    if (atomic_load(&global_ops.mode) != MODE_BY_CALLER)
        return &global_ops;
    return caller_ops_of(caller);
}

/* The definitions the code at `caller` would reach. */
static inline const struct next_ops *ops_for(uintptr_t caller)
{
    int mode = atomic_load_explicit(&global_ops.mode, memory_order_acquire);
    if (likely(mode != MODE_UNKNOWN) && likely(mode != MODE_BY_CALLER))
        return &global_ops;
    return ops_slow(caller);
}

static inline int mode_of(const struct next_ops *ops)
{
    return atomic_load_explicit(&ops->mode, memory_order_relaxed);
}

static inline void *next_fn(const struct next_ops *ops, int op, int form)
{
    return __atomic_load_n(&ops->fn[op][form], __ATOMIC_RELAXED);
}

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
    ptr = align ? REAL_ALLOC(memalign)(align, nonzero(size))
                : REAL_ALLOC(malloc)(nonzero(size));
    if (!ptr && !is_nothrow(op))
        no_runtime();
    return ptr;
}

/* The allocator's new, recorded, under the guard: jemalloc's aligned new
 * calls aligned_alloc, which would count it twice. An exception must not
 * cross the guard (it would stay up and silence the thread), so a
 * throwing form asks the nothrow twin first, and only when that fails
 * calls itself, unguarded, for the new-handler loop and bad_alloc. */
static __attribute__((noinline)) void *
foreign_new(const struct next_ops *ops, int op, int form, size_t size,
            size_t align, uintptr_t entry_slot)
{
    int quiet = op == NEW || op == NEW_NOTHROW ? NEW_NOTHROW
                                               : NEW_ALIGNED_NOTHROW;
    void *ptr = NULL;
    if (next_fn(ops, quiet, form)) {
        tracer_in_hook = 1;
        ptr = call_next_new(ops, quiet, form, size, align);
        tracer_in_hook = 0;
        if (likely(ptr))
            return after_alloc(ptr, size, MT_KIND_HEAP, entry_slot);
        after_failure(size);
        if (is_nothrow(op))
            return NULL;
    }
    ptr = call_next_new(ops, op, form, size, align);
    return ptr ? after_alloc(ptr, size, MT_KIND_HEAP, entry_slot) : NULL;
}

/* The standard mode's new, as the runtime's does it (an alignment that
 * is no power of two: its error, from its own). NULL: let the runtime's
 * fail, throw or call the new-handler. */
static inline void *standard_new(size_t size, size_t align,
                                 uintptr_t entry_slot)
{
    void *ptr;
    if (align & (align - 1))
        return NULL;
    ptr = align ? REAL_ALLOC(memalign)(align, nonzero(size))
                : REAL_ALLOC(malloc)(nonzero(size));
    return ptr ? after_alloc(ptr, nonzero(size), MT_KIND_HEAP, entry_slot)
               : NULL;
}

/* Anything but the standard mode's recorded new. */
/* `tried`: cxx_new's malloc failed; the runtime's new-handler loop is
 * next, not another malloc. */
static __attribute__((noinline)) void *
new_elsewhere(int op, int form, size_t size, size_t align,
              uintptr_t entry_slot, bool tried)
{
    /* The slot holds our return address: the caller's code. */
    const struct next_ops *ops = ops_for(*(const uintptr_t *)entry_slot);
    int mode = mode_of(ops);
    void *ptr;
    if (mode == MODE_STANDARD && !tried && tracer_should_record() &&
        (ptr = standard_new(size, align, entry_slot)))
        return ptr;
    if (mode == MODE_FOREIGN && tracer_should_record())
        return foreign_new(ops, op, form, size, align, entry_slot);
    return call_next_new(ops, op, form, size, align);
}

static inline __attribute__((always_inline)) void *
cxx_new(int op, int form, size_t size, size_t align, uintptr_t entry_slot)
{
    void *ptr;
    bool tried = false;
    if (likely(atomic_load_explicit(&global_ops.mode, memory_order_relaxed) ==
               MODE_STANDARD) &&
        likely(tracer_should_record())) {
        if (likely(ptr = standard_new(size, align, entry_slot)))
            return ptr;
        tried = true;
    }
    return new_elsewhere(op, form, size, align, entry_slot, tried);
}

/* Out of the table before the allocator's delete, as free does it. */
static void release_before_delete(void *ptr)
{
    int saved_errno = errno;
    tracer_in_hook = 1;
    record_free_quietly(ptr);
    tracer_in_hook = 0;
    errno = saved_errno;
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
        release_before_delete(ptr);
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
    if (likely(atomic_load_explicit(&global_ops.mode, memory_order_relaxed) ==
               MODE_STANDARD))
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
