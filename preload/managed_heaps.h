/*
 * managed_heaps.h - what only the traced process can tell of the runtimes
 * that keep objects in heaps of their own (the analyzer's runtimes.h
 * tells the runtimes by name): whether the environment asks CPython to
 * send its objects to malloc (PYTHONMALLOC), not to its pools.
 */
#ifndef MTRACE_MANAGED_HEAPS_H
#define MTRACE_MANAGED_HEAPS_H

#include <stdbool.h>
#include <stdint.h>

/* Whether PYTHONMALLOC set to `pythonmalloc` (NULL: unset) sends CPython's
 * objects to malloc. */
bool managed_heaps_malloc_chosen(const char *pythonmalloc);

/* The PROCESS record's flags from the environment now
 * (MT_PROC_PYTHONMALLOC_MALLOC). */
uint32_t managed_heaps_flags(void);

#endif
