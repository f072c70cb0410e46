/*
 * lifecycle.c - start, end and the events in between that concern the
 * whole process: the constructor, exit and _exit, fatal signals, fork and
 * exec. Each end path writes the final snapshot, the survivors and END,
 * exactly once.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "allocator_maps.h"
#include "arena.h"
#include "clock.h"
#include "counter.h"
#include "cxx_next.h"
#include "errno_slot.h"
#include "exit_status.h"
#include "lifecycle.h"
#include "live.h"
#include "log.h"
#include "managed_heaps.h"
#include "mmap_ranges.h"
#include "modules.h"
#include "nursery.h"
#include "options.h"
#include "procfs.h"
#include "reachability.h"
#include "real_alloc.h"
#include "record.h"
#include "sites.h"
#include "snapshot.h"
#include "stack.h"
#include "stack_cache.h"
#include "thread_create.h"
#include "tracer.h"
#include "unwind.h"
#include "writer.h"


static pid_t traced_pid;               /* who the current file belongs to */
static uint64_t start_realtime_ns;
static char exe_path[PATH_MAX];
/* MT_PROC_* flags of the environment at start: the one a forked child's
 * runtime was started with. */
static uint32_t managed_heaps;
static bool fork_locked;

static int (*real_execvpe)(const char *, char *const[], char *const[]);
static int (*real_fexecve)(int, char *const[], char *const[]);
static int (*real_dlclose)(void *);

static const int fatal_signals[] = { SIGSEGV, SIGABRT, SIGBUS, SIGFPE,
                                     SIGILL, SIGTRAP, SIGSYS };

static uint64_t now_ns(void)
{
    return clock_now_ns() - tracer_origin_ns;
}

static int write_process_record(uint32_t flags)
{
    char cmdline[8192];
    ssize_t cmdline_len = 0;
    struct trace_buf *buf;
    struct mt_rec_process p;
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);

    if (fd >= 0) {
        cmdline_len = read(fd, cmdline, sizeof cmdline);
        close(fd);
        if (cmdline_len < 0)
            cmdline_len = 0;
    }
    memset(&p, 0, sizeof p);
    p.pid = (uint32_t)getpid();
    p.ppid = (uint32_t)getppid();
    p.start_realtime_ns = start_realtime_ns;
    p.start_monotonic_ns = tracer_origin_ns;
    p.interval_ms = mt_opt.interval_ms;
    p.depth = mt_opt.depth;
    p.flags = flags | (mt_opt.mmap ? MT_PROC_MMAP_TRACED : 0) |
              (mt_opt.reachability ? MT_PROC_REACHABILITY : 0) |
              managed_heaps;
    p.exe_len = (uint32_t)strlen(exe_path);
    p.cmdline_len = (uint32_t)cmdline_len;
    if (!(buf = writer_buf()) || trace_record_begin(buf, MT_REC_PROCESS) < 0)
        return -1;
    trace_record_put(buf, &p, sizeof p);
    trace_record_put(buf, exe_path, p.exe_len);
    trace_record_put(buf, cmdline, p.cmdline_len);
    trace_record_end(buf);
    return 0;
}

/* A new trace file for this process: header, PROCESS, the module map and
 * every site known so far. Called with snapshot_lock held. */
static int start_trace_file(uint32_t process_flags)
{
    traced_pid = getpid();
    if (writer_open(mt_opt.out, traced_pid) < 0)
        return -1;
    snapshot_restart();
    if (write_process_record(process_flags) < 0 || modules_write() < 0 ||
        writer_flush() < 0) {
        writer_close(true);
        return -1;
    }
    return 0;
}

/* The one way a trace ends. `bounded`: called from a fatal signal, which
 * may have interrupted a lock holder; skip what stays locked. */
static void finish_trace(uint32_t reason, int32_t status, bool bounded)
{
    int expected = TRACER_ACTIVE;
    uint64_t survivors;
    int saved_errno = errno;

    if (getpid() != traced_pid)    /* a vfork child shares our memory */
        return;
    /* A signal handler that exits (quick_exit is allowed there) may have
     * interrupted this very thread inside the tracer, holding any of its
     * locks: take none that can wait forever. */
    if (tracer_in_hook)
        bounded = true;
    if (!atomic_compare_exchange_strong(&tracer_state, &expected,
                                        TRACER_FINISHED))
        return;
    tracer_in_hook++;
    if (bounded ? spin_lock_bounded(&snapshot_lock, 1000)
                : (spin_lock(&snapshot_lock), true)) {
        uint64_t t = now_ns();
        int64_t scanned = -1;
        snapshot_write(t, MT_SNAP_FINAL, bounded);
        /* Not from a fatal signal: the scan reads all of memory. */
        if (mt_opt.reachability && !bounded)
            scanned = reachability_write_survivors();
        survivors = scanned >= 0 ? (uint64_t)scanned
                                 : snapshot_write_survivors(bounded);
        snapshot_write_end(t, survivors, reason, status,
                           scanned >= 0 ? MT_END_REACHABILITY_DONE : 0);
        writer_close(false);
        spin_unlock(&snapshot_lock);
    }
    if (!bounded)
        stack_check_report();
    tracer_in_hook--;
    errno = saved_errno;
}

/* quick_exit runs neither exit handlers nor destructors. Registered
 * before main, this runs after the program's own at_quick_exit handlers. */
static void tracer_stop_at_quick_exit(void)
{
    finish_trace(MT_END_EXIT, exit_status_noted(0) & 0xff, false);
}

static void fatal_signal_handler(int signo)
{
    finish_trace(MT_END_SIGNAL, signo, true);
    /* SA_RESETHAND restored the default action; the signal is blocked
     * until we return, then kills the process as it would have. */
    raise(signo);
}

static void install_fatal_handlers(void)
{
    for (size_t i = 0; i < sizeof fatal_signals / sizeof *fatal_signals; i++) {
        struct sigaction old, sa;
        /* A handler the program already has is its business. */
        if (sigaction(fatal_signals[i], NULL, &old) < 0 ||
            (old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL)
            continue;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = fatal_signal_handler;
        sa.sa_flags = SA_RESETHAND | SA_RESTART;
        sigemptyset(&sa.sa_mask);
        sigaction(fatal_signals[i], &sa, NULL);
    }
}

/* Only flags the request: the interrupted thread may hold any lock. The
 * copy is written at the next allocation, on a thread at a safe point. */
static void snapshot_signal_handler(int signo)
{
    (void)signo;
    atomic_store(&snapshot_requested, 1);
    atomic_store_explicit(&snapshot_due_ns, 0, memory_order_relaxed);
}

static void install_snapshot_handler(void)
{
    struct sigaction sa;
    if (!mt_opt.snapshot_signal)
        return;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = snapshot_signal_handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(mt_opt.snapshot_signal, &sa, NULL);
}

/* Every tracer lock, in the one order all paths respect: snapshot, sites,
 * nursery, live-table shards, mmap ranges, then the leaf locks (arena,
 * pending module map) that are taken inside the others. */
static void fork_prepare(void)
{
    if (atomic_load(&tracer_state) != TRACER_ACTIVE)
        return;
    tracer_in_hook++;
    spin_lock(&snapshot_lock);
    spin_lock(&sites_lock);
    spin_lock(&nursery_lock);
    live_lock_all();
    spin_lock(&mmap_ranges_lock);
    spin_lock(&arena_lock);
    spin_lock(&modules_pending_lock);
    fork_locked = true;
}

static void fork_unlock_leaves(void)
{
    spin_unlock(&modules_pending_lock);
    spin_unlock(&arena_lock);
    spin_unlock(&mmap_ranges_lock);
    live_unlock_all();
    spin_unlock(&nursery_lock);
    spin_unlock(&sites_lock);
}

static void fork_parent(void)
{
    if (!fork_locked)
        return;
    fork_locked = false;
    fork_unlock_leaves();
    spin_unlock(&snapshot_lock);
    tracer_in_hook--;
}

static void fork_child(void)
{
    if (!fork_locked)
        return;
    fork_locked = false;
    fork_unlock_leaves();
    allocator_maps_after_fork_child();
    unwind_after_fork_child();
    stack_cache_after_fork_child();
    /* Only the forking thread lives on in the child, and owns the
     * nursery, with whatever blocks it held. */
    tracer_thread_known = true;
    atomic_store(&tracer_threaded, false);
    nursery_busy = 0;
    /* membarrier registration was the parent process's, not ours. */
    if (nursery_possible())
        nursery_adopt();
    /* Threads that were queueing a site at fork time are gone. */
    sites_rebuild_dirty_list();
    /* The descriptor and buffer are the parent's: let go of them. */
    writer_forget();
    tracer_pristine = true;
    if (start_trace_file(MT_PROC_FORKED) < 0)
        atomic_store(&tracer_state, TRACER_OFF);
    spin_unlock(&snapshot_lock);
    tracer_in_hook--;
}

/* Chromium, for one, defines malloc in its executable: no call reaches
 * ours, and an empty trace would say nothing of why. The functions it
 * may leave to us (posix_memalign, calloc) would be recorded, their
 * frees not: a false leak. Untraced, with one line, as when the trace
 * cannot be created. */
static bool malloc_shadowed(void)
{
    const char *other = real_alloc_shadowed_by();
    if (!other)
        return false;
    /* The executable by its file (exe_path): a program that starts its
     * helpers as /proc/self/exe (Chromium) has that for its name. */
    if (!*other)
        other = *exe_path ? exe_path : program_invocation_name;
    mt_log("%s has its own malloc, which the program calls instead of "
           "libmtrace.so's: its heap cannot be traced; running untraced",
           other);
    return true;
}

__attribute__((constructor(101))) static void tracer_start(void)
{
    struct timespec ts;
    ssize_t n;
    int unstarted = TRACER_UNSTARTED;

    /* Once: our allocations while starting, and our constructor after an
     * early start, find it started (off until it is active). */
    if (!atomic_compare_exchange_strong(&tracer_state, &unstarted,
                                        TRACER_OFF))
        return;
    errno_slot_init();
    options_load();
    /* Wrapped functions must keep working when we do not trace. */
    real_execvpe = (int (*)(const char *, char *const[], char *const[]))
        dlsym(RTLD_NEXT, "execvpe");
    real_fexecve = (int (*)(int, char *const[], char *const[]))
        dlsym(RTLD_NEXT, "fexecve");
    real_dlclose = (int (*)(void *))dlsym(RTLD_NEXT, "dlclose");
    thread_create_resolve();
    n = readlink("/proc/self/exe", exe_path, sizeof exe_path - 1);
    exe_path[n > 0 ? n : 0] = '\0';
    /* The loader ignores LD_PRELOAD for setuid programs; if we are loaded
     * there anyway, do nothing. */
    if (mt_opt.disable || getauxval(AT_SECURE) || malloc_shadowed())
        return;
    tracer_in_hook++;
    tracer_thread_known = true;
    /* Loaded into a process that already runs threads (dlopen): their
     * updates must be atomic from the start. */
    if (procfs_thread_count() != 1)
        atomic_store(&tracer_threaded, true);
    else if (nursery_possible())
        nursery_adopt();
    tracer_origin_ns = clock_coarse_ns();
    clock_tracer_choose((uint64_t)mt_opt.interval_ms * 1000000u);
    clock_gettime(CLOCK_REALTIME, &ts);
    start_realtime_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    stack_init();
    stack_cache_init();
    modules_init(exe_path);
    managed_heaps = managed_heaps_flags();
    spin_lock(&snapshot_lock);
    if (start_trace_file(0) == 0) {
        pthread_atfork(fork_prepare, fork_parent, fork_child);
        at_quick_exit(tracer_stop_at_quick_exit);
        install_fatal_handlers();
        install_snapshot_handler();
        atomic_store(&snapshot_due_ns, (uint64_t)mt_opt.interval_ms * 1000000u);
        atomic_store(&tracer_state, TRACER_ACTIVE);
    }
    spin_unlock(&snapshot_lock);
    tracer_in_hook--;
}

/* The C library sets environ in its own constructor, the first to run:
 * before that, ld.so may allocate (its TLS), and the environment that
 * holds our options cannot be read. */
__attribute__((noinline, cold)) bool tracer_start_early(void)
{
    if (tracer_in_hook || !environ)
        return false;
    tracer_start();
    return atomic_load(&tracer_state) == TRACER_ACTIVE && !tracer_in_hook;
}

void lifecycle_end_at_exit(void)
{
    /* The status as the parent sees it: exit(-1) ends with 255. */
    finish_trace(MT_END_EXIT, exit_status_noted(0) & 0xff, false);
}

/* ld.so finalizes a preloaded library after the objects that depend on
 * it, but before those that do not: their destructors' frees would come
 * after the end. So the end waits for our exit handler, which runs after
 * all of them (exit_status.h), unless the program started without it
 * (the tracer loaded by dlopen). */
__attribute__((destructor)) static void tracer_stop(void)
{
    if (!exit_status_ends_last())
        lifecycle_end_at_exit();
}

EXPORT void _exit(int status)
{
    finish_trace(MT_END_UNDERSCORE_EXIT, status & 0xff, false);
    for (;;)
        syscall(SYS_exit_group, status);
}

EXPORT void _Exit(int status) __attribute__((alias("_exit")));

/* Exec: end this trace as if the process exited (its memory is gone), but
 * be ready to take it back if exec fails. */
struct exec_undo {
    bool armed;
    bool removed;
    uint64_t mark;
};

static void exec_prepare(struct exec_undo *undo)
{
    uint64_t t;
    memset(undo, 0, sizeof *undo);
    if (atomic_load(&tracer_state) != TRACER_ACTIVE || getpid() != traced_pid)
        return;
    tracer_in_hook++;
    spin_lock(&snapshot_lock);
    t = now_ns();
    snapshot_write(t, 0, false);
    undo->armed = true;
    if (tracer_pristine) {
        /* Fork-then-exec: the new program takes over the name. */
        writer_close(true);
        undo->removed = true;
    } else {
        undo->mark = writer_mark();
        snapshot_write_end(t, snapshot_write_survivors(false), MT_END_EXEC,
                           0, 0);
    }
    /* snapshot_lock stays held until exec fails: no snapshot may land
     * after END. */
}

static void exec_failed(struct exec_undo *undo)
{
    int saved_errno = errno;
    if (!undo->armed)
        return;
    if (undo->removed) {
        if (start_trace_file(0) < 0)
            atomic_store(&tracer_state, TRACER_OFF);
    } else {
        writer_truncate(undo->mark);
    }
    spin_unlock(&snapshot_lock);
    tracer_in_hook--;
    errno = saved_errno;
}

EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    struct exec_undo undo;
    int rc;
    exec_prepare(&undo);
    rc = (int)syscall(SYS_execve, path, argv, envp);
    exec_failed(&undo);
    return rc;
}

EXPORT int execv(const char *path, char *const argv[])
{
    return execve(path, argv, environ);
}

EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    struct exec_undo undo;
    int rc;
    if (!real_execvpe) {
        errno = ENOSYS;
        return -1;
    }
    exec_prepare(&undo);
    rc = real_execvpe(file, argv, envp);
    exec_failed(&undo);
    return rc;
}

/* Unloaded code may be followed by other code at the same addresses: the
 * sites seen so far go out with the map they belong to, and the
 * unwinder's rules for the old code must go if it was unloaded. (Unloads
 * inside glibc, which do not come through here, are caught at the next
 * snapshot.) */
static bool resolve_dlclose(void)
{
    int saved_errno = errno;
    /* Another library's constructor may run before ours. */
    if (!real_dlclose) {
        real_dlclose = (int (*)(void *))dlsym(RTLD_NEXT, "dlclose");
        errno = saved_errno;
    }
    return real_dlclose != NULL;
}

int lifecycle_dlclose_untracked(void *handle)
{
    return resolve_dlclose() ? real_dlclose(handle) : -1;
}

EXPORT int dlclose(void *handle)
{
    int rc, saved_errno = errno;
    if (!resolve_dlclose()) {
        errno = ENOSYS;
        return -1;
    }
    if (tracer_should_record()) {
        tracer_in_hook++;
        snapshot_before_unload(now_ns());
        tracer_in_hook--;
        errno = saved_errno;
    }
    rc = real_dlclose(handle);
    saved_errno = errno;
    modules_after_dlclose();
    cxx_new_forget_callers();
    errno = saved_errno;
    return rc;
}

EXPORT int execvp(const char *file, char *const argv[])
{
    /* What glibc's execvp is, too. */
    return execvpe(file, argv, environ);
}

EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
    struct exec_undo undo;
    int rc;
    if (!real_fexecve) {
        errno = ENOSYS;
        return -1;
    }
    exec_prepare(&undo);
    rc = real_fexecve(fd, argv, envp);
    exec_failed(&undo);
    return rc;
}

/* The execl family: collect the variadic arguments into an argv on the
 * stack (no malloc: we may be in a child that must not allocate). */
#define EXECL_MAX_ARGS 4096

/* Fills argv from `first` and the variadic list up to its NULL; returns
 * the va_list position after the NULL (execle's envp follows it). */
#define COLLECT_ARGS(ap, first, argv)                                     \
    do {                                                                  \
        size_t argc = 0;                                                  \
        argv[argc++] = (char *)first;                                     \
        while (argc < EXECL_MAX_ARGS &&                                   \
               (argv[argc] = va_arg(ap, char *)) != NULL)                 \
            argc++;                                                       \
        argv[argc] = NULL;                                                \
    } while (0)

EXPORT int execl(const char *path, const char *arg, ...)
{
    char *argv[EXECL_MAX_ARGS + 1];
    va_list ap;
    va_start(ap, arg);
    COLLECT_ARGS(ap, arg, argv);
    va_end(ap);
    return execve(path, argv, environ);
}

EXPORT int execlp(const char *file, const char *arg, ...)
{
    char *argv[EXECL_MAX_ARGS + 1];
    va_list ap;
    va_start(ap, arg);
    COLLECT_ARGS(ap, arg, argv);
    va_end(ap);
    return execvp(file, argv);
}

EXPORT int execle(const char *path, const char *arg, ...)
{
    char *argv[EXECL_MAX_ARGS + 1];
    char **envp;
    va_list ap;
    va_start(ap, arg);
    COLLECT_ARGS(ap, arg, argv);
    envp = va_arg(ap, char **);
    va_end(ap);
    return execve(path, argv, envp);
}
