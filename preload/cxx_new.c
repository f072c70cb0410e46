/*
 * cxx_new.c - C++ operator new and delete, all twenty forms (scalar and
 * array; nothrow, aligned, sized). The C++ runtime's own (libstdc++,
 * libc++) only call malloc and free, which we trace anyway; but a program
 * linked with jemalloc or tcmalloc gets that allocator's operator new,
 * which never calls malloc: its whole C++ heap went unseen. Each call
 * here goes to the next definition after libmtrace.so, found at the first
 * call, in one of three ways:
 *
 * - standard (the next one is the C++ runtime's): every new, and the
 *   plain and sized delete (nearly every call), do what the runtime's
 *   would, malloc (memalign) and free, and record as those do; the
 *   site's first frame is then the code that called new, in every form.
 *   A failed malloc (the new-handler loop, bad_alloc) and the rarer
 *   deletes go to the runtime's, whose malloc and free calls are traced.
 * - foreign (the next one comes from the object that gave malloc): the
 *   call is recorded around the allocator's. Inside it, the reentrancy
 *   guard keeps an allocator that does call malloc from being counted
 *   twice. An exception must never cross the guard (it would stay up and
 *   silence the thread), so a throwing new asks the allocator's nothrow
 *   twin first, and only when that fails calls the throwing one,
 *   unguarded, to run the new-handler and throw as the program expects.
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

/* The next definitions, NULL where there is none. */
static void *next_op[NEXT_OPS][2];

#define NEXT(type, op, form) \
    ((type)__atomic_load_n(&next_op[op][form], __ATOMIC_RELAXED))

enum cxx_mode { MODE_UNKNOWN, MODE_STANDARD, MODE_FOREIGN, MODE_PASSED };
static _Atomic int cxx_mode;

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

/* Where the next definitions are. RTLD_NEXT searches the global scope,
 * which lacks a C++ runtime that came with a library dlopen'ed
 * RTLD_LOCAL (a Python extension): that library's calls still reach us
 * first, so look in the runtime itself. The handle is kept: we call into
 * it from now on. */
static void *next_op_handle(void)
{
    static const char *const runtimes[] = {
        "libstdc++.so.6", "libc++.so.1", "libc++abi.so.1",
    };
    if (dlsym(RTLD_NEXT, "_Znwm"))
        return RTLD_NEXT;
    for (size_t i = 0; i < sizeof runtimes / sizeof runtimes[0]; i++) {
        void *handle = dlopen(runtimes[i], RTLD_LAZY | RTLD_NOLOAD);
        if (handle)
            return handle;
    }
    return NULL;
}

static enum cxx_mode choose_mode(void *handle)
{
    Dl_info new_info;
    void *next_new = next_op[NEW][SCALAR];
    if (!next_new || !dladdr(next_new, &new_info) || !new_info.dli_fname)
        return MODE_PASSED;
    real_alloc_resolve();
    if (handle == RTLD_NEXT && real_alloc_owns_code((uintptr_t)next_new))
        return MODE_FOREIGN;
    return is_cxx_runtime(new_info.dli_fname) ? MODE_STANDARD : MODE_PASSED;
}

/* Two threads may resolve at once: both find the same. */
static __attribute__((noinline, cold)) enum cxx_mode resolve_next_op(void)
{
    int saved_errno = errno, saved_hook = tracer_in_hook;
    void *handle;
    enum cxx_mode mode;

    tracer_in_hook = 1;    /* the loader's blocks are not the program's */
    handle = next_op_handle();

    for (int op = 0; op < NEXT_OPS; op++)
        for (int form = SCALAR; form <= ARRAY; form++)
            __atomic_store_n(&next_op[op][form],
                             handle ? dlsym(handle, next_op_names[op][form])
                                    : NULL,
                             __ATOMIC_RELAXED);
    mode = choose_mode(handle);
    atomic_store_explicit(&cxx_mode, mode, memory_order_release);
    tracer_in_hook = saved_hook;
    errno = saved_errno;
    return mode;
}

static inline enum cxx_mode mode_now(void)
{
    int mode = atomic_load_explicit(&cxx_mode, memory_order_acquire);
    return likely(mode != MODE_UNKNOWN) ? (enum cxx_mode)mode
                                        : resolve_next_op();
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

static void *untraced_new(int form, size_t size)
{
    new_fn next = NEXT(new_fn, NEW, form);
    void *ptr;
    if (likely(next))
        return next(size);
    if (!(ptr = REAL_ALLOC(malloc)(nonzero(size))))
        no_runtime();
    return ptr;
}

/* The allocator's new, under the guard, recorded; nothrow: NULL on
 * failure, else the throwing form's handler loop and bad_alloc. */
static __attribute__((noinline)) void *foreign_new(int form, size_t size,
                                                   size_t align, bool aligned,
                                                   bool nothrow,
                                                   uintptr_t entry_slot)
{
    new_nothrow_fn quiet = NEXT(new_nothrow_fn, NEW_NOTHROW, form);
    new_aligned_nothrow_fn quiet_aligned =
        NEXT(new_aligned_nothrow_fn, NEW_ALIGNED_NOTHROW, form);
    void *ptr = NULL;

    if (aligned ? !!quiet_aligned : !!quiet) {
        tracer_in_hook = 1;
        ptr = aligned ? quiet_aligned(size, align, &nothrow_tag)
                      : quiet(size, &nothrow_tag);
        tracer_in_hook = 0;
        if (likely(ptr))
            return after_alloc(ptr, size, MT_KIND_HEAP, entry_slot);
        after_failure(size);
        if (nothrow)
            return NULL;
    }
    if (nothrow) {
        /* No nothrow twin: its malloc, as the runtime's would. */
        ptr = aligned ? REAL_ALLOC(memalign)(align, nonzero(size))
                      : REAL_ALLOC(malloc)(nonzero(size));
    } else if (aligned) {
        /* Unguarded: it may throw through here. */
        new_aligned_fn loud = NEXT(new_aligned_fn, NEW_ALIGNED, form);
        if (loud)
            ptr = loud(size, align);
        else if (!(ptr = REAL_ALLOC(memalign)(align, nonzero(size))))
            no_runtime();
    } else {
        ptr = untraced_new(form, size);
    }
    return ptr ? after_alloc(ptr, size, MT_KIND_HEAP, entry_slot) : NULL;
}

/* The standard mode's new of any form, as the runtime's does it (an
 * alignment that is no power of two: its error, from its own). NULL:
 * let the runtime's fail, throw or call the new-handler. */
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

static inline void *new_plain(int form, size_t size, uintptr_t entry_slot)
{
    enum cxx_mode mode = mode_now();
    void *ptr;
    if (likely(mode == MODE_STANDARD) && likely(tracer_should_record())) {
        if (likely(ptr = standard_new(size, 0, entry_slot)))
            return ptr;
    } else if (mode == MODE_FOREIGN && tracer_should_record()) {
        return foreign_new(form, size, 0, false, false, entry_slot);
    }
    return untraced_new(form, size);
}

static inline void *new_nothrow(int form, size_t size, uintptr_t entry_slot)
{
    enum cxx_mode mode = mode_now();
    new_nothrow_fn next;
    void *ptr;
    if (mode == MODE_STANDARD && tracer_should_record() &&
        (ptr = standard_new(size, 0, entry_slot)))
        return ptr;
    if (mode == MODE_FOREIGN && tracer_should_record())
        return foreign_new(form, size, 0, false, true, entry_slot);
    if (likely(next = NEXT(new_nothrow_fn, NEW_NOTHROW, form)))
        return next(size, &nothrow_tag);
    return REAL_ALLOC(malloc)(nonzero(size));
}

static inline void *new_aligned(int form, size_t size, size_t align,
                                bool nothrow, uintptr_t entry_slot)
{
    enum cxx_mode mode = mode_now();
    new_aligned_fn next;
    new_aligned_nothrow_fn next_quiet;
    void *ptr;
    if (mode == MODE_STANDARD && tracer_should_record() &&
        (ptr = standard_new(size, align, entry_slot)))
        return ptr;
    if (mode == MODE_FOREIGN && tracer_should_record())
        return foreign_new(form, size, align, true, nothrow, entry_slot);
    if (nothrow && likely(next_quiet = NEXT(new_aligned_nothrow_fn,
                                              NEW_ALIGNED_NOTHROW, form)))
        return next_quiet(size, align, &nothrow_tag);
    if (!nothrow && likely(next = NEXT(new_aligned_fn, NEW_ALIGNED, form)))
        return next(size, align);
    ptr = REAL_ALLOC(memalign)(align, nonzero(size));
    if (!ptr && !nothrow)
        no_runtime();
    return ptr;
}

/* A foreign allocator's delete is about to run: out of the table first,
 * then the guard up (guard_end takes it down). */
static inline bool foreign_delete_guard(enum cxx_mode mode, void *ptr)
{
    if (mode != MODE_FOREIGN || !tracer_should_record())
        return false;
    if (ptr)
        before_free(ptr);
    tracer_in_hook = 1;
    return true;
}

/* The rarer deletes: the standard mode's reach our free through the
 * runtime's. */
static inline bool delete_guard(void *ptr)
{
    return foreign_delete_guard(mode_now(), ptr);
}

/* Every delete ends in free() in the C++ runtime: in the standard mode
 * the plain and sized ones free here (true). */
static inline bool delete_traced_here(void *ptr, bool *guarded)
{
    enum cxx_mode mode = mode_now();
    if (likely(mode == MODE_STANDARD) && likely(tracer_should_record())) {
        if (ptr)
            before_free(ptr);
        REAL_ALLOC(free)(ptr);
        return true;
    }
    *guarded = foreign_delete_guard(mode, ptr);
    return false;
}

static inline void guard_end(bool guarded)
{
    if (guarded)
        tracer_in_hook = 0;
}

/* The next delete, or free() where there is none. */
#define CALL_NEXT_DELETE(type, op, form, ...)                                 \
    do {                                                                     \
        type next_ = NEXT(type, op, form);                                   \
        if (likely(next_))                                                   \
            next_(__VA_ARGS__);                                              \
        else                                                                 \
            REAL_ALLOC(free)(ptr);                                           \
    } while (0)

static inline void delete_plain(int form, void *ptr)
{
    bool guarded;
    if (delete_traced_here(ptr, &guarded))
        return;
    CALL_NEXT_DELETE(delete_fn, DELETE, form, ptr);
    guard_end(guarded);
}

static inline void delete_sized(int form, void *ptr, size_t size)
{
    bool guarded;
    if (delete_traced_here(ptr, &guarded))
        return;
    CALL_NEXT_DELETE(delete_sized_fn, DELETE_SIZED, form, ptr, size);
    guard_end(guarded);
}

EXPORT void *_Znwm(size_t size)
{
    return new_plain(SCALAR, size, ENTRY_SLOT());
}

EXPORT void *_Znam(size_t size)
{
    return new_plain(ARRAY, size, ENTRY_SLOT());
}

EXPORT void *_ZnwmRKSt9nothrow_t(size_t size, const void *tag)
{
    (void)tag;
    return new_nothrow(SCALAR, size, ENTRY_SLOT());
}

EXPORT void *_ZnamRKSt9nothrow_t(size_t size, const void *tag)
{
    (void)tag;
    return new_nothrow(ARRAY, size, ENTRY_SLOT());
}

EXPORT void *_ZnwmSt11align_val_t(size_t size, size_t align)
{
    return new_aligned(SCALAR, size, align, false, ENTRY_SLOT());
}

EXPORT void *_ZnamSt11align_val_t(size_t size, size_t align)
{
    return new_aligned(ARRAY, size, align, false, ENTRY_SLOT());
}

EXPORT void *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t size, size_t align,
                                                const void *tag)
{
    (void)tag;
    return new_aligned(SCALAR, size, align, true, ENTRY_SLOT());
}

EXPORT void *_ZnamSt11align_val_tRKSt9nothrow_t(size_t size, size_t align,
                                                const void *tag)
{
    (void)tag;
    return new_aligned(ARRAY, size, align, true, ENTRY_SLOT());
}

EXPORT void _ZdlPv(void *ptr)
{
    delete_plain(SCALAR, ptr);
}

EXPORT void _ZdaPv(void *ptr)
{
    delete_plain(ARRAY, ptr);
}

EXPORT void _ZdlPvm(void *ptr, size_t size)
{
    delete_sized(SCALAR, ptr, size);
}

EXPORT void _ZdaPvm(void *ptr, size_t size)
{
    delete_sized(ARRAY, ptr, size);
}

EXPORT void _ZdlPvRKSt9nothrow_t(void *ptr, const void *tag)
{
    bool guarded = delete_guard(ptr);
    CALL_NEXT_DELETE(delete_nothrow_fn, DELETE_NOTHROW, SCALAR, ptr, tag);
    guard_end(guarded);
}

EXPORT void _ZdaPvRKSt9nothrow_t(void *ptr, const void *tag)
{
    bool guarded = delete_guard(ptr);
    CALL_NEXT_DELETE(delete_nothrow_fn, DELETE_NOTHROW, ARRAY, ptr, tag);
    guard_end(guarded);
}

EXPORT void _ZdlPvSt11align_val_t(void *ptr, size_t align)
{
    bool guarded = delete_guard(ptr);
    CALL_NEXT_DELETE(delete_aligned_fn, DELETE_ALIGNED, SCALAR, ptr, align);
    guard_end(guarded);
}

EXPORT void _ZdaPvSt11align_val_t(void *ptr, size_t align)
{
    bool guarded = delete_guard(ptr);
    CALL_NEXT_DELETE(delete_aligned_fn, DELETE_ALIGNED, ARRAY, ptr, align);
    guard_end(guarded);
}

EXPORT void _ZdlPvmSt11align_val_t(void *ptr, size_t size, size_t align)
{
    bool guarded = delete_guard(ptr);
    CALL_NEXT_DELETE(delete_sized_aligned_fn, DELETE_SIZED_ALIGNED, SCALAR,
                     ptr, size, align);
    guard_end(guarded);
}

EXPORT void _ZdaPvmSt11align_val_t(void *ptr, size_t size, size_t align)
{
    bool guarded = delete_guard(ptr);
    CALL_NEXT_DELETE(delete_sized_aligned_fn, DELETE_SIZED_ALIGNED, ARRAY,
                     ptr, size, align);
    guard_end(guarded);
}

EXPORT void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *ptr, size_t align,
                                                const void *tag)
{
    bool guarded = delete_guard(ptr);
    CALL_NEXT_DELETE(delete_aligned_nothrow_fn, DELETE_ALIGNED_NOTHROW,
                     SCALAR, ptr, align, tag);
    guard_end(guarded);
}

EXPORT void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *ptr, size_t align,
                                                const void *tag)
{
    bool guarded = delete_guard(ptr);
    CALL_NEXT_DELETE(delete_aligned_nothrow_fn, DELETE_ALIGNED_NOTHROW,
                     ARRAY, ptr, align, tag);
    guard_end(guarded);
}
