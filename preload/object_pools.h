/*
 * object_pools.h - whether the program serves small objects from pools of
 * its own, carved out of memory it maps itself, so that the tracer sees
 * the pools at most (with MTRACE_MMAP=1), never the objects. CPython does
 * (pymalloc: every object of up to 512 bytes) unless PYTHONMALLOC says
 * malloc; the trace says so, and the report tells how to see them.
 */
#ifndef MTRACE_OBJECT_POOLS_H
#define MTRACE_OBJECT_POOLS_H

#include <stdbool.h>

/* Whether CPython, its PYTHONMALLOC set to `pythonmalloc` (NULL: unset),
 * keeps its object pools. */
bool object_pools_chosen(const char *pythonmalloc);

/* Whether the program, executable exe_path, is CPython (the interpreter,
 * or a program linked with libpython) and keeps its pools. Reads the
 * environment and the loaded modules: call it at start, not from a fork
 * handler. */
bool object_pools_in_use(const char *exe_path);

#endif
