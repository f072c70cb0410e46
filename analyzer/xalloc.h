/*
 * xalloc.h - allocation for the analyzer, a command-line tool: running out
 * of memory ends it with one line on stderr and exit status 2, so callers
 * never see NULL.
 */
#ifndef MTRACE_XALLOC_H
#define MTRACE_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
/* Also checks n * size for overflow. */
void *xreallocarray(void *ptr, size_t n, size_t size);
char *xstrndup(const char *s, size_t n);

/* Grows *array (of *cap elements of `size` bytes) to hold at least `need`,
 * doubling, so that appending is amortized O(1). */
void xgrow(void **array, size_t *cap, size_t need, size_t size);

#endif
