/* report_json.c - the JSON report, schema 1 (SPEC.md). */
#include "report.h"

#include <errno.h>

#include "json_write.h"
#include "stacks.h"

/* A timeline longer than this is thinned: each kept point is the highest
 * of its stretch, so peaks survive. Enough for any chart. */
#define REPORT_JSON_TIMELINE_MAX 10000

static void write_buckets_bytes(FILE *out, const struct bucket_totals *b)
{
    fprintf(out, "{\"young\": %llu, \"old\": %llu, \"large\": %llu}",
            (unsigned long long)b->bytes[BUCKET_YOUNG],
            (unsigned long long)b->bytes[BUCKET_OLD],
            (unsigned long long)b->bytes[BUCKET_LARGE]);
}

static void write_buckets_full(FILE *out, const struct bucket_totals *b)
{
    fputc('{', out);
    for (int i = 0; i < BUCKET_COUNT; i++)
        fprintf(out, "%s\"%s\": {\"bytes\": %llu, \"blocks\": %llu}",
                i ? ", " : "", bucket_name((enum bucket)i),
                (unsigned long long)b->bytes[i],
                (unsigned long long)b->blocks[i]);
    fputc('}', out);
}

static void write_point(FILE *out, const struct model_point *p, bool first)
{
    fprintf(out, "%s\n    {\"t_ns\": %llu, \"live_bytes\": %llu}",
            first ? "" : ",", (unsigned long long)p->t_ns,
            (unsigned long long)p->live_bytes);
}

static void write_timeline(FILE *out, const struct model *m)
{
    size_t n = m->ntimeline;
    size_t stride = (n + REPORT_JSON_TIMELINE_MAX - 1) /
                    REPORT_JSON_TIMELINE_MAX;
    bool first = true;

    fputs("  \"timeline\": [", out);
    for (size_t start = 0; start < n; start += stride ? stride : 1) {
        size_t end = start + stride < n ? start + stride : n;
        size_t best = start;
        for (size_t i = start + 1; i < end; i++)
            if (m->timeline[i].live_bytes > m->timeline[best].live_bytes)
                best = i;
        write_point(out, &m->timeline[best], first);
        first = false;
        /* The last snapshot is the end state: always shown as such. */
        if (end == n && best != n - 1)
            write_point(out, &m->timeline[n - 1], false);
    }
    fputs(n ? "\n  ],\n" : "],\n", out);
}

static void write_frames(FILE *out, const struct site_stack *stack)
{
    fputs("      \"frames\": [", out);
    for (size_t i = 0; i < stack->nframes; i++) {
        const struct sym_frame *f = &stack->frames[i];
        fputs(i ? ",\n        {" : "\n        {", out);
        fputs("\"function\": ", out);
        json_string(out, f->function);
        fputs(", \"file\": ", out);
        json_string(out, f->file);
        fputs(", \"line\": ", out);
        if (f->line > 0)
            fprintf(out, "%d", f->line);
        else
            fputs("null", out);
        fputs(", \"module\": ", out);
        json_string(out, f->module);
        fprintf(out, ", \"address\": \"0x%llx\", \"inlined\": %s}",
                (unsigned long long)f->address,
                f->inlined ? "true" : "false");
    }
    fputs(stack->nframes ? "\n      ],\n" : "],\n", out);
}

static void write_age(FILE *out, const char *key, bool known, uint64_t birth,
                      uint64_t end_ns)
{
    fprintf(out, "\"%s\": ", key);
    if (known)
        json_u64(out, end_ns > birth ? end_ns - birth : 0);
    else
        fputs("null", out);
}

static void write_site(FILE *out, struct analysis *a,
                       const struct site_result *r)
{
    const struct model *m = a->model;
    const struct model_site *s = r->site;
    const struct model_site_end *e = &s->end;
    const struct verdict *v = &r->verdict;

    fprintf(out,
            "    {\n      \"id\": %u, \"kind\": \"%s\",\n"
            "      \"live_bytes\": %llu, \"live_blocks\": %llu, "
            "\"allocs\": %llu, \"frees\": %llu,\n"
            "      \"bytes_allocated\": %llu, \"peak_live_bytes\": %llu,\n"
            "      \"buckets\": ",
            s->id, s->kind == MT_KIND_MMAP ? "mmap"
            : s->kind == MT_KIND_FAILED ? "failed" : "heap",
            (unsigned long long)e->live_bytes,
            (unsigned long long)e->live_blocks,
            (unsigned long long)s->counters.allocs,
            (unsigned long long)s->counters.frees,
            (unsigned long long)s->counters.bytes_allocated,
            (unsigned long long)s->counters.peak_live_bytes);
    write_buckets_bytes(out, &e->buckets);
    fputs(",\n      \"bucket_blocks\": ", out);
    fprintf(out, "{\"young\": %llu, \"old\": %llu, \"large\": %llu},\n",
            (unsigned long long)e->buckets.blocks[BUCKET_YOUNG],
            (unsigned long long)e->buckets.blocks[BUCKET_OLD],
            (unsigned long long)e->buckets.blocks[BUCKET_LARGE]);
    fputs("      ", out);
    write_age(out, "oldest_age_ns", e->has_ages, e->oldest_birth_ns,
              m->end_ns);
    fputs(", ", out);
    write_age(out, "youngest_age_ns", e->has_ages, e->newest_birth_ns,
              m->end_ns);
    fputs(",\n", out);
    if (m->reachability)
        fprintf(out,
                "      \"unreachable_blocks\": %llu, "
                "\"unreachable_bytes\": %llu,\n",
                (unsigned long long)e->unreachable_blocks,
                (unsigned long long)e->unreachable_bytes);
    write_frames(out, stacks_get(a->stacks, s));
    fprintf(out, "      \"verdict\": \"%s\",\n      \"reasons\": [",
            verdict_kind_name(v->kind));
    for (size_t i = 0; i < v->nreasons; i++) {
        fputs(i ? ", " : "", out);
        json_string(out, v->reasons[i]);
    }
    fputs("],\n      \"suppressed_by\": ", out);
    json_string(out, r->suppressed_by);
    fputs(",\n      \"growth_bytes_per_s\": ", out);
    json_double(out, v->growth_bytes_per_s);
    fputs(", \"period_ns\": ", out);
    if (v->period_ns)
        json_u64(out, v->period_ns);
    else
        fputs("null", out);
    fprintf(out, ", \"too_short\": %s\n    }", v->too_short ? "true" : "false");
}

static void write_process(FILE *out, const struct analysis *a)
{
    const struct model *m = a->model;
    const char *reason = m->has_end ? report_end_reason(m->end.reason) : NULL;
    size_t start = 0;

    fputs("{\n  \"schema\": 1,\n  \"program\": ", out);
    json_string(out, m->exe);
    fputs(",\n  \"argv\": [", out);
    for (size_t i = 0; i < m->cmdline_len; i++) {
        if (m->cmdline[i] != '\0' && i + 1 < m->cmdline_len)
            continue;
        size_t end = m->cmdline[i] == '\0' ? i : i + 1;
        fputs(start ? ", " : "", out);
        json_string_n(out, m->cmdline + start, end - start);
        start = i + 1;
    }
    fprintf(out, "],\n  \"pid\": %u, \"ppid\": %u,\n",
            m->process.pid, m->process.ppid);
    fprintf(out, "  \"duration_ns\": %llu,\n  \"truncated\": %s,\n",
            (unsigned long long)m->end_ns, m->truncated ? "true" : "false");
    fprintf(out, "  \"ages_estimated\": %s,\n  \"interval_ms\": %u,\n",
            m->ages_estimated ? "true" : "false", m->process.interval_ms);
    fputs("  \"end_reason\": ", out);
    json_string(out, reason);
    fputs(", \"end_status\": ", out);
    if (m->has_end)
        fprintf(out, "%d", m->end.status);
    else
        fputs("null", out);
    fprintf(out,
            ",\n  \"mmap_traced\": %s, \"reachability\": %s,\n"
            "  \"object_pools\": %s, \"js_heap\": %s,\n"
            "  \"peak_rss_bytes\": %llu,\n",
            (m->process.flags & MT_PROC_MMAP_TRACED) ? "true" : "false",
            m->reachability ? "true" : "false",
            a->heaps.object_pools ? "true" : "false",
            a->heaps.js_heap ? "true" : "false",
            (unsigned long long)m->last_snapshot.peak_rss_bytes);
}

int report_json(FILE *out, struct analysis *a, const struct report_options *o)
{
    const struct model *m = a->model;
    const struct mt_rec_snapshot *last = &m->last_snapshot;

    write_process(out, a);
    fprintf(out,
            "  \"thresholds\": {\"young_ns\": %llu, \"large_bytes\": %llu},\n",
            (unsigned long long)o->thresholds.young_ns,
            (unsigned long long)o->thresholds.large_bytes);
    fprintf(out,
            "  \"totals\": {\"allocs\": %llu, \"frees\": %llu, "
            "\"bytes_allocated\": %llu,\n"
            "             \"peak_live_bytes\": %llu, \"live_bytes\": %llu, "
            "\"live_blocks\": %llu},\n  \"buckets\": ",
            (unsigned long long)last->allocs, (unsigned long long)last->frees,
            (unsigned long long)last->bytes_allocated,
            (unsigned long long)last->peak_live_bytes,
            (unsigned long long)m->live_bytes_end,
            (unsigned long long)m->live_blocks_end);
    write_buckets_full(out, &m->buckets);
    fputs(",\n", out);
    write_timeline(out, m);
    fprintf(out,
            "  \"summary\": {\"leak\": %zu, \"suspect\": %zu, "
            "\"suppressed\": %zu},\n  \"sites\": [",
            a->nleak, a->nsuspect, a->nsuppressed);
    for (size_t i = 0; i < a->nreported; i++) {
        fputs(i ? ",\n" : "\n", out);
        write_site(out, a, a->reported[i]);
    }
    fputs(a->nreported ? "\n  ]\n}\n" : "]\n}\n", out);
    if (ferror(out)) {
        if (!errno)
            errno = EIO;
        return -1;
    }
    return 0;
}
