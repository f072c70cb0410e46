/*
 * runtimes.h - whether the traced program ran a managed runtime that keeps
 * its objects in memory it maps itself, where the tracer sees pages at
 * most (with MTRACE_MMAP=1), never the objects: CPython serves objects
 * from pools of its own (pymalloc: those of up to 512 bytes) unless
 * PYTHONMALLOC says malloc; Node.js keeps JavaScript's objects in V8's
 * heap. Told by the names of the executable and of every library the
 * trace saw loaded (an interpreter dlopen()ed late, as PyInstaller's
 * bootloader and uwsgi do, counts), the command line, and what the tracer
 * recorded of PYTHONMALLOC (MT_PROC_PYTHONMALLOC_MALLOC).
 */
#ifndef MTRACE_RUNTIMES_H
#define MTRACE_RUNTIMES_H

#include <stdbool.h>
#include <stddef.h>

#include "model.h"

struct runtime_heaps {
    bool object_pools;     /* CPython kept its pools */
    bool js_heap;          /* Node.js */
};

void runtimes_detect(const struct model *m, struct runtime_heaps *out);

/* The pieces, for the tests. */
/* Whether a file name (no directory) is a CPython executable's (python,
 * python3, python3.11, python3.11d, python2.7) or library's (libpython*);
 * *v2 says Python 2, which has no PYTHONMALLOC. */
bool runtimes_python_name(const char *name, bool *v2);
/* Whether it is Node.js's executable (node, nodejs, node20, node-20) or
 * library (libnode.so*). */
bool runtimes_node_name(const char *name);
/* Whether a CPython command line (arguments separated by NULs, then a
 * NUL at cmdline[len] as the model keeps it; the last argument may lack
 * its own) makes it ignore the environment: -E or -I before the script,
 * -c or -m. */
bool runtimes_python_ignores_env(const char *cmdline, size_t len);

#endif
