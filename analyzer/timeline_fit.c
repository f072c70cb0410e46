/* timeline_fit.c - see timeline_fit.h. */
#include "timeline_fit.h"

#include <string.h>

/* Time-weighted moments of the step function, x in seconds from `from`:
 * the integrals of 1, x, x^2, v, x*v, v^2 over the window. */
struct moments {
    double w, x, xx, v, xv, vv;
};

static void moments_add(struct moments *m, double x0, double x1, double v)
{
    double d = x1 - x0;
    double x2 = (x1 * x1 - x0 * x0) / 2.0;

    if (d <= 0.0)
        return;
    m->w += d;
    m->x += x2;
    m->xx += (x1 * x1 * x1 - x0 * x0 * x0) / 3.0;
    m->v += v * d;
    m->xv += v * x2;
    m->vv += v * v * d;
}

/* Index of the first point with t_ns > t (binary search), so that the
 * point before it, if any, is the one in force at t. */
static size_t first_after(const struct verdict_point *pts, size_t n,
                          uint64_t t)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (pts[mid].t_ns <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

uint64_t timeline_value_at(const struct verdict_point *pts, size_t n,
                           uint64_t t_ns)
{
    size_t i = first_after(pts, n, t_ns);
    return i == 0 ? 0 : pts[i - 1].live_bytes;
}

/* Walks the constant pieces of the step function inside [from, to): the
 * value in force at `from`, then one piece per point up to `to`. */
struct piece_walk {
    const struct verdict_point *pts;
    size_t n, next;
    uint64_t at, to, value;
};

static void pieces_begin(struct piece_walk *w, const struct verdict_point *pts,
                         size_t n, uint64_t from, uint64_t to)
{
    w->pts = pts;
    w->n = n;
    w->next = first_after(pts, n, from);
    w->at = from;
    w->to = to;
    w->value = w->next == 0 ? 0 : pts[w->next - 1].live_bytes;
}

/* Stores the next piece [*a, *b) with value *v; false when done. */
static bool pieces_next(struct piece_walk *w, uint64_t *a, uint64_t *b,
                        uint64_t *v)
{
    uint64_t end;

    if (w->at >= w->to)
        return false;
    end = (w->next < w->n && w->pts[w->next].t_ns < w->to)
              ? w->pts[w->next].t_ns : w->to;
    *a = w->at;
    *b = end;
    *v = w->value;
    w->at = end;
    if (end < w->to)
        w->value = w->pts[w->next++].live_bytes;
    return true;
}

bool timeline_fit_line(const struct verdict_point *pts, size_t n,
                       uint64_t from_ns, uint64_t to_ns, struct line_fit *fit)
{
    struct moments m;
    struct piece_walk walk;
    uint64_t a, b, v;
    double cov, var_x, var_v;

    memset(fit, 0, sizeof *fit);
    if (to_ns <= from_ns)
        return false;
    memset(&m, 0, sizeof m);
    pieces_begin(&walk, pts, n, from_ns, to_ns);
    while (pieces_next(&walk, &a, &b, &v))
        moments_add(&m, (double)(a - from_ns) / 1e9,
                    (double)(b - from_ns) / 1e9, (double)v);
    if (m.w <= 0.0)
        return false;
    /* Scaled by w^2: cov = w*xv - x*v and so on; the scale cancels out. */
    cov = m.w * m.xv - m.x * m.v;
    var_x = m.w * m.xx - m.x * m.x;
    var_v = m.w * m.vv - m.v * m.v;
    if (var_x <= 0.0) {
        fit->intercept = m.v / m.w;
        return true;
    }
    fit->slope_per_s = cov / var_x;
    fit->intercept = (m.v - fit->slope_per_s * m.x) / m.w;
    /* Relative to the data's own spread: a flat series (var_v of rounding
     * size) explains nothing, it does not fit perfectly. */
    if (var_v > 1e-9 * m.w * m.vv && var_v > 0.0) {
        fit->r2 = (cov / var_x) * (cov / var_v);
        if (fit->r2 > 1.0)
            fit->r2 = 1.0;
        if (fit->r2 < 0.0)
            fit->r2 = 0.0;
    }
    return true;
}

uint64_t timeline_max(const struct verdict_point *pts, size_t n,
                      uint64_t from_ns, uint64_t to_ns)
{
    struct piece_walk walk;
    uint64_t a, b, v, best = 0;

    pieces_begin(&walk, pts, n, from_ns, to_ns);
    while (pieces_next(&walk, &a, &b, &v))
        if (v > best)
            best = v;
    return best;
}

/* Index of the first point at or after t. */
static size_t first_at_or_after(const struct verdict_point *pts, size_t n,
                                uint64_t t)
{
    return t == 0 ? 0 : first_after(pts, n, t - 1);
}

size_t timeline_upsteps(const struct verdict_point *pts, size_t n,
                        uint64_t from_ns, uint64_t to_ns)
{
    size_t i, count = 0;

    for (i = first_at_or_after(pts, n, from_ns);
         i < n && pts[i].t_ns < to_ns; i++) {
        uint64_t before = i == 0 ? 0 : pts[i - 1].live_bytes;
        if (pts[i].live_bytes > before)
            count++;
    }
    return count;
}

uint64_t timeline_last_rise(const struct verdict_point *pts, size_t n,
                            uint64_t from_ns, uint64_t to_ns)
{
    uint64_t last = from_ns;
    size_t i;

    for (i = first_at_or_after(pts, n, from_ns);
         i < n && pts[i].t_ns < to_ns; i++) {
        uint64_t before = i == 0 ? 0 : pts[i - 1].live_bytes;
        if (pts[i].live_bytes > before)
            last = pts[i].t_ns;
    }
    return last;
}

size_t timeline_drawdowns(const struct verdict_point *pts, size_t n,
                          uint64_t from_ns, uint64_t to_ns,
                          double min_fraction, uint64_t min_bytes)
{
    struct piece_walk walk;
    uint64_t a, b, v, high = 0;
    size_t count = 0;

    pieces_begin(&walk, pts, n, from_ns, to_ns);
    while (pieces_next(&walk, &a, &b, &v)) {
        if (v > high) {
            high = v;
        } else if ((double)v <= (1.0 - min_fraction) * (double)high &&
                   high - v >= min_bytes) {
            count++;
            high = v;   /* the next fall is measured from the next rise */
        }
    }
    return count;
}

bool timeline_teardown(const struct verdict_point *pts, size_t n,
                       uint64_t run_end_ns, uint64_t tail_ns,
                       double end_fraction, uint64_t *drop_ns)
{
    uint64_t peak = 0, tail_start;
    size_t i, last_high = 0;

    if (n < 2)
        return false;
    for (i = 0; i < n; i++)
        if (pts[i].live_bytes > peak)
            peak = pts[i].live_bytes;
    if (peak == 0 ||
        (double)pts[n - 1].live_bytes > end_fraction * (double)peak)
        return false;
    for (i = 0; i < n; i++)
        if (pts[i].live_bytes >= peak / 2 + peak % 2)
            last_high = i;
    if (last_high + 1 >= n)
        return false;
    /* A teardown that spans snapshots (Python frees a list's items one by
     * one) leaves points on the way down that are still above half the
     * peak: the drop starts at the top of that descent, or the judged span
     * would end on a fall and look like a plateau. */
    while (last_high > 0 &&
           pts[last_high].live_bytes < pts[last_high - 1].live_bytes)
        last_high--;
    tail_start = run_end_ns > tail_ns ? run_end_ns - tail_ns : 0;
    if (pts[last_high + 1].t_ns < tail_start)
        return false;
    /* A teardown only gives back: a series that climbs again after the
     * fall (a new tooth of a sawtooth) is still working. */
    for (i = last_high + 2; i < n; i++)
        if (pts[i].live_bytes > pts[i - 1].live_bytes &&
            (double)pts[i].live_bytes > end_fraction * (double)peak)
            return false;
    *drop_ns = pts[last_high + 1].t_ns;
    return true;
}

void timeline_floor(const struct verdict_point *pts, size_t n,
                    struct verdict_point *out)
{
    uint64_t low = UINT64_MAX;
    size_t i;

    for (i = n; i-- > 0;) {
        if (pts[i].live_bytes < low)
            low = pts[i].live_bytes;
        out[i].t_ns = pts[i].t_ns;
        out[i].live_bytes = low;
    }
}
