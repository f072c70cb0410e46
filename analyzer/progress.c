/* progress.c - see progress.h. */
#include "progress.h"

#include <time.h>
#include <unistd.h>

#include "units.h"

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void progress_start(struct progress *p, FILE *out, const char *path,
                    uint64_t total_bytes)
{
    p->out = out && total_bytes >= PROGRESS_MIN_BYTES &&
                     isatty(fileno(out)) ? out : NULL;
    p->path = path;
    p->total = total_bytes;
    p->next_check = total_bytes / 200;
    p->last_draw_ns = 0;
    p->drawn = false;
}

void progress_update(struct progress *p, uint64_t done_bytes)
{
    char done[UNITS_BUF], total[UNITS_BUF];
    uint64_t now;

    if (!p->out || done_bytes < p->next_check)
        return;
    p->next_check = done_bytes + p->total / 200;
    now = monotonic_ns();
    if (p->drawn && now - p->last_draw_ns < 100000000u)
        return;
    p->last_draw_ns = now;
    p->drawn = true;
    fprintf(p->out, "\rmtrace-analyze: reading %s: %3u%% (%s of %s)\033[K",
            p->path, (unsigned)(done_bytes * 100 / p->total),
            units_format_size(done_bytes, done),
            units_format_size(p->total, total));
    fflush(p->out);
}

void progress_finish(struct progress *p)
{
    if (p->out && p->drawn) {
        fputs("\r\033[K", p->out);
        fflush(p->out);
    }
    p->drawn = false;
}
