/*
 * report.h - the report writers of mtrace-analyze and what they share.
 * Each writes one report of an analysed trace to `out` and returns 0, or
 * -1 when writing failed (errno says why).
 */
#ifndef MTRACE_REPORT_H
#define MTRACE_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "analysis.h"
#include "buckets.h"

enum report_cost {
    REPORT_COST_LIVE,       /* live bytes at the end */
    REPORT_COST_ALLOCS,     /* allocation calls */
    REPORT_COST_BYTES,      /* bytes allocated over the run */
    REPORT_COST_PEAK,       /* the site's peak live bytes */
};

struct report_options {
    struct bucket_thresholds thresholds;
    size_t top;             /* text: sites shown */
    uint64_t min_bytes;     /* text: sites with fewer live bytes hidden */
    enum report_cost cost;  /* collapsed, html's flame graph */
};

int report_text(FILE *out, struct analysis *a, const struct report_options *o);
int report_json(FILE *out, struct analysis *a, const struct report_options *o);
int report_collapsed(FILE *out, struct analysis *a,
                     const struct report_options *o);
int report_html(FILE *out, struct analysis *a, const struct report_options *o);

/* A site's value under --cost. */
uint64_t report_site_cost(const struct model_site *s, enum report_cost cost);
/* A frame's name in a flame graph: its function, else module+0xoffset (as
 * addr2line takes it) or its address, written into buf. */
#define REPORT_FRAME_LABEL_MAX 320
const char *report_frame_label(const struct sym_frame *f,
                               char buf[REPORT_FRAME_LABEL_MAX]);

/* Why a Python program's objects are missing (runtimes.h), and how to
 * see them; text, HTML-safe. */
#define REPORT_OBJECT_POOLS_NOTE                                             \
    "Python kept its objects in pools of its own (pymalloc: those of up "   \
    "to 512 bytes; mimalloc: all), seen only as the arenas they come "      \
    "from with MTRACE_MMAP=1, never one by one; what Python and C code "    \
    "ask of malloc directly is here. Record again with "                    \
    "PYTHONMALLOC=malloc to see every object."
/* The same for JavaScript's objects, unless MTRACE_MMAP counted V8's
 * pages. */
#define REPORT_JS_HEAP_NOTE                                                  \
    "Node.js keeps JavaScript's objects in V8's heap, in pages it maps "    \
    "itself: they are not in this report, only what V8 and Node.js ask "   \
    "of malloc (Buffers' memory among it). Record again with "             \
    "MTRACE_MMAP=1 to count V8's pages at the sites that commit them."
/* Whether the report carries REPORT_JS_HEAP_NOTE. */
#define REPORT_JS_HEAP_UNSEEN(a)                                             \
    ((a)->heaps.js_heap &&                                                   \
     !((a)->model->process.flags & MT_PROC_MMAP_TRACED))

/* "exit", "_exit", "signal", "exec", or NULL when unknown. */
const char *report_end_reason(uint32_t reason);

#endif
