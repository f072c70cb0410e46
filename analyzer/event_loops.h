/*
 * event_loops.h - recognizes, in a stack's function names, the event loops
 * and timer dispatchers that run periodic callbacks (libuv, Node.js, GLib,
 * libevent, Python's asyncio and time.sleep loops): where a growing site is
 * called from one, the likely culprit is an interval that appends to a
 * structure and never trims it.
 */
#ifndef MTRACE_EVENT_LOOPS_H
#define MTRACE_EVENT_LOOPS_H

#include <stdbool.h>
#include <stddef.h>

struct event_loop_hint {
    const char *framework;  /* "libuv", "GLib", ... (static string) */
    const char *function;   /* the frame's name, borrowed from the input */
    bool timer;             /* a timer dispatcher, not just the loop */
};

/* Looks through the names (innermost first, NULL entries allowed); a timer
 * dispatcher anywhere wins over a plain event loop. */
bool event_loop_find(const char *const *functions, size_t n,
                     struct event_loop_hint *hint);

#endif
