/*
 * stacks.h - the symbolized stacks of call sites, resolved lazily (only
 * for the sites a report shows) with one symbolizer per module map
 * generation. Inlined frames are expanded; the leading frames inside
 * libmtrace or the C library's allocator entry points are dropped, so that
 * frame 0 is the code that asked for memory.
 */
#ifndef MTRACE_STACKS_H
#define MTRACE_STACKS_H

#include <stdio.h>

#include "model.h"
#include "symbols.h"

struct site_stack {
    struct sym_frame *frames;       /* innermost first */
    size_t nframes;
    const char **functions;         /* frames[i].function, for verdicts */
};

struct stacks;

/* Symbolizer warnings (missing or changed modules) go to `warn`. */
struct stacks *stacks_new(const struct model *m, FILE *warn);
const struct site_stack *stacks_get(struct stacks *st,
                                    const struct model_site *site);
void stacks_free(struct stacks *st);

/* Whether a frame is the tracer or an allocator entry point of libc. */
bool stacks_frame_is_allocator(const struct sym_frame *frame);

/* The last path component, or the whole string. */
const char *stacks_basename(const char *path);

#endif
