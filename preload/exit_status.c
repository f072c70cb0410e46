/* exit_status.c - see exit_status.h. */
#include "exit_status.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <stdlib.h>

#include "lifecycle.h"
#include "tracer.h"


/* The C library's, declared by no header. */
extern int __cxa_atexit(void (*fn)(void *), void *arg, void *dso_handle);

typedef int (*main_fn)(int, char **, char **);
typedef int (*start_main_fn)(main_fn, int, char **, void (*)(void),
                             void (*)(void), void (*)(void), void *);

static volatile int32_t noted_status;
static volatile bool status_was_noted;
/* Looked up before main: quick_exit may be called from a signal handler,
 * where dlsym (the loader's lock) is not safe. */
static void (*real_quick_exit)(int);

static volatile bool ends_last;

static void note_exit_status(int status, void *arg)
{
    (void)arg;
    noted_status = status;
    status_was_noted = true;
}

static void end_after_destructors(void *arg)
{
    (void)arg;
    lifecycle_end_at_exit();
}

bool exit_status_ends_last(void)
{
    return ends_last;
}

int32_t exit_status_noted(int32_t otherwise)
{
    return status_was_noted ? noted_status : otherwise;
}

/* Exit handlers run in the reverse order of their registration, and the C
 * library's own start registers the loader's finalizer (rtld_fini) first:
 * ours must come after it. So we register the finalizer ourselves, then
 * our handler, and hand the real start no finalizer to register again.
 * Before the finalizer goes the end of the trace, which then runs after
 * every destructor, those of libraries finalized after ours included.
 * The call to it is a tail call: no frame of ours under main. Untraced
 * (MTRACE_DISABLE, an output that could not be created), nothing of this
 * is done. */
EXPORT int __libc_start_main(main_fn main, int argc, char **argv,
                             void (*init)(void), void (*fini)(void),
                             void (*rtld_fini)(void), void *stack_end)
{
    start_main_fn real = (start_main_fn)dlsym(RTLD_NEXT, "__libc_start_main");
    if (!real)
        abort();   /* no C library to start the program: nothing to do */
    if (atomic_load_explicit(&tracer_state, memory_order_relaxed) ==
        TRACER_ACTIVE) {
        real_quick_exit = (void (*)(int))dlsym(RTLD_NEXT, "quick_exit");
        ends_last = __cxa_atexit(end_after_destructors, NULL, NULL) == 0;
        if (rtld_fini &&
            __cxa_atexit((void (*)(void *))(void (*)(void))rtld_fini, NULL,
                         NULL) == 0)
            rtld_fini = NULL;
        on_exit(note_exit_status, NULL);
    }
    return real(main, argc, argv, init, fini, rtld_fini, stack_end);
}

/* quick_exit runs no exit handler and no destructor: our at_quick_exit
 * handler ends the trace (lifecycle.c), with the status noted here. */
EXPORT void quick_exit(int status)
{
    void (*real)(int) = real_quick_exit;
    note_exit_status(status, NULL);
    if (!real)   /* started without our __libc_start_main (dlopen) */
        real = (void (*)(int))dlsym(RTLD_NEXT, "quick_exit");
    if (real)
        real(status);
    _Exit(status);
}
