/* report_text.c - the report for a terminal: the program as a whole (like
 * Node's process.memoryUsage()), its buckets, then the top sites by live
 * bytes with their reasons and stacks. */
#include "report.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "stacks.h"
#include "units.h"

static const char *blocks_word(uint64_t n)
{
    return n == 1 ? "block" : "blocks";
}

static void write_header(FILE *out, const struct model *m)
{
    const struct mt_rec_snapshot *last = &m->last_snapshot;
    char a[UNITS_BUF], b[UNITS_BUF];

    fprintf(out, "mtrace report: %s (pid %u)\n",
            m->exe ? m->exe : "(unknown program)", m->process.pid);
    fprintf(out, "  duration          %s", units_format_duration(m->end_ns, a));
    if (m->has_end) {
        const char *reason = report_end_reason(m->end.reason);
        if (m->end.reason == MT_END_SIGNAL)
            fprintf(out, " (killed by signal %d)", m->end.status);
        else if (m->end.reason == MT_END_EXIT ||
                 m->end.reason == MT_END_UNDERSCORE_EXIT)
            fprintf(out, " (%s, status %d)", reason, m->end.status);
        else if (reason)
            fprintf(out, " (%s)", reason);
    } else {
        fputs(" (cut short)", out);
    }
    fprintf(out, "\n  peak RSS          %s\n",
            units_format_size(last->peak_rss_bytes, a));
    fprintf(out, "  peak live heap    %s\n",
            units_format_size(last->peak_live_bytes, a));
    fprintf(out, "  live at %-9s %s in %llu %s\n",
            m->truncated ? "the end" : "exit",
            units_format_size(m->live_bytes_end, a),
            (unsigned long long)m->live_blocks_end,
            blocks_word(m->live_blocks_end));
    fprintf(out, "  allocations       %llu (%s allocated)\n",
            (unsigned long long)last->allocs,
            units_format_size(last->bytes_allocated, b));
    fprintf(out, "  frees             %llu\n", (unsigned long long)last->frees);
}

static void write_buckets(FILE *out, const struct analysis *a,
                          const struct report_options *o)
{
    const struct model *m = a->model;
    char size[UNITS_BUF], th[UNITS_BUF];

    fprintf(out, "  young             %s in %llu blocks (age < %s)\n",
            units_format_size(m->buckets.bytes[BUCKET_YOUNG], size),
            (unsigned long long)m->buckets.blocks[BUCKET_YOUNG],
            units_format_duration(o->thresholds.young_ns, th));
    fprintf(out, "  old               %s in %llu blocks (age >= %s)\n",
            units_format_size(m->buckets.bytes[BUCKET_OLD], size),
            (unsigned long long)m->buckets.blocks[BUCKET_OLD],
            units_format_duration(o->thresholds.young_ns, th));
    fprintf(out, "  large             %s in %llu blocks (size >= %s)\n",
            units_format_size(m->buckets.bytes[BUCKET_LARGE], size),
            (unsigned long long)m->buckets.blocks[BUCKET_LARGE],
            units_format_size(o->thresholds.large_bytes, th));
    if (m->truncated)
        fputs("WARNING: the trace was cut short (the program was probably "
              "killed): this reports its last complete snapshot.\n", out);
    if (m->ages_estimated)
        fputs("NOTE: no survivors were recorded: ages and buckets are "
              "estimates from the timelines.\n", out);
    if (m->reachability)
        fputs("NOTE: a reachability scan ran at exit: unreachable blocks "
              "are counted per site.\n", out);
    if (a->heaps.object_pools)
        fputs("NOTE: " REPORT_OBJECT_POOLS_NOTE "\n", out);
    if (REPORT_JS_HEAP_UNSEEN(a))
        fputs("NOTE: " REPORT_JS_HEAP_NOTE "\n", out);
}

static void upper(char *dst, const char *src, size_t n)
{
    size_t i;
    for (i = 0; i + 1 < n && src[i]; i++)
        dst[i] = (char)toupper((unsigned char)src[i]);
    dst[i] = '\0';
}

static void write_frame(FILE *out, const struct sym_frame *f)
{
    if (f->function)
        fprintf(out, "    at %s", f->function);
    else if (f->module)   /* no symbol: module+offset, as addr2line takes */
        fprintf(out, "    at %s+0x%llx", stacks_basename(f->module),
                (unsigned long long)f->module_offset);
    else
        fprintf(out, "    at 0x%llx", (unsigned long long)f->address);
    if (f->file && f->line > 0)
        fprintf(out, " (%s:%d)", f->file, f->line);
    else if (f->file)
        fprintf(out, " (%s)", f->file);
    if (f->module)
        fprintf(out, " [%s]", stacks_basename(f->module));
    if (f->inlined)
        fputs(" (inlined)", out);
    fputc('\n', out);
}

static void write_site(FILE *out, struct analysis *a,
                       const struct site_result *r)
{
    const struct model *m = a->model;
    const struct model_site *s = r->site;
    const struct model_site_end *e = &s->end;
    const struct site_stack *stack = stacks_get(a->stacks, s);
    char l[UNITS_BUF], p[UNITS_BUF], y[UNITS_BUF], o[UNITS_BUF], g[UNITS_BUF];
    char verdict[16];

    upper(verdict, verdict_kind_name(r->verdict.kind), sizeof verdict);
    fprintf(out, "\n#%u  live %s in %llu %s (peak %s, allocs %llu)%s  "
            "verdict %s\n", s->id, units_format_size(e->live_bytes, l),
            (unsigned long long)e->live_blocks, blocks_word(e->live_blocks),
            units_format_size(s->counters.peak_live_bytes, p),
            (unsigned long long)s->counters.allocs,
            s->kind == MT_KIND_MMAP ? " [mmap]"
            : s->kind == MT_KIND_FAILED ? " [failed]" : "", verdict);
    for (size_t i = 0; i < r->verdict.nreasons; i++)
        fprintf(out, "      %s\n", r->verdict.reasons[i]);
    fprintf(out, "    buckets: young %s, old %s, large %s\n",
            units_format_size(e->buckets.bytes[BUCKET_YOUNG], y),
            units_format_size(e->buckets.bytes[BUCKET_OLD], o),
            units_format_size(e->buckets.bytes[BUCKET_LARGE], g));
    if (e->has_ages && e->live_blocks > 0) {
        uint64_t oldest = m->end_ns > e->oldest_birth_ns
                              ? m->end_ns - e->oldest_birth_ns : 0;
        uint64_t newest = m->end_ns > e->newest_birth_ns
                              ? m->end_ns - e->newest_birth_ns : 0;
        if (oldest == newest)
            fprintf(out, "    age: %s%s\n", units_format_duration(oldest, o),
                    m->ages_estimated ? " (estimated)" : "");
        else
            fprintf(out, "    ages: %s to %s%s\n",
                    units_format_duration(newest, y),
                    units_format_duration(oldest, o),
                    m->ages_estimated ? " (estimated)" : "");
    }
    if (m->reachability)
        fprintf(out, "    unreachable: %llu blocks, %s\n",
                (unsigned long long)e->unreachable_blocks,
                units_format_size(e->unreachable_bytes, l));
    if (stack->nframes == 0)
        fputs("    at ?? (no stack recorded)\n", out);
    for (size_t i = 0; i < stack->nframes; i++) {
        write_frame(out, &stack->frames[i]);
        /* What lies below main is the C runtime's start-up: noise here
         * (the JSON keeps every frame). */
        if (stack->frames[i].function &&
            strcmp(stack->frames[i].function, "main") == 0)
            break;
    }
}

int report_text(FILE *out, struct analysis *a, const struct report_options *o)
{
    const struct model *m = a->model;
    size_t shown = 0, hidden = 0;

    write_header(out, m);
    write_buckets(out, a, o);
    /* Leaks first, whatever they hold at the end: a leak the program
     * released in its teardown holds nothing then, and is the one a
     * person is hunting. */
    for (size_t i = 0; i < a->nreported; i++) {
        const struct site_result *r = a->reported[i];
        if (r->verdict.kind != VERDICT_LEAK)
            continue;
        if (shown == 0)
            fputs("\nSites judged leak:\n", out);
        write_site(out, a, r);
        shown++;
    }
    /* Refused requests come next: where an out-of-memory death began. */
    for (size_t i = 0, listed = 0; i < a->nreported; i++) {
        const struct site_result *r = a->reported[i];
        if (r->site->kind != MT_KIND_FAILED)
            continue;
        if (listed++ == 0)
            fputs("\nAllocations that failed:\n", out);
        write_site(out, a, r);
    }
    for (size_t i = 0, listed = 0; i < a->nreported; i++) {
        const struct site_result *r = a->reported[i];
        if (r->verdict.kind == VERDICT_LEAK || r->site->kind == MT_KIND_FAILED)
            continue;
        if (listed >= o->top || r->site->end.live_bytes < o->min_bytes) {
            hidden++;
            continue;
        }
        if (listed == 0)
            fputs("\nOther sites by live bytes:\n", out);
        write_site(out, a, r);
        listed++;
    }
    if (hidden)
        fprintf(out, "\n(%zu more sites not shown: see --top, --min-bytes, "
                "--format json)\n", hidden);
    fprintf(out, "\n%zu site%s judged leak, %zu suspect", a->nleak,
            a->nleak == 1 ? "" : "s", a->nsuspect);
    if (a->nsuppressed)
        fprintf(out, ", %zu suppressed", a->nsuppressed);
    fputc('\n', out);
    if (ferror(out)) {
        if (!errno)
            errno = EIO;
        return -1;
    }
    return 0;
}
