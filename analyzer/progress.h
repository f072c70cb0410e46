/*
 * progress.h - a progress line on stderr while mtrace-analyze reads a big
 * trace ("reading x.trace: 45% (120.0 MiB of 260.0 MiB)"), redrawn in
 * place at most ten times a second, and only when stderr is a terminal:
 * a log file or a pipe gets nothing.
 */
#ifndef MTRACE_PROGRESS_H
#define MTRACE_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Traces smaller than this read too fast to need a progress line. */
#define PROGRESS_MIN_BYTES (32u << 20)

struct progress {
    FILE *out;                  /* NULL: silent */
    const char *path;
    uint64_t total, next_check;
    uint64_t last_draw_ns;
    bool drawn;
};

void progress_start(struct progress *p, FILE *out, const char *path,
                    uint64_t total_bytes);
/* Cheap enough to call per record: it looks at the clock only after every
 * further 1/200 of the file. */
void progress_update(struct progress *p, uint64_t done_bytes);
/* Erases the line. */
void progress_finish(struct progress *p);

#endif
