/*
 * report_html.h - what the parts of the HTML report share: the page
 * (report_html.c), its charts (report_html_charts.c), its flame graph
 * (report_html_flame.c) and its stylesheet and script
 * (report_html_assets.c).
 */
#ifndef MTRACE_REPORT_HTML_H
#define MTRACE_REPORT_HTML_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "analysis.h"
#include "report.h"

/* A point of a live-bytes timeline as the page draws and embeds it. */
struct html_point {
    uint64_t t_ns, bytes;
};

/* Timelines longer than this are thinned for the page: each kept point is
 * the highest of its stretch, so peaks survive, and the last is kept. */
#define HTML_TIMELINE_POINTS 600
#define HTML_SITE_TIMELINE_POINTS 200

/* Thins n points (by time) into out (room for max + 1); returns the count. */
size_t html_thin(const struct html_point *in, size_t n, size_t max,
                 struct html_point *out);

/* The whole program: live heap at each snapshot, and the survivors at exit
 * stacked by bucket over their birth times. */
void html_chart_timeline(FILE *out, const struct model *m,
                         const struct html_point *points, size_t npoints);
/* One site's live bytes over the run; `label` names it. */
void html_chart_site(FILE *out, const struct model *m,
                     const struct site_result *r, const char *label,
                     const struct html_point *points, size_t npoints);
/* The flame graph of every site's stack, valued by o->cost. */
void html_flame_graph(FILE *out, struct analysis *a,
                      const struct report_options *o);

extern const char report_html_css[];
extern const char report_html_js[];

#endif
