/* analysis.c - see analysis.h. */
#include "analysis.h"

#include "units.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

void analysis_add_reason(struct verdict *v, const char *fmt, ...)
{
    va_list ap;

    if (v->nreasons >= VERDICT_MAX_REASONS)
        return;
    va_start(ap, fmt);
    vsnprintf(v->reasons[v->nreasons], VERDICT_REASON_LEN, fmt, ap);
    va_end(ap);
    v->nreasons++;
}

static void judge(const struct model *m, const struct model_site *site,
                  const struct site_stack *stack, struct verdict *out)
{
    const struct model_site_end *end = &site->end;
    struct verdict_input in;

    memset(&in, 0, sizeof in);
    in.timeline = site->timeline;
    in.npoints = site->npoints;
    in.run_end_ns = m->end_ns;
    in.interval_ns = (uint64_t)m->process.interval_ms * 1000000u;
    in.truncated = m->truncated;
    in.allocs = site->counters.allocs;
    in.frees = site->counters.frees;
    in.peak_live_bytes = site->counters.peak_live_bytes;
    in.live_bytes_end = end->live_bytes;
    in.live_blocks_end = end->live_blocks;
    in.survivor_births = end->births;
    in.nbirths = end->nbirths;
    in.survivors_total = end->survivors_seen;
    in.reachability = m->reachability;
    in.unreachable_blocks = end->unreachable_blocks;
    in.unreachable_bytes = end->unreachable_bytes;
    if (stack) {
        in.functions = stack->functions;
        in.nfunctions = stack->nframes;
    }
    in.program_peak_live_bytes = m->last_snapshot.peak_live_bytes;
    memset(out, 0, sizeof *out);
    verdict_judge(&in, out);
}

static void suppress(struct site_result *r, const struct site_stack *stack,
                     const struct suppressions *sup)
{
    const char *pattern = suppressions_match(sup, stack->frames,
                                             stack->nframes);
    if (!pattern)
        return;
    r->suppressed_by = pattern;
    r->verdict.kind = VERDICT_OK;
    r->verdict.nreasons = 0;
    analysis_add_reason(&r->verdict, "suppressed by leak:%s", pattern);
}

/* Every stack shares these with every other: they link nothing. */
static bool is_process_entry(const char *function)
{
    static const char *const entries[] = {
        "main", "__libc_start_call_main", "_start", "start_thread", "clone",
        "clone3", "__clone", "__clone3",
    };
    /* Versioned as "__libc_start_main@@GLIBC_2.34" by some symbol tables. */
    if (strncmp(function, "__libc_start_main", 17) == 0)
        return true;
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++)
        if (strcmp(function, entries[i]) == 0)
            return true;
    return false;
}

/* The innermost function on both stacks, the allocating frame of at most
 * one of them: a tick that allocates a buffer and calls the push that
 * grows the array holding it is frames[0] of one site and frames[1] of the
 * other. Two sites that merely allocate in the same function (frames[0] of
 * both) are not linked by that alone. Stacks are a few dozen frames and
 * only non-ok sites are paired, so the quadratic scan stays cheap. */
static const char *shared_function(const struct site_stack *a,
                                   const struct site_stack *b)
{
    for (size_t i = 0; i < a->nframes; i++) {
        const char *f = a->functions[i];
        if (!f || is_process_entry(f))
            continue;
        for (size_t j = i == 0 ? 1 : 0; j < b->nframes; j++)
            if (b->functions[j] && strcmp(f, b->functions[j]) == 0)
                return f;
    }
    return NULL;
}

static const char *first_function(const struct site_stack *s)
{
    return s->nframes && s->functions[0] ? s->functions[0] : "??";
}

/* Links each leak with the other non-ok sites that allocate within the
 * same function: several structures that grow on the same tick are usually
 * one bug. */
static void link_growing_sites(struct analysis *a)
{
    for (size_t i = 0; i < a->nreported; i++) {
        struct site_result *leak = a->reported[i];
        const struct site_stack *ls;

        if (leak->verdict.kind != VERDICT_LEAK)
            continue;
        ls = stacks_get(a->stacks, leak->site);
        for (size_t j = 0; j < a->nreported; j++) {
            struct site_result *other = a->reported[j];
            const struct site_stack *os;
            const char *shared;

            if (leak->verdict.nreasons >= VERDICT_MAX_REASONS)
                break;
            if (other == leak || other->verdict.kind == VERDICT_OK)
                continue;
            /* A pair of leaks is linked once, from the lower id. */
            if (other->verdict.kind == VERDICT_LEAK &&
                other->site->id < leak->site->id)
                continue;
            os = stacks_get(a->stacks, other->site);
            shared = shared_function(ls, os);
            if (!shared)
                continue;
            analysis_add_reason(&leak->verdict,
                                "grows together with site #%u (%s; both "
                                "allocate within %s)", other->site->id,
                                first_function(os), shared);
            analysis_add_reason(&other->verdict,
                                "grows together with site #%u (%s; both "
                                "allocate within %s)", leak->site->id,
                                first_function(ls), shared);
        }
    }
}

static int compare_reported(const void *pa, const void *pb)
{
    const struct site_result *a = *(struct site_result *const *)pa;
    const struct site_result *b = *(struct site_result *const *)pb;
    uint64_t la = a->site->end.live_bytes, lb = b->site->end.live_bytes;
    uint64_t qa = a->site->counters.peak_live_bytes;
    uint64_t qb = b->site->counters.peak_live_bytes;

    if (la != lb)
        return la > lb ? -1 : 1;
    if (qa != qb)
        return qa > qb ? -1 : 1;
    return (a->site->id > b->site->id) - (a->site->id < b->site->id);
}

void analysis_run(struct analysis *a, const struct model *m,
                  struct stacks *st, const struct suppressions *sup)
{
    memset(a, 0, sizeof *a);
    a->model = m;
    a->stacks = st;
    runtimes_detect(m, &a->heaps);
    a->results = xcalloc(m->nsites, sizeof *a->results);
    a->reported = xcalloc(m->nsites, sizeof *a->reported);
    for (size_t i = 0; i < m->nsites; i++) {
        const struct model_site *site = m->sites[i];
        struct site_result *r = &a->results[i];
        const struct site_stack *stack = NULL;

        r->site = site;
        if (site->kind == MT_KIND_FAILED) {
            /* Not memory anyone holds: where a program ran out of it. */
            char asked[UNITS_BUF];
            memset(&r->verdict, 0, sizeof r->verdict);
            stacks_get(st, site);
            analysis_add_reason(&r->verdict, "%llu allocation request%s "
                                "failed here (%s asked): out of memory",
                                (unsigned long long)site->counters.allocs,
                                site->counters.allocs == 1 ? "" : "s",
                                units_format_size(
                                    site->counters.bytes_allocated, asked));
            a->reported[a->nreported++] = r;
            continue;
        }
        /* Symbols are costly and most sites end empty and judged ok: a
         * site without survivors is symbolized only if its timeline alone
         * already makes it suspicious, then judged again with its stack. */
        if (site->end.live_blocks == 0) {
            judge(m, site, NULL, &r->verdict);
            if (r->verdict.kind == VERDICT_OK)
                continue;
        }
        stack = stacks_get(st, site);
        judge(m, site, stack, &r->verdict);
        if (sup && r->verdict.kind != VERDICT_OK)
            suppress(r, stack, sup);
        if (r->suppressed_by)
            a->nsuppressed++;
        if (site->end.live_blocks > 0 || r->verdict.kind != VERDICT_OK)
            a->reported[a->nreported++] = r;
    }
    qsort(a->reported, a->nreported, sizeof *a->reported, compare_reported);
    link_growing_sites(a);
    for (size_t i = 0; i < a->nreported; i++) {
        if (a->reported[i]->verdict.kind == VERDICT_LEAK)
            a->nleak++;
        else if (a->reported[i]->verdict.kind == VERDICT_SUSPECT)
            a->nsuspect++;
    }
}

void analysis_free(struct analysis *a)
{
    free(a->results);
    free(a->reported);
    memset(a, 0, sizeof *a);
}
