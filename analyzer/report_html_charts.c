/* report_html_charts.c - the timelines of the HTML report, drawn as inline
 * SVG here so that the page shows them even where scripts are off. */
#include "report_html.h"

#include <stdlib.h>
#include <string.h>

#include "html_write.h"
#include "units.h"
#include "xalloc.h"

/* Time bins of the survivors' chart: enough for a smooth curve, few
 * enough to stay small in the page. */
#define SURVIVOR_BINS 200

/* A chart's plot area in its viewBox, and the values at its edges. */
struct axes {
    double left, right, top, bottom;
    uint64_t t_max, y_max;
};

static double axes_x(const struct axes *ax, uint64_t t_ns)
{
    double f = ax->t_max ? (double)t_ns / (double)ax->t_max : 0.0;
    if (f > 1.0)
        f = 1.0;
    return ax->left + f * (ax->right - ax->left);
}

static double axes_y(const struct axes *ax, double bytes)
{
    double f = ax->y_max ? bytes / (double)ax->y_max : 0.0;
    if (f > 1.0)
        f = 1.0;
    return ax->bottom - f * (ax->bottom - ax->top);
}

/* The frame, and labels at 0, half and full scale on both axes. */
static void axes_draw(FILE *out, const struct axes *ax)
{
    char label[UNITS_BUF];

    fprintf(out, "<rect class=\"plot\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
            "height=\"%.1f\"/>\n", ax->left, ax->top, ax->right - ax->left,
            ax->bottom - ax->top);
    for (int i = 0; i <= 2; i++) {
        uint64_t v = ax->y_max / 2 * (uint64_t)i;
        uint64_t t = ax->t_max / 2 * (uint64_t)i;
        double y = axes_y(ax, (double)v), x = axes_x(ax, t);

        if (i == 2) {
            v = ax->y_max;
            t = ax->t_max;
            y = ax->top;
            x = ax->right;
        }
        fprintf(out, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" "
                "text-anchor=\"end\">%s</text>\n", ax->left - 4, y + 4,
                units_format_size(v, label));
        fprintf(out, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" "
                "text-anchor=\"%s\">%s</text>\n", x, ax->bottom + 14,
                i == 0 ? "start" : i == 1 ? "middle" : "end",
                units_format_duration(t, label));
    }
}

size_t html_thin(const struct html_point *in, size_t n, size_t max,
                 struct html_point *out)
{
    size_t stride = max ? (n + max - 1) / max : n, count = 0;

    if (stride == 0)
        stride = 1;
    for (size_t start = 0; start < n; start += stride) {
        size_t end = start + stride < n ? start + stride : n;
        size_t best = start;
        for (size_t i = start + 1; i < end; i++)
            if (in[i].bytes > in[best].bytes)
                best = i;
        out[count++] = in[best];
        /* The last point is the end state: always shown as such. */
        if (end == n && best != n - 1)
            out[count++] = in[n - 1];
    }
    return count;
}

/* A site's survivors at exit as births: a time and a weight. */
struct birth {
    uint64_t t_ns;
    double weight;
};

/* The recorded birth times, each of weight one; or, when the trace holds
 * none (cut short), births read off the site's timeline: what it holds
 * from t to the end at least, min(live bytes over [t, end]), can only
 * have been born by t; each rise of that minimum is a birth of its size.
 * Returns the count; *births is xcalloc()ed. */
static size_t site_births(const struct model_site *s, struct birth **births)
{
    const struct model_site_end *e = &s->end;
    size_t n = 0;

    if (e->nbirths) {
        *births = xcalloc(e->nbirths, sizeof **births);
        for (size_t k = 0; k < e->nbirths; k++)
            (*births)[n++] = (struct birth){ e->births[k], 1.0 };
        return n;
    }
    *births = xcalloc(s->npoints + 1, sizeof **births);
    for (size_t k = s->npoints; k-- > 0;) {
        uint64_t min = s->timeline[k].live_bytes;
        if (n && (double)min > (*births)[n - 1].weight)
            min = (uint64_t)(*births)[n - 1].weight;
        (*births)[n++] = (struct birth){ s->timeline[k].t_ns, (double)min };
    }
    /* Now the suffix minima, latest first: turn them into rises. */
    for (size_t k = 0; k < n; k++)
        (*births)[k].weight -= k + 1 < n ? (*births)[k + 1].weight : 0.0;
    return n;
}

static size_t time_bin(uint64_t t_ns, uint64_t end_ns)
{
    size_t bin = end_ns && t_ns < end_ns
                     ? (size_t)((double)t_ns / (double)end_ns * SURVIVOR_BINS)
                     : SURVIVOR_BINS - 1;
    return bin < SURVIVOR_BINS ? bin : SURVIVOR_BINS - 1;
}

/* Survivors at exit, in bytes per bucket, born up to the end of each bin
 * (cumulative). The recording has each site's bucket totals at exit and
 * its survivors' birth times, not their sizes: a site's young bytes are
 * spread over its young births (age below --young at exit), its old bytes
 * over its old births, its large bytes over all its births, in proportion
 * to their weights. Bytes without a birth to carry them count at the end. */
static void survivors_by_birth(const struct model *m,
                               double cum[SURVIVOR_BINS][BUCKET_COUNT])
{
    uint64_t end = m->end_ns;

    memset(cum, 0, sizeof(double) * SURVIVOR_BINS * BUCKET_COUNT);
    for (size_t i = 0; i < m->nsites; i++) {
        const struct model_site_end *e = &m->sites[i]->end;
        struct birth *births;
        size_t n;
        double weight[BUCKET_COUNT] = { 0, 0, 0 };

        if (e->live_bytes == 0)
            continue;
        n = site_births(m->sites[i], &births);
        for (size_t k = 0; k < n; k++) {
            bool young = end <= births[k].t_ns ||
                         end - births[k].t_ns < m->thresholds.young_ns;
            weight[young ? BUCKET_YOUNG : BUCKET_OLD] += births[k].weight;
            weight[BUCKET_LARGE] += births[k].weight;
        }
        for (int b = 0; b < BUCKET_COUNT; b++)
            if (weight[b] <= 0.0)
                cum[SURVIVOR_BINS - 1][b] += (double)e->buckets.bytes[b];
        for (size_t k = 0; k < n; k++) {
            bool young = end <= births[k].t_ns ||
                         end - births[k].t_ns < m->thresholds.young_ns;
            enum bucket age = young ? BUCKET_YOUNG : BUCKET_OLD;
            size_t bin = time_bin(births[k].t_ns, end);

            /* A zero (or, from a damaged trace, NaN) total weight went to
             * the last bin above; dividing by it would give NaN. */
            if (weight[age] > 0.0)
                cum[bin][age] += (double)e->buckets.bytes[age] *
                                 births[k].weight / weight[age];
            if (weight[BUCKET_LARGE] > 0.0)
                cum[bin][BUCKET_LARGE] +=
                    (double)e->buckets.bytes[BUCKET_LARGE] *
                    births[k].weight / weight[BUCKET_LARGE];
        }
        free(births);
    }
    for (size_t bin = 1; bin < SURVIVOR_BINS; bin++)
        for (int b = 0; b < BUCKET_COUNT; b++)
            cum[bin][b] += cum[bin - 1][b];
}

/* Stacked from the bottom: old, large, young. */
static const enum bucket stack_order[BUCKET_COUNT] = {
    BUCKET_OLD, BUCKET_LARGE, BUCKET_YOUNG,
};

static double stacked(const double row[BUCKET_COUNT], int layers)
{
    double sum = 0.0;
    for (int l = 0; l < layers; l++)
        sum += row[stack_order[l]];
    return sum;
}

static void draw_survivors(FILE *out, const struct axes *ax,
                           double cum[SURVIVOR_BINS][BUCKET_COUNT],
                           uint64_t end_ns)
{
    for (int layer = 0; layer < BUCKET_COUNT; layer++) {
        fprintf(out, "<polygon class=\"b-%s\" points=\"",
                bucket_name(stack_order[layer]));
        fprintf(out, "%.1f,%.1f", ax->left, ax->bottom);
        for (size_t bin = 0; bin < SURVIVOR_BINS; bin++)
            fprintf(out, " %.1f,%.1f",
                    axes_x(ax, (uint64_t)((double)end_ns * (double)(bin + 1) /
                                          SURVIVOR_BINS)),
                    axes_y(ax, stacked(cum[bin], layer + 1)));
        for (size_t bin = SURVIVOR_BINS; bin-- > 0;)
            fprintf(out, " %.1f,%.1f",
                    axes_x(ax, (uint64_t)((double)end_ns * (double)(bin + 1) /
                                          SURVIVOR_BINS)),
                    axes_y(ax, stacked(cum[bin], layer)));
        fprintf(out, " %.1f,%.1f\"><title>%s survivors at exit, by birth "
                "time</title></polygon>\n", ax->left, ax->bottom,
                bucket_name(stack_order[layer]));
    }
}

void html_chart_timeline(FILE *out, const struct model *m,
                         const struct html_point *points, size_t npoints)
{
    double cum[SURVIVOR_BINS][BUCKET_COUNT];
    struct axes ax = { 80, 990, 10, 280, m->end_ns, 0 };

    double top;

    survivors_by_birth(m, cum);
    top = stacked(cum[SURVIVOR_BINS - 1], BUCKET_COUNT);
    /* Casting NaN or more than 2^64 to an integer is undefined. */
    ax.y_max = top >= 0.0 && top < 1.8e19 ? (uint64_t)top : 0;
    for (size_t i = 0; i < npoints; i++)
        if (points[i].bytes > ax.y_max)
            ax.y_max = points[i].bytes;
    if (ax.t_max == 0)
        ax.t_max = 1;
    fputs("<svg class=\"chart\" id=\"timeline-chart\" viewBox=\"0 0 1000 300\" "
          "role=\"img\" aria-label=\"live heap over the run\">\n", out);
    axes_draw(out, &ax);
    draw_survivors(out, &ax, cum, m->end_ns);
    /* The recording starts at time 0 with nothing live yet. */
    fprintf(out, "<polyline class=\"total\" points=\"%.1f,%.1f", ax.left,
            ax.bottom);
    for (size_t i = 0; i < npoints; i++)
        fprintf(out, " %.1f,%.1f", axes_x(&ax, points[i].t_ns),
                axes_y(&ax, (double)points[i].bytes));
    fputs("\"><title>live heap at each snapshot</title></polyline>\n</svg>\n",
          out);
}

void html_chart_site(FILE *out, const struct model *m,
                     const struct site_result *r, const char *label,
                     const struct html_point *points, size_t npoints)
{
    const char *verdict = verdict_kind_name(r->verdict.kind);
    struct axes ax = { 70, 450, 28, 100, m->end_ns ? m->end_ns : 1, 1 };
    char live[UNITS_BUF];

    for (size_t i = 0; i < npoints; i++)
        if (points[i].bytes > ax.y_max)
            ax.y_max = points[i].bytes;
    fprintf(out, "<figure class=\"site-chart %s\" data-site=\"%u\">\n"
            "<svg viewBox=\"0 0 460 120\" role=\"img\">\n", verdict,
            r->site->id);
    fprintf(out, "<text class=\"name\" x=\"4\" y=\"14\">#%u ", r->site->id);
    html_text_cut(out, label, 40);
    fprintf(out, " - live %s</text>\n",
            units_format_size(r->site->end.live_bytes, live));
    if (r->verdict.kind != VERDICT_OK)
        fprintf(out, "<rect class=\"badge\" x=\"400\" y=\"2\" width=\"56\" "
                "height=\"16\" rx=\"3\"/><text class=\"badge\" x=\"428\" "
                "y=\"14\" text-anchor=\"middle\">%s</text>\n",
                r->verdict.kind == VERDICT_LEAK ? "LEAK" : "SUSPECT");
    axes_draw(out, &ax);
    /* A step function: the site holds a point's bytes until the next. */
    fprintf(out, "<path class=\"line\" d=\"M%.1f,%.1f", ax.left, ax.bottom);
    for (size_t i = 0; i < npoints; i++)
        fprintf(out, "H%.1fV%.1f", axes_x(&ax, points[i].t_ns),
                axes_y(&ax, (double)points[i].bytes));
    fprintf(out, "H%.1f\"/>\n</svg>\n<figcaption><a href=\"#site-%u\">"
            "reasons and stack</a></figcaption>\n</figure>\n", ax.right,
            r->site->id);
}
