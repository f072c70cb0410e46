/*
 * exit_status.h - the status a process passes to exit() or quick_exit(),
 * for the end of its trace. Our destructor runs inside exit() but is not
 * told the status; an on_exit() handler is. Registered before main by our
 * __libc_start_main, after the loader's finalizer (which runs the
 * destructors), it runs before them: a return from main, an exit() from
 * anywhere, even one from inside the C library (err(), error()), is seen.
 */
#ifndef MTRACE_EXIT_STATUS_H
#define MTRACE_EXIT_STATUS_H

#include <stdbool.h>
#include <stdint.h>

/* The status noted; `otherwise` when none was (an exit before main). */
int32_t exit_status_noted(int32_t otherwise);

/* Whether an exit ends the trace after the loader's finalizer, so after
 * every library's destructor: our own destructor then leaves it to that.
 * The end itself is lifecycle.c's. */
bool exit_status_ends_last(void);

#endif
