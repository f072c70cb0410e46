/*
 * managed_heaps.h - whether the program is a runtime that keeps its
 * objects in memory it maps itself, where the tracer sees pages at most
 * (with MTRACE_MMAP=1), never the objects: CPython serves every object of
 * up to 512 bytes from pools of its own (pymalloc) unless PYTHONMALLOC
 * says malloc; Node.js keeps JavaScript's objects in V8's heap. The trace
 * says so (MT_PROC_OBJECT_POOLS, MT_PROC_JS_HEAP), and the report tells
 * how to see them.
 */
#ifndef MTRACE_MANAGED_HEAPS_H
#define MTRACE_MANAGED_HEAPS_H

#include <stdbool.h>
#include <stdint.h>

/* Whether CPython, its PYTHONMALLOC set to `pythonmalloc` (NULL: unset),
 * keeps its object pools. */
bool managed_heaps_pools_chosen(const char *pythonmalloc);

/* The MT_PROC_* flags of the program whose executable is exe_path: by
 * the names of the executable and of the libraries loaded (libpython,
 * libnode), and the environment. Call it at start, not from a fork
 * handler. */
uint32_t managed_heaps_flags(const char *exe_path);

#endif
