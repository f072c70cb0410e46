/* report_html.c - the report as one self-contained web page: header
 * figures, the live heap's timeline, the top sites' timelines, a sortable
 * table of sites and a flame graph. Everything is inline (SVG, CSS,
 * script): the page fetches nothing and opens from a file. Names from the
 * trace are untrusted: escaped for HTML in the page, and for a <script>
 * element in the embedded data. */
#include "report_html.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "html_write.h"
#include "json_write.h"
#include "stacks.h"
#include "units.h"
#include "xalloc.h"

/* Rows of the table, and sites charted on their own: enough to find any
 * leak worth a look, few enough to keep the page at a few hundred KB. */
#define HTML_TABLE_SITES 300
#define HTML_SITE_CHARTS 8
/* Frames listed per stack in the table (the JSON report has them all). */
#define HTML_STACK_FRAMES 32

static const char *cost_name(enum report_cost cost)
{
    switch (cost) {
    case REPORT_COST_LIVE: return "live bytes at exit";
    case REPORT_COST_ALLOCS: return "allocations";
    case REPORT_COST_BYTES: return "bytes allocated";
    case REPORT_COST_PEAK: return "peak live bytes";
    }
    return "";
}

static const char *site_function(struct analysis *a, const struct model_site *s,
                                 char label[REPORT_FRAME_LABEL_MAX])
{
    const struct site_stack *stack = stacks_get(a->stacks, s);
    return stack->nframes ? report_frame_label(&stack->frames[0], label)
                          : "[unknown]";
}

/* A site's timeline as the page draws it; free()d by the caller. */
static struct html_point *site_points(const struct model_site *s, size_t *n)
{
    struct html_point *all = xcalloc(s->npoints + 1, sizeof *all);
    struct html_point *thin = xcalloc(HTML_SITE_TIMELINE_POINTS + 1,
                                      sizeof *thin);

    for (size_t i = 0; i < s->npoints; i++) {
        all[i].t_ns = s->timeline[i].t_ns;
        all[i].bytes = s->timeline[i].live_bytes;
    }
    *n = html_thin(all, s->npoints, HTML_SITE_TIMELINE_POINTS, thin);
    free(all);
    return thin;
}

/* The program's timeline as the page draws it; free()d by the caller. */
static struct html_point *program_points(const struct model *m, size_t *n)
{
    struct html_point *all = xcalloc(m->ntimeline + 1, sizeof *all);
    struct html_point *thin = xcalloc(HTML_TIMELINE_POINTS + 1, sizeof *thin);

    for (size_t i = 0; i < m->ntimeline; i++) {
        all[i].t_ns = m->timeline[i].t_ns;
        all[i].bytes = m->timeline[i].live_bytes;
    }
    *n = html_thin(all, m->ntimeline, HTML_TIMELINE_POINTS, thin);
    free(all);
    return thin;
}

static void write_points_json(FILE *out, const struct html_point *p, size_t n)
{
    fputc('[', out);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%s[%llu,%llu]", i ? "," : "",
                (unsigned long long)p[i].t_ns,
                (unsigned long long)p[i].bytes);
    fputc(']', out);
}

/* Leaks first, then by live bytes (the text report's order): the sites
 * charted on their own are the first HTML_SITE_CHARTS of these. */
static size_t charted_sites(struct analysis *a, struct site_result **out)
{
    size_t n = 0;

    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < a->nreported && n < HTML_SITE_CHARTS; i++) {
            bool leak = a->reported[i]->verdict.kind == VERDICT_LEAK;
            if (leak == (pass == 0))
                out[n++] = a->reported[i];
        }
    return n;
}

static bool is_charted(struct site_result *const *charted, size_t n,
                       const struct site_result *r)
{
    for (size_t i = 0; i < n; i++)
        if (charted[i] == r)
            return true;
    return false;
}

static void write_data(FILE *out, struct analysis *a,
                       const struct report_options *o,
                       struct site_result *const *charted, size_t ncharted,
                       const struct html_point *timeline, size_t ntimeline)
{
    const struct model *m = a->model;
    const struct mt_rec_snapshot *last = &m->last_snapshot;
    size_t shown = a->nreported < HTML_TABLE_SITES ? a->nreported
                                                   : HTML_TABLE_SITES;

    fputs("<script type=\"application/json\" id=\"mtrace-data\">\n"
          "{\"program\": ", out);
    json_string_script(out, m->exe);
    fprintf(out, ", \"pid\": %u, \"duration_ns\": %llu, \"truncated\": %s, "
            "\"cost\": ", m->process.pid, (unsigned long long)m->end_ns,
            m->truncated ? "true" : "false");
    json_string_script(out, cost_name(o->cost));
    fprintf(out, ",\n \"totals\": {\"allocs\": %llu, \"frees\": %llu, "
            "\"bytes_allocated\": %llu, \"peak_live_bytes\": %llu, "
            "\"live_bytes\": %llu, \"live_blocks\": %llu},\n"
            " \"buckets\": {\"young\": %llu, \"old\": %llu, \"large\": %llu},"
            "\n \"timeline\": ",
            (unsigned long long)last->allocs, (unsigned long long)last->frees,
            (unsigned long long)last->bytes_allocated,
            (unsigned long long)last->peak_live_bytes,
            (unsigned long long)m->live_bytes_end,
            (unsigned long long)m->live_blocks_end,
            (unsigned long long)m->buckets.bytes[BUCKET_YOUNG],
            (unsigned long long)m->buckets.bytes[BUCKET_OLD],
            (unsigned long long)m->buckets.bytes[BUCKET_LARGE]);
    write_points_json(out, timeline, ntimeline);
    fprintf(out, ",\n \"sites_total\": %zu, \"sites\": [", a->nreported);
    for (size_t i = 0; i < shown; i++) {
        const struct site_result *r = a->reported[i];
        const struct model_site *s = r->site;
        char label[REPORT_FRAME_LABEL_MAX];

        fprintf(out, "%s\n  {\"id\": %u, \"function\": ", i ? "," : "",
                s->id);
        json_string_script(out, site_function(a, s, label));
        fprintf(out, ", \"verdict\": \"%s\", \"live_bytes\": %llu, "
                "\"live_blocks\": %llu, \"allocs\": %llu, "
                "\"peak_live_bytes\": %llu, \"growth_bytes_per_s\": ",
                verdict_kind_name(r->verdict.kind),
                (unsigned long long)s->end.live_bytes,
                (unsigned long long)s->end.live_blocks,
                (unsigned long long)s->counters.allocs,
                (unsigned long long)s->counters.peak_live_bytes);
        json_double(out, r->verdict.growth_bytes_per_s);
        if (is_charted(charted, ncharted, r)) {
            size_t n;
            struct html_point *points = site_points(s, &n);
            fputs(", \"timeline\": ", out);
            write_points_json(out, points, n);
            free(points);
        }
        fputc('}', out);
    }
    fputs("\n]}\n</script>\n", out);
}

/* One header figure; name, value and detail are the page's own HTML,
 * never text from the trace. */
static void figure(FILE *out, const char *name, const char *value,
                   const char *detail)
{
    fprintf(out, "<div><dt>%s</dt><dd>%s", name, value);
    if (detail)
        fprintf(out, " <small>%s</small>", detail);
    fputs("</dd></div>\n", out);
}

static void write_header(FILE *out, struct analysis *a,
                         const struct report_options *o)
{
    const struct model *m = a->model;
    const struct mt_rec_snapshot *last = &m->last_snapshot;
    char v[UNITS_BUF], d[UNITS_BUF + 40], th[UNITS_BUF];

    fputs("<header>\n<h1>mtrace report: <code>", out);
    html_text(out, m->exe ? m->exe : "(unknown program)");
    fprintf(out, "</code> <span class=\"pid\">pid %u</span></h1>\n",
            m->process.pid);
    if (m->truncated)
        fputs("<p class=\"warning\" id=\"truncated\">The trace was cut short "
              "(the program was probably killed): this reports its last "
              "complete snapshot, and ages are estimates.</p>\n", out);
    else if (m->ages_estimated)
        fputs("<p class=\"warning\">No survivors were recorded: ages and "
              "buckets are estimates from the timelines.</p>\n", out);
    if (a->heaps.object_pools)
        fputs("<p class=\"warning\" id=\"object-pools\">"
              REPORT_OBJECT_POOLS_NOTE "</p>\n", out);
    if (REPORT_JS_HEAP_UNSEEN(a))
        fputs("<p class=\"warning\" id=\"js-heap\">" REPORT_JS_HEAP_NOTE
              "</p>\n", out);
    fputs("<dl class=\"figures\">\n", out);
    if (!m->has_end)
        snprintf(d, sizeof d, "cut short");
    else if (m->end.reason == MT_END_SIGNAL)
        snprintf(d, sizeof d, "killed by signal %d", m->end.status);
    else if (m->end.reason == MT_END_EXIT ||
             m->end.reason == MT_END_UNDERSCORE_EXIT)
        snprintf(d, sizeof d, "%s, status %d",
                 report_end_reason(m->end.reason), m->end.status);
    else
        snprintf(d, sizeof d, "%s", report_end_reason(m->end.reason)
                                        ? report_end_reason(m->end.reason)
                                        : "");
    figure(out, "duration", units_format_duration(m->end_ns, v), d);
    figure(out, "peak RSS", units_format_size(last->peak_rss_bytes, v), NULL);
    figure(out, "peak live heap", units_format_size(last->peak_live_bytes, v),
           NULL);
    snprintf(d, sizeof d, "in %llu blocks",
             (unsigned long long)m->live_blocks_end);
    figure(out, m->truncated ? "live at the end" : "live at exit",
           units_format_size(m->live_bytes_end, v), d);
    snprintf(v, sizeof v, "%llu", (unsigned long long)last->allocs);
    figure(out, "allocations", v, NULL);
    snprintf(v, sizeof v, "%llu", (unsigned long long)last->frees);
    figure(out, "frees", v, NULL);
    figure(out, "bytes allocated", units_format_size(last->bytes_allocated, v),
           NULL);
    snprintf(d, sizeof d, "age &lt; %s",
             units_format_duration(o->thresholds.young_ns, th));
    figure(out, "young", units_format_size(m->buckets.bytes[BUCKET_YOUNG], v),
           d);
    snprintf(d, sizeof d, "age &ge; %s", th);
    figure(out, "old", units_format_size(m->buckets.bytes[BUCKET_OLD], v), d);
    snprintf(d, sizeof d, "size &ge; %s",
             units_format_size(o->thresholds.large_bytes, th));
    figure(out, "large", units_format_size(m->buckets.bytes[BUCKET_LARGE], v),
           d);
    snprintf(v, sizeof v, "%zu leak, %zu suspect", a->nleak, a->nsuspect);
    figure(out, "sites judged", v, NULL);
    fputs("</dl>\n</header>\n", out);
}

static void write_timelines(FILE *out, struct analysis *a,
                            struct site_result *const *charted, size_t n,
                            const struct html_point *timeline,
                            size_t ntimeline)
{
    char young[UNITS_BUF];

    fputs("<section id=\"timeline\">\n<h2>Live heap over the run</h2>\n",
          out);
    html_chart_timeline(out, a->model, timeline, ntimeline);
    fprintf(out, "<p class=\"legend\"><span class=\"key total\"></span> live "
            "heap at each snapshot (recorded) "
            "<span class=\"key b-old\"></span> old "
            "<span class=\"key b-large\"></span> large "
            "<span class=\"key b-young\"></span> young: survivors at exit by "
            "age, stacked</p>\n<p class=\"note\">The trace records the live "
            "heap's total over time, not its split by bucket. The stacked "
            "areas are the blocks still live at exit, each counted from its "
            "birth on and coloured by its bucket at exit (young: younger "
            "than %s then). They are estimated from each site's bucket "
            "totals and %s; the gap up to the line is memory freed before "
            "exit.</p>\n</section>\n",
            units_format_duration(a->model->thresholds.young_ns, young),
            a->model->survivors_used
                ? "its survivors' birth times"
                : "its timeline (this trace holds no birth times: a site's "
                  "lowest live bytes from a time on count as born by then)");
    if (n == 0)
        return;
    fputs("<section id=\"top-sites\">\n<h2>Top sites over time</h2>\n"
          "<p class=\"note\">Leaks first, then by live bytes at exit; each "
          "chart is the site's live bytes over the run.</p>\n"
          "<div class=\"grid\">\n", out);
    for (size_t i = 0; i < n; i++) {
        char label[REPORT_FRAME_LABEL_MAX];
        size_t npoints;
        struct html_point *points = site_points(charted[i]->site, &npoints);

        html_chart_site(out, a->model, charted[i],
                        site_function(a, charted[i]->site, label), points,
                        npoints);
        free(points);
    }
    fputs("</div>\n</section>\n", out);
}

static void write_rate(FILE *out, double bytes_per_s)
{
    char size[UNITS_BUF];

    if (!isfinite(bytes_per_s) || fabs(bytes_per_s) < 0.5) {
        fputs("0", out);
        return;
    }
    fprintf(out, "%s%s/s", bytes_per_s < 0 ? "-" : "",
            units_format_size(units_round_u64(fabs(bytes_per_s)), size));
}

/* file:line [module]; the module only where it changes along the stack,
 * which keeps the table of a big program small. */
static void write_location(FILE *out, const struct sym_frame *f,
                           const char *previous_module)
{
    bool module = f->module && (!previous_module ||
                                strcmp(f->module, previous_module) != 0);

    if (!f->file && !module)
        return;
    fputs(" <i>", out);
    if (f->file) {
        html_text(out, stacks_basename(f->file));
        if (f->line > 0)
            fprintf(out, ":%d", f->line);
    }
    if (module) {
        fputs(f->file ? " [" : "[", out);
        html_text(out, stacks_basename(f->module));
        fputc(']', out);
    }
    if (f->inlined)
        fputs(" (inlined)", out);
    fputs("</i>", out);
}

/* The frames up to main: below it lies the C runtime's start-up, the same
 * for every site (the JSON report keeps every frame). */
static void write_stack(FILE *out, const struct site_stack *stack)
{
    size_t shown = 0;
    const char *module = NULL;

    fprintf(out, "<details><summary>stack (%zu frame%s)</summary>"
            "<ol class=\"stack\">", stack->nframes,
            stack->nframes == 1 ? "" : "s");
    for (; shown < stack->nframes && shown < HTML_STACK_FRAMES; shown++) {
        const struct sym_frame *f = &stack->frames[shown];
        char label[REPORT_FRAME_LABEL_MAX];

        fputs("<li>", out);
        html_text(out, report_frame_label(f, label));
        write_location(out, f, module);
        fputs("</li>", out);
        if (f->module)
            module = f->module;
        if (f->function && strcmp(f->function, "main") == 0) {
            shown++;
            break;
        }
    }
    if (shown < stack->nframes)
        fprintf(out, "<li>... %zu more (see --format json)</li>",
                stack->nframes - shown);
    fputs("</ol></details>", out);
}

static void write_row(FILE *out, struct analysis *a,
                      const struct site_result *r)
{
    const struct model_site *s = r->site;
    const struct site_stack *stack = stacks_get(a->stacks, s);
    const char *verdict = verdict_kind_name(r->verdict.kind);
    char label[REPORT_FRAME_LABEL_MAX], size[UNITS_BUF];

    fprintf(out, "<tr id=\"site-%u\" data-id=\"%u\" class=\"%s\">"
            "<td class=\"num\">%u</td><td class=\"site\"><code>", s->id, s->id,
            verdict, s->id);
    html_text(out, site_function(a, s, label));
    fputs("</code>", out);
    if (stack->nframes)
        write_location(out, &stack->frames[0], NULL);
    if (s->kind == MT_KIND_MMAP)
        fputs(" <i>mmap</i>", out);
    if (r->verdict.nreasons) {
        fputs("<ul class=\"reasons\">", out);
        for (size_t i = 0; i < r->verdict.nreasons; i++) {
            fputs("<li>", out);
            html_text(out, r->verdict.reasons[i]);
            fputs("</li>", out);
        }
        fputs("</ul>", out);
    }
    write_stack(out, stack);
    fprintf(out, "</td><td><span class=\"verdict %s\">%s</span></td>",
            verdict, verdict);
    fprintf(out, "<td class=\"num\">%s</td>",
            units_format_size(s->end.live_bytes, size));
    fprintf(out, "<td class=\"num\">%llu</td><td class=\"num\">",
            (unsigned long long)s->counters.allocs);
    write_rate(out, r->verdict.growth_bytes_per_s);
    fprintf(out, "</td><td class=\"num\">%s</td></tr>\n",
            units_format_size(s->counters.peak_live_bytes, size));
}

static void write_table(FILE *out, struct analysis *a)
{
    size_t shown = a->nreported < HTML_TABLE_SITES ? a->nreported
                                                   : HTML_TABLE_SITES;

    fputs("<section id=\"sites-section\">\n<h2>Sites</h2>\n"
          "<p class=\"note\">Every site with live blocks at exit or a "
          "verdict other than ok. Click a column's header to sort by it.</p>\n"
          "<table id=\"sites\">\n<thead><tr>"
          "<th class=\"sort\" data-key=\"id\">site</th>"
          "<th>function, reasons and stack</th><th>verdict</th>"
          "<th class=\"sort\" data-key=\"live_bytes\" aria-sort=\"descending\">"
          "live bytes</th>"
          "<th class=\"sort\" data-key=\"allocs\">allocations</th>"
          "<th class=\"sort\" data-key=\"growth_bytes_per_s\">growth</th>"
          "<th class=\"sort\" data-key=\"peak_live_bytes\">peak</th>"
          "</tr></thead>\n<tbody>\n", out);
    for (size_t i = 0; i < shown; i++)
        write_row(out, a, a->reported[i]);
    fputs("</tbody>\n</table>\n", out);
    if (shown < a->nreported)
        fprintf(out, "<p class=\"note\" id=\"sites-not-shown\">%zu more "
                "sites with fewer live bytes are not shown: see --format "
                "json.</p>\n", a->nreported - shown);
    fputs("</section>\n", out);
}

int report_html(FILE *out, struct analysis *a, const struct report_options *o)
{
    const struct model *m = a->model;
    struct site_result *charted[HTML_SITE_CHARTS];
    size_t ncharted = charted_sites(a, charted), ntimeline;
    struct html_point *timeline = program_points(m, &ntimeline);

    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">"
          "\n<meta name=\"viewport\" content=\"width=device-width\">\n"
          "<title>mtrace: ", out);
    html_text(out, m->exe ? stacks_basename(m->exe) : "report");
    fprintf(out, " (pid %u)</title>\n<style>\n%s</style>\n</head>\n"
            "<body data-script=\"off\">\n", m->process.pid, report_html_css);
    write_header(out, a, o);
    write_timelines(out, a, charted, ncharted, timeline, ntimeline);
    write_table(out, a);
    fprintf(out, "<section id=\"flame-section\">\n<h2>Flame graph: %s</h2>\n"
            "<p class=\"note\">Each site's stack, the program at the bottom "
            "and the frame that asked for memory on top, as width by %s "
            "(--cost; the data of --format collapsed). Frames outlined in "
            "red allocate for a leak. Hover a frame for its name and value; "
            "click one to zoom in, the bottom one to zoom out.</p>\n"
            "<p id=\"flame-info\" class=\"info\">&nbsp;</p>\n",
            cost_name(o->cost), cost_name(o->cost));
    html_flame_graph(out, a, o);
    fputs("</section>\n<pre id=\"selftest-result\" hidden></pre>\n", out);
    write_data(out, a, o, charted, ncharted, timeline, ntimeline);
    fprintf(out, "<script>\n%s</script>\n</body>\n</html>\n", report_html_js);
    free(timeline);
    if (ferror(out)) {
        if (!errno)
            errno = EIO;
        return -1;
    }
    return 0;
}
