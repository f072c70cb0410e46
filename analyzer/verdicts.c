/*
 * verdicts.c - see verdicts.h. Judges a site on three kinds of evidence:
 * the growth of its own live bytes over time (timeline_fit.h), the births
 * of its survivors (birth_period.h) and the reachability scan; the stack's
 * event loop (event_loops.h) only adds a hint to the reasons.
 *
 * Thresholds, and why (tuned on the gallery in tests/unit/test_verdicts.c):
 * - Too short: fewer than 10 snapshots in the run, or a site active for
 *   fewer than 5: a ramp cannot be told from one step and some noise.
 * - Teardown: a series that ends at <= 10% of its peak, after its last
 *   value >= half the peak, within the last 5% of the run (at least 2
 *   snapshot intervals and at least 500 ms), was released at exit
 *   (Node.js, C++ destructors): it is judged on the span before that drop.
 *   The 500 ms is for runtimes that go on finalizing after they freed the
 *   structure: Python 3.11 took up to 220 ms from freeing a list to exit
 *   on a loaded 2-core machine, whatever the length of the run. The drop
 *   is taken from the top of its descent (it may span snapshots), and a
 *   series that climbs again after it is a sawtooth, not a teardown.
 * - Growth is a time-weighted least-squares line over the judged span (from
 *   the site's first snapshot, so a site that starts late is not diluted).
 *   Leak-grade: R^2 >= 0.90 (a staircase of periodic or random appends fits
 *   at 0.95-1.0; a plateau or a sawtooth does not), at least 4 rises, and a
 *   fitted growth >= 50% of the site's own peak (a slow leak under a big,
 *   stable heap is judged on its own series; a big base with a sliver of
 *   growth is not a leak). Suspect-grade: R^2 >= 0.60, 3 rises, >= 10%.
 * - Still growing: the net rise over the last third of the span must be at
 *   least 30% of what the fitted slope predicts there, else the site
 *   plateaued (a bounded cache that filled up): a cache full by about 3/4
 *   of the run is ok. A lower bar misses caches; a higher one calls random
 *   arrivals (a few per third) a plateau too often.
 * - Sawtooth: 2 or more falls to <= 70% of the high since the previous
 *   fall, each by >= 10% of the site's peak, are memory given back as load
 *   falls: not growth. Only the floor (what is never given back afterwards)
 *   can then show a leak, at leak grade measured against the raw peak, and
 *   with at least half of its rise before the last third: the floor of
 *   mere noise rises by a fraction of its swings, mostly at the end, where
 *   fewer and fewer samples remain to pull it down.
 * - Suspect-grade growth with survivors born at a regular period is a leak:
 *   the period is independent evidence of a timer that keeps appending.
 * - A single block that realloc keeps moving (allocs = frees + 1) whose
 *   rises reach past the middle of the span is suspect even when its last
 *   third is flat: doubling arrays rise ever more rarely.
 * - Start-up data: every survivor born within the first 5% of the run.
 * - Unreachable blocks (valgrind's "definitely lost") are a leak when they
 *   are >= 10% of the site's live bytes at the end, suspect below that.
 *   They need no growth, so they count even in a short recording.
 */
#include "verdicts.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "birth_period.h"
#include "event_loops.h"
#include "timeline_fit.h"
#include "units.h"

#define DEFAULT_INTERVAL_NS 100000000ull   /* MTRACE_INTERVAL_MS default */
#define MIN_RUN_SNAPSHOTS 10
#define MIN_SITE_SNAPSHOTS 5
#define TEARDOWN_TAIL_SHARE 0.05
#define TEARDOWN_TAIL_INTERVALS 2
#define TEARDOWN_TAIL_MIN_NS 500000000ull
#define TEARDOWN_END_SHARE 0.10
#define LEAK_MIN_R2 0.90
#define LEAK_MIN_RISES 4
#define LEAK_MIN_RELATIVE_GROWTH 0.5
#define SUSPECT_MIN_R2 0.60
#define SUSPECT_MIN_RISES 3
#define SUSPECT_MIN_RELATIVE_GROWTH 0.1
#define LATE_SPAN_SHARE (1.0 / 3.0)
#define LATE_MIN_GROWTH_SHARE 0.3
#define FLOOR_MIN_EARLY_SHARE 0.5
#define DRAWDOWN_FALL 0.3
#define DRAWDOWN_MIN_SHARE_OF_PEAK 0.1
#define SAWTOOTH_MIN_DRAWDOWNS 2
#define STARTUP_SHARE 0.05
#define SPREAD_MIN_SHARE 0.5
#define UNREACHABLE_LEAK_SHARE 0.10
#define BURST_MIN_BIRTHS_PER_EVENT 1.5

enum growth_level { GROWTH_NONE, GROWTH_WEAK, GROWTH_STRONG };

/* The growth of one series over the judged span. */
struct growth {
    struct line_fit fit;
    double late_growth;        /* net rise over the last third, bytes */
    double early_share;        /* of the net rise, what came before it */
    double relative;           /* fitted growth / size of reference */
    uint64_t start_bytes, end_bytes, peak, last_rise_ns;
    size_t rises, drawdowns;
    bool plateau;
    enum growth_level level;
};

/* Everything the reasons are written from. */
struct evidence {
    uint64_t interval_ns, from, to;   /* judged span [from, to) */
    bool teardown, too_short_run, too_short_site;
    struct growth raw, floor;
    bool by_floor;                    /* leak seen only in the floor */
    bool growing_block;               /* one block realloc'd ever larger */
    struct birth_pattern births;
    bool births_known, period_trusted, startup, spread;
    enum verdict_kind growth_kind, unreachable_kind;
};

const char *verdict_kind_name(enum verdict_kind kind)
{
    switch (kind) {
    case VERDICT_LEAK:
        return "leak";
    case VERDICT_SUSPECT:
        return "suspect";
    case VERDICT_OK:
        break;
    }
    return "ok";
}

static void add_reason(struct verdict *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add_reason(struct verdict *out, const char *fmt, ...)
{
    va_list ap;

    if (out->nreasons >= VERDICT_MAX_REASONS)
        return;
    va_start(ap, fmt);
    vsnprintf(out->reasons[out->nreasons++], VERDICT_REASON_LEN, fmt, ap);
    va_end(ap);
}

/* Relative growth is measured against size_ref, or the series' own peak
 * when size_ref is 0. */
static void measure_growth(const struct verdict_point *pts, size_t n,
                           uint64_t from, uint64_t to, uint64_t size_ref,
                           struct growth *g)
{
    uint64_t late_from = to - (uint64_t)((double)(to - from) * LATE_SPAN_SHARE);
    double span_s = (double)(to - from) / 1e9;

    memset(g, 0, sizeof *g);
    timeline_fit_line(pts, n, from, to, &g->fit);
    g->peak = timeline_max(pts, n, from, to);
    g->start_bytes = timeline_value_at(pts, n, from);
    g->end_bytes = timeline_value_at(pts, n, to - 1);
    g->rises = timeline_upsteps(pts, n, from, to);
    g->last_rise_ns = timeline_last_rise(pts, n, from, to);
    g->drawdowns = timeline_drawdowns(
        pts, n, from, to, DRAWDOWN_FALL,
        (uint64_t)((double)g->peak * DRAWDOWN_MIN_SHARE_OF_PEAK));
    if (size_ref == 0)
        size_ref = g->peak;
    if (size_ref > 0)
        g->relative = g->fit.slope_per_s * span_s / (double)size_ref;
    /* The net rise, not a fit: over a third of the span a fitted slope of
     * random arrivals is too noisy to tell a pause from a plateau. */
    g->late_growth = (double)g->end_bytes -
                     (double)timeline_value_at(pts, n, late_from);
    if (g->end_bytes > g->start_bytes)
        g->early_share = ((double)timeline_value_at(pts, n, late_from) -
                          (double)g->start_bytes) /
                         (double)(g->end_bytes - g->start_bytes);
    g->plateau = g->late_growth < LATE_MIN_GROWTH_SHARE * g->fit.slope_per_s *
                                      span_s * LATE_SPAN_SHARE;

    if (g->fit.slope_per_s <= 0.0 || g->plateau ||
        g->drawdowns >= SAWTOOTH_MIN_DRAWDOWNS)
        g->level = GROWTH_NONE;
    else if (g->fit.r2 >= LEAK_MIN_R2 && g->rises >= LEAK_MIN_RISES &&
             g->relative >= LEAK_MIN_RELATIVE_GROWTH)
        g->level = GROWTH_STRONG;
    else if (g->fit.r2 >= SUSPECT_MIN_R2 && g->rises >= SUSPECT_MIN_RISES &&
             g->relative >= SUSPECT_MIN_RELATIVE_GROWTH)
        g->level = GROWTH_WEAK;
}

/* The floor of the judged points: when the raw series saws up and down,
 * what the site never gives back may still grow steadily underneath. */
static void measure_floor(const struct verdict_input *in, struct evidence *e)
{
    size_t n = 0;
    struct verdict_point *floor;

    while (n < in->npoints && in->timeline[n].t_ns < e->to)
        n++;
    if (n == 0)
        return;
    floor = malloc(n * sizeof *floor);
    if (!floor)
        return;   /* no memory: judge on the raw series alone */
    timeline_floor(in->timeline, n, floor);
    /* Against the raw peak: noise has a floor that creeps up by a fraction
     * of its own swings; a leak's floor rises by most of the site's size. */
    measure_growth(floor, n, e->from, e->to, e->raw.peak, &e->floor);
    free(floor);
}

static void judge_growth(const struct verdict_input *in, struct evidence *e)
{
    uint64_t tail, drop;

    e->interval_ns = in->interval_ns ? in->interval_ns : DEFAULT_INTERVAL_NS;
    e->too_short_run = in->run_end_ns / e->interval_ns < MIN_RUN_SNAPSHOTS;
    if (in->npoints == 0 || e->too_short_run)
        return;
    e->from = in->timeline[0].t_ns;
    e->to = in->run_end_ns;
    tail = (uint64_t)((double)in->run_end_ns * TEARDOWN_TAIL_SHARE);
    if (tail < TEARDOWN_TAIL_INTERVALS * e->interval_ns)
        tail = TEARDOWN_TAIL_INTERVALS * e->interval_ns;
    if (tail < TEARDOWN_TAIL_MIN_NS)
        tail = TEARDOWN_TAIL_MIN_NS;
    if (!in->truncated &&
        timeline_teardown(in->timeline, in->npoints, in->run_end_ns, tail,
                          TEARDOWN_END_SHARE, &drop) &&
        drop > e->from) {
        e->teardown = true;
        e->to = drop;
    }
    if (e->to <= e->from ||
        (e->to - e->from) / e->interval_ns < MIN_SITE_SNAPSHOTS) {
        e->too_short_site = true;
        return;
    }
    measure_growth(in->timeline, in->npoints, e->from, e->to, 0, &e->raw);
    /* An array grown by doubling rises at ever longer intervals, so its
     * last third can be flat like a full cache's; but its rises reach past
     * the middle of the span, and it is one block that realloc moved on
     * (allocs = frees + 1). Worth a look. */
    e->growing_block = in->live_blocks_end == 1 && in->frees + 1 == in->allocs &&
                       e->raw.rises >= LEAK_MIN_RISES &&
                       e->raw.drawdowns < SAWTOOTH_MIN_DRAWDOWNS &&
                       e->raw.fit.slope_per_s > 0.0 &&
                       e->raw.last_rise_ns - e->from >= (e->to - e->from) / 2;
    if (e->raw.drawdowns >= SAWTOOTH_MIN_DRAWDOWNS) {
        measure_floor(in, e);
        e->by_floor = e->floor.level == GROWTH_STRONG &&
                      e->floor.early_share >= FLOOR_MIN_EARLY_SHARE;
    }
}

static void judge_births(const struct verdict_input *in, struct evidence *e)
{
    uint64_t first, last, startup_end;

    if (in->truncated || in->nbirths == 0 || !in->survivor_births)
        return;
    if (birth_pattern_find(in->survivor_births, in->nbirths, &e->births) != 0)
        return;   /* no memory: say nothing about births */
    e->births_known = true;
    first = in->survivor_births[0];
    last = in->survivor_births[in->nbirths - 1];
    /* A sample of the births that kept one per tick thinned the ticks, and
     * its rhythm is the sampler's, not the program's. A rhythm faster than
     * the snapshots that ends within a few of them (a start-up loop) is no
     * timer either. */
    e->period_trusted = e->births.period_ns > 0 &&
                        (in->nbirths >= in->survivors_total ||
                         e->births.births_per_event >= BURST_MIN_BIRTHS_PER_EVENT) &&
                        last > first &&
                        last - first >= MIN_SITE_SNAPSHOTS * e->interval_ns;
    startup_end = (uint64_t)((double)in->run_end_ns * STARTUP_SHARE);
    e->startup = last <= startup_end;
    e->spread = e->to > e->from && last > first &&
                (double)(last - first) >= SPREAD_MIN_SHARE * (double)(e->to - e->from);
}

static void judge_unreachable(const struct verdict_input *in,
                              struct evidence *e)
{
    double share;

    if (!in->reachability || in->unreachable_blocks == 0)
        return;
    share = in->live_bytes_end > 0
                ? (double)in->unreachable_bytes / (double)in->live_bytes_end
                : 1.0;
    e->unreachable_kind =
        share >= UNREACHABLE_LEAK_SHARE ? VERDICT_LEAK : VERDICT_SUSPECT;
}

static enum verdict_kind growth_kind(const struct evidence *e)
{
    if (e->too_short_run || e->too_short_site)
        return VERDICT_OK;
    if (e->raw.level == GROWTH_STRONG || e->by_floor)
        return VERDICT_LEAK;
    if (e->raw.level == GROWTH_WEAK)
        return e->period_trusted ? VERDICT_LEAK : VERDICT_SUSPECT;
    return e->growing_block ? VERDICT_SUSPECT : VERDICT_OK;
}

/* "grew steadily from 64.0 KiB to 3.0 MiB over 30.0 s (100.0 KiB/s, R^2 0.99)" */
static void reason_growth(struct verdict *out, const struct verdict_input *in,
                          const struct evidence *e)
{
    const struct growth *g = e->by_floor ? &e->floor : &e->raw;
    char from[UNITS_BUF], to[UNITS_BUF], span[UNITS_BUF], rate[UNITS_BUF];

    units_format_size(g->start_bytes, from);
    /* Without a teardown the snapshot taken at exit, at the span's very
     * end, holds the last word. */
    units_format_size(e->teardown ? g->end_bytes
                                  : timeline_value_at(in->timeline, in->npoints,
                                                      e->to),
                      to);
    units_format_duration(e->to - e->from, span);
    units_format_size(units_round_u64(g->fit.slope_per_s), rate);
    if (e->by_floor)
        add_reason(out, "what it never gave back grew steadily from %s to %s "
                   "over %s (%s/s, R^2 %.2f), beneath allocations it frees",
                   from, to, span, rate, g->fit.r2);
    else if (g->level == GROWTH_STRONG)
        add_reason(out, "live bytes grew steadily from %s to %s over %s "
                   "(%s/s, R^2 %.2f)", from, to, span, rate, g->fit.r2);
    else
        add_reason(out, "live bytes grew from %s to %s over %s (%s/s), "
                   "unsteadily (R^2 %.2f)", from, to, span, rate, g->fit.r2);
    if (e->teardown) {
        units_format_size(g->peak, to);
        add_reason(out, "grew %sto %s, then released at exit (teardown)",
                   g->level == GROWTH_STRONG ? "steadily " : "", to);
    }
}

static void reason_survivors(struct verdict *out, const struct verdict_input *in,
                             const struct evidence *e)
{
    char period[UNITS_BUF], first[UNITS_BUF], last[UNITS_BUF];
    unsigned long long live = (unsigned long long)in->survivors_total;
    unsigned long long allocs = (unsigned long long)in->allocs;

    if (in->live_blocks_end == 1 && in->allocs > 1 &&
        in->frees + 1 == in->allocs)
        add_reason(out, "a single block that keeps growing (%llu allocations, "
                   "%llu frees): an array grown by realloc?", allocs,
                   (unsigned long long)in->frees);
    if (!e->births_known)
        return;
    units_format_duration(e->births.period_ns, period);
    if (e->period_trusted && e->births.births_per_event >= BURST_MIN_BIRTHS_PER_EVENT)
        add_reason(out, "born in bursts of ~%.0f every %s, %llu of %llu still live",
                   e->births.births_per_event, period, live, allocs);
    else if (e->period_trusted)
        add_reason(out, "born every %s, %llu of %llu still live", period,
                   live, allocs);
    else if (e->spread)
        add_reason(out, "born throughout the run (%s to %s) at irregular "
                   "times, %llu of %llu still live",
                   units_format_duration(in->survivor_births[0], first),
                   units_format_duration(in->survivor_births[in->nbirths - 1], last),
                   live, allocs);
    else if (in->frees == 0 && in->allocs == 1)
        add_reason(out, "its only block was never freed");
    else if (in->frees == 0 && in->allocs > 0)
        add_reason(out, "none of its %llu blocks was freed", allocs);
}

static void reason_reachability(struct verdict *out,
                                const struct verdict_input *in,
                                const struct evidence *e)
{
    char bytes[UNITS_BUF];

    if (!in->reachability)
        return;
    if (in->unreachable_blocks > 0)
        add_reason(out, "%llu block%s (%s) unreachable at exit: definitely lost",
                   (unsigned long long)in->unreachable_blocks,
                   in->unreachable_blocks == 1 ? "" : "s",
                   units_format_size(in->unreachable_bytes, bytes));
    else if (e->growth_kind != VERDICT_OK && in->survivors_total > 0)
        add_reason(out, "all %llu survivors still reachable at exit: a live "
                   "structure holds them", (unsigned long long)in->survivors_total);
}

static void reason_event_loop(struct verdict *out,
                              const struct verdict_input *in)
{
    struct event_loop_hint hint;

    if (!in->functions || !event_loop_find(in->functions, in->nfunctions, &hint))
        return;
    if (hint.timer)
        add_reason(out, "allocated from a timer callback (%s %.60s): an "
                   "interval that appends and never trims?", hint.framework,
                   hint.function);
    else
        add_reason(out, "allocated from an event loop callback (%s %.60s): a "
                   "periodic handler that appends and never trims?",
                   hint.framework, hint.function);
}

static void reason_too_short(struct verdict *out, const struct verdict_input *in,
                             const struct evidence *e)
{
    char span[UNITS_BUF];

    if (e->too_short_run)
        add_reason(out, "recording too short to judge growth (%llu snapshots "
                   "over %s)", (unsigned long long)(in->run_end_ns / e->interval_ns),
                   units_format_duration(in->run_end_ns, span));
    else if (e->too_short_site)
        add_reason(out, "active for only %s (%llu snapshots): too short to "
                   "judge growth",
                   units_format_duration(e->to > e->from ? e->to - e->from : 0, span),
                   (unsigned long long)((e->to > e->from ? e->to - e->from : 0) /
                                        e->interval_ns));
}

/* Why an ok site with memory is ok, when the evidence says something. */
static void reason_ok(struct verdict *out, const struct verdict_input *in,
                      const struct evidence *e)
{
    char a[UNITS_BUF], b[UNITS_BUF];
    const struct growth *g = &e->raw;

    if (e->too_short_run || e->too_short_site || in->npoints == 0)
        return;
    if (e->births_known && e->startup && in->survivors_total == 1)
        add_reason(out, "its survivor was born in the first %s (start-up data)",
                   units_format_duration(in->survivor_births[0], a));
    else if (e->births_known && e->startup)
        add_reason(out, "all %llu survivors born in the first %s "
                   "(start-up data)", (unsigned long long)in->survivors_total,
                   units_format_duration(in->survivor_births[in->nbirths - 1], a));
    if (g->drawdowns >= SAWTOOTH_MIN_DRAWDOWNS)
        add_reason(out, "shrank substantially %zu times: grows and shrinks "
                   "with load", g->drawdowns);
    else if (g->plateau && g->fit.slope_per_s > 0.0)
        add_reason(out, "rose to %s, then held level over the last %s "
                   "(bounded, like a cache)", units_format_size(g->peak, a),
                   units_format_duration((uint64_t)((double)(e->to - e->from) *
                                                    LATE_SPAN_SHARE), b));
    else if (g->fit.slope_per_s > 0.0 && g->relative >= SUSPECT_MIN_RELATIVE_GROWTH)
        add_reason(out, "no steady growth (R^2 %.2f)", g->fit.r2);
}

void verdict_judge(const struct verdict_input *in, struct verdict *out)
{
    struct evidence e;

    memset(out, 0, sizeof *out);
    memset(&e, 0, sizeof e);
    judge_growth(in, &e);
    judge_births(in, &e);
    judge_unreachable(in, &e);
    e.growth_kind = growth_kind(&e);

    out->kind = e.growth_kind > e.unreachable_kind ? e.growth_kind
                                                   : e.unreachable_kind;
    out->too_short = e.too_short_run || e.too_short_site;
    if (!out->too_short && in->npoints > 0)
        out->growth_bytes_per_s = e.by_floor ? e.floor.fit.slope_per_s
                                             : e.raw.fit.slope_per_s;
    if (e.period_trusted)
        out->period_ns = e.births.period_ns;

    if (e.growth_kind != VERDICT_OK)
        reason_growth(out, in, &e);
    if (out->kind != VERDICT_OK)
        reason_survivors(out, in, &e);
    reason_reachability(out, in, &e);
    if (out->kind != VERDICT_OK)
        reason_event_loop(out, in);
    reason_too_short(out, in, &e);
    if (out->kind == VERDICT_OK)
        reason_ok(out, in, &e);
}
