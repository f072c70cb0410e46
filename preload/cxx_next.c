/* cxx_next.c - see cxx_next.h. */
#include "cxx_next.h"

#include <dlfcn.h>
#include <string.h>

#include "lifecycle.h"
#include "real_alloc.h"
#include "spinlock.h"
#include "stack.h"

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

struct next_ops cxx_global_ops;

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
 * closed again, so that the program's dlclose still unloads it. Closed
 * past our dlclose, which forgets the callers' slots, the very thing
 * this fills. */
static void find_ops_in(struct next_ops *ops, const char *path)
{
    struct loader_call call;
    void *handle;
    loader_call_begin(&call);
    handle = dlopen(path, RTLD_LAZY | RTLD_NOLOAD);
    find_ops(ops, handle);
    if (handle)
        lifecycle_dlclose_untracked(handle);
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

__attribute__((noinline, cold)) const struct next_ops *
cxx_next_ops_slow(uintptr_t caller)
{
    if (atomic_load_explicit(&cxx_global_ops.mode, memory_order_acquire) ==
        MODE_UNKNOWN) {
        /* Two threads may resolve at once: both find the same. */
        struct loader_call call;
        void *next_new;
        loader_call_begin(&call);
        next_new = dlsym(RTLD_NEXT, "_Znwm");
        loader_call_end(&call);
        if (next_new)
            find_ops(&cxx_global_ops, RTLD_NEXT);
        else
            atomic_store(&cxx_global_ops.mode, MODE_BY_CALLER);
    }
    if (atomic_load(&cxx_global_ops.mode) != MODE_BY_CALLER)
        return &cxx_global_ops;
    return caller_ops_of(caller);
}
