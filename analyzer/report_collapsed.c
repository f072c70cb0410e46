/* report_collapsed.c - collapsed stacks for flame graph tools
 * (flamegraph.pl, speedscope, inferno): one line per site,
 * `outermost;...;innermost value`. */
#include "report.h"

#include <errno.h>

#include "stacks.h"

/* ';' separates frames and a newline ends a line: neither may appear in a
 * frame's name. Spaces may (the value follows the last one). */
static void write_name(FILE *out, const char *name)
{
    for (const char *p = name; *p; p++)
        putc(*p == ';' ? ':' : (*p == '\n' || *p == '\r') ? ' ' : *p, out);
}

static void write_frame(FILE *out, const struct sym_frame *f)
{
    char label[REPORT_FRAME_LABEL_MAX];

    write_name(out, report_frame_label(f, label));
}

int report_collapsed(FILE *out, struct analysis *a,
                     const struct report_options *o)
{
    const struct model *m = a->model;

    for (size_t i = 0; i < m->nsites; i++) {
        const struct model_site *s = m->sites[i];
        uint64_t cost = report_site_cost(s, o->cost);
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
