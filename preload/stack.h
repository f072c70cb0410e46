/*
 * stack.h - the return addresses of the current call, with the tracer's
 * own frames cut off so that frames[0] is the caller of the allocator.
 */
#ifndef MTRACE_STACK_H
#define MTRACE_STACK_H

#include <stddef.h>
#include <stdint.h>

/* Once, before the first capture: learns where libmtrace.so's code is and
 * turns on libunwind's per-thread cache. */
void stack_init(void);

/* Writes up to `depth` frames; returns how many. */
size_t stack_capture(uintptr_t *frames, size_t depth);

#endif
