/* event_loops.c - see event_loops.h. */
#include "event_loops.h"

#include <string.h>

struct loop_signature {
    const char *name_part;  /* matched as a substring of a function name */
    const char *framework;
    bool timer;
};

/* Timer dispatchers first: they say more than the loop that calls them. */
static const struct loop_signature signatures[] = {
    { "uv__run_timers", "libuv", true },
    { "Environment::RunTimers", "Node.js", true },
    { "g_timeout_dispatch", "GLib", true },
    { "event_process_active", "libevent", false },
    { "event_base_loop", "libevent", false },
    { "g_main_context_dispatch", "GLib", false },
    { "g_main_loop_run", "GLib", false },
    { "uv_run", "libuv", false },
    { "node::", "Node.js", false },
    { "v8::", "Node.js (V8)", false },
};

/* Python shows natively as the interpreter's frame evaluator; only with one
 * of these beside it is the Python code a loop that sleeps or awaits. */
static const char *const python_loop_parts[] = {
    "time_sleep", "_asyncio", "asyncio", "task_step", "select_select",
    "select_poll", "select_epoll",
};
static const char python_eval[] = "_PyEval_EvalFrameDefault";

static const char *find_part(const char *const *functions, size_t n,
                             const char *part)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (functions[i] && strstr(functions[i], part))
            return functions[i];
    return NULL;
}

bool event_loop_find(const char *const *functions, size_t n,
                     struct event_loop_hint *hint)
{
    size_t i;
    const char *found;

    for (i = 0; i < sizeof signatures / sizeof signatures[0]; i++) {
        found = find_part(functions, n, signatures[i].name_part);
        if (found) {
            hint->framework = signatures[i].framework;
            hint->function = found;
            hint->timer = signatures[i].timer;
            return true;
        }
    }
    if (!find_part(functions, n, python_eval))
        return false;
    for (i = 0; i < sizeof python_loop_parts / sizeof python_loop_parts[0];
         i++) {
        found = find_part(functions, n, python_loop_parts[i]);
        if (found) {
            hint->framework = strcmp(python_loop_parts[i], "time_sleep") == 0
                                  ? "Python time.sleep loop"
                                  : "Python asyncio";
            hint->function = found;
            hint->timer = false;
            return true;
        }
    }
    return false;
}
