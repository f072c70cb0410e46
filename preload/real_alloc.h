/*
 * real_alloc.h - the allocator our entry points hand each call to: the
 * next definition of malloc after libmtrace.so in the program's lookup
 * order. That is glibc's in most programs, but jemalloc's or tcmalloc's in
 * one linked with them, which must keep getting its own: handed glibc's
 * blocks, a program linked with jemalloc died in its first
 * malloc_usable_size (jemalloc's, as we do not interpose it).
 *
 * Resolved at the first call of any entry point, by dlsym(RTLD_NEXT),
 * which on glibc 2.34 and later allocates nothing when it succeeds; a
 * call nested in it (an older glibc's dlerror buffer) goes to glibc's.
 * valloc and pvalloc, which some allocators lack, are taken only from the
 * object that gave malloc, else made from its memalign; memalign itself
 * is taken wherever dlsym finds it (every allocator known defines it).
 */
#ifndef MTRACE_REAL_ALLOC_H
#define MTRACE_REAL_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct real_alloc {
    void *(*malloc)(size_t size);
    void (*free)(void *ptr);
    void *(*calloc)(size_t n, size_t size);
    void *(*realloc)(void *ptr, size_t size);
    void *(*memalign)(size_t align, size_t size);
    void *(*valloc)(size_t size);
    void *(*pvalloc)(size_t size);
};

/* Each starts as a resolving_* function of real_alloc.c, which looks up
 * all seven, puts them here and calls the real one: later calls find the
 * real one directly, with no test on their way. Read them with
 * REAL_ALLOC(fn). */
extern struct real_alloc real_alloc;

/* A plain load on x86-64; atomic, as the first call may race another
 * thread's (both resolve to the same functions). */
#define REAL_ALLOC(fn) __atomic_load_n(&real_alloc.fn, __ATOMIC_RELAXED)

/* Whether code at addr belongs to the program's allocator when that is
 * not glibc's: jemalloc and tcmalloc map their memory through mmap's PLT
 * entry (glibc's malloc calls the kernel directly), and MTRACE_MMAP must
 * not count those mappings again, as blocks around the blocks in them. */
bool real_alloc_owns_code(uintptr_t addr);

/* Resolves now if no call has yet (real_alloc_owns_code needs it). */
void real_alloc_resolve(void);

/* The object whose malloc the program's calls reach instead of ours (its
 * executable, which comes first in the lookup order, may define one):
 * its path ("" for the executable), or NULL when they reach ours. */
const char *real_alloc_shadowed_by(void);

#endif
