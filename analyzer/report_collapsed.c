/* report_collapsed.c - collapsed stacks for flame graph tools
 * (flamegraph.pl, speedscope, inferno): one line per site,
 * `outermost;...;innermost value`. */
#include "report.h"

#include <errno.h>

#include "stacks.h"

static uint64_t site_cost(const struct model_site *s, enum report_cost cost)
{
    switch (cost) {
    case REPORT_COST_LIVE: return s->end.live_bytes;
    case REPORT_COST_ALLOCS: return s->counters.allocs;
    case REPORT_COST_BYTES: return s->counters.bytes_allocated;
    case REPORT_COST_PEAK: return s->counters.peak_live_bytes;
    }
    return 0;
}

/* ';' separates frames and a newline ends a line: neither may appear in a
 * frame's name. Spaces may (the value follows the last one). */
static void write_name(FILE *out, const char *name)
{
    for (const char *p = name; *p; p++)
        putc(*p == ';' ? ':' : (*p == '\n' || *p == '\r') ? ' ' : *p, out);
}

static void write_frame(FILE *out, const struct sym_frame *f)
{
    if (f->function)
        write_name(out, f->function);
    else if (f->module) {
        write_name(out, stacks_basename(f->module));
        fprintf(out, "+0x%llx", (unsigned long long)f->module_offset);
    } else
        fprintf(out, "0x%llx", (unsigned long long)f->address);
}

int report_collapsed(FILE *out, struct analysis *a,
                     const struct report_options *o)
{
    const struct model *m = a->model;

    for (size_t i = 0; i < m->nsites; i++) {
        const struct model_site *s = m->sites[i];
        uint64_t cost = site_cost(s, o->cost);
        const struct site_stack *stack;

        if (cost == 0)
            continue;
        stack = stacks_get(a->stacks, s);
        if (stack->nframes == 0)
            fputs("[unknown]", out);
        for (size_t j = stack->nframes; j-- > 0;) {
            write_frame(out, &stack->frames[j]);
            if (j)
                putc(';', out);
        }
        fprintf(out, " %llu\n", (unsigned long long)cost);
    }
    if (ferror(out)) {
        if (!errno)
            errno = EIO;
        return -1;
    }
    return 0;
}
