/*
 * analysis.h - turns a loaded model into judged sites: a verdict for every
 * site (verdicts.h), suppressions applied, sites that grow together linked,
 * and the list of sites a report shows, in report order.
 */
#ifndef MTRACE_ANALYSIS_H
#define MTRACE_ANALYSIS_H

#include <stdbool.h>
#include <stddef.h>

#include "model.h"
#include "runtimes.h"
#include "stacks.h"
#include "suppressions.h"
#include "verdicts.h"

struct site_result {
    const struct model_site *site;
    struct verdict verdict;
    const char *suppressed_by;      /* the matching pattern, or NULL */
};

struct analysis {
    const struct model *model;
    struct stacks *stacks;
    struct site_result *results;    /* per model.sites index */
    /* Every site with live blocks at the end or a verdict that is not ok,
     * by live bytes (largest first), then peak (largest first), then id. */
    struct site_result **reported;
    size_t nreported;
    size_t nleak, nsuspect, nsuppressed;
    struct runtime_heaps heaps;     /* runtimes whose objects go unseen */
};

/* `sup` may be NULL. Symbolizes only the sites it must (through st). */
void analysis_run(struct analysis *a, const struct model *m,
                  struct stacks *st, const struct suppressions *sup);
void analysis_free(struct analysis *a);

/* Adds a reason if the verdict has room for one more. */
void analysis_add_reason(struct verdict *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
