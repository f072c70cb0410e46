/*
 * timeline_fit.h - statistics of one site's live-bytes timeline, a step
 * function (struct verdict_point: the value holds from t_ns until the next
 * point; 0 before the first). Used by the verdicts to tell steady growth
 * from a plateau, a sawtooth or noise. Pure computation, no allocation:
 * every function is O(points) and works on a time window [from, to).
 */
#ifndef MTRACE_TIMELINE_FIT_H
#define MTRACE_TIMELINE_FIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "verdicts.h"

/* A least-squares line through the step function, weighted by time (the
 * continuous fit: every nanosecond counts once, however the snapshots fall). */
struct line_fit {
    double slope_per_s;   /* bytes per second */
    double intercept;     /* bytes at `from` */
    double r2;            /* 0 when the series is flat (nothing to explain) */
};

/* Fits over [from_ns, to_ns). Returns false (fit zeroed) on an empty window. */
bool timeline_fit_line(const struct verdict_point *pts, size_t n,
                       uint64_t from_ns, uint64_t to_ns, struct line_fit *fit);

/* The value in force at t (0 before the first point). */
uint64_t timeline_value_at(const struct verdict_point *pts, size_t n,
                           uint64_t t_ns);

/* Highest value in force anywhere in [from_ns, to_ns). */
uint64_t timeline_max(const struct verdict_point *pts, size_t n,
                      uint64_t from_ns, uint64_t to_ns);

/* Points in [from_ns, to_ns) whose value is above the one before them. */
size_t timeline_upsteps(const struct verdict_point *pts, size_t n,
                        uint64_t from_ns, uint64_t to_ns);

/* Time of the last point in [from_ns, to_ns) above the one before it, or
 * from_ns when there is none. */
uint64_t timeline_last_rise(const struct verdict_point *pts, size_t n,
                            uint64_t from_ns, uint64_t to_ns);

/* Substantial falls in [from_ns, to_ns): the value drops to at most
 * (1 - min_fraction) of the highest value since the previous fall, by at
 * least min_bytes. A buffer that grows and shrinks with load has several. */
size_t timeline_drawdowns(const struct verdict_point *pts, size_t n,
                          uint64_t from_ns, uint64_t to_ns,
                          double min_fraction, uint64_t min_bytes);

/* A release at exit: the series ends at no more than end_fraction of its
 * peak, the descent from its last point at or above half the peak (taken
 * from the top of that descent) starts within the last tail_ns of the run,
 * and from there on the series only falls (or stays within end_fraction of
 * the peak). On true, *drop_ns is the time of the first point of that
 * final drop (judge the series before it). */
bool timeline_teardown(const struct verdict_point *pts, size_t n,
                       uint64_t run_end_ns, uint64_t tail_ns,
                       double end_fraction, uint64_t *drop_ns);

/* The floor of the series: point i becomes min(v_i..v_{n-1}), what the site
 * never gave back afterwards. `out` holds n points (may alias pts). */
void timeline_floor(const struct verdict_point *pts, size_t n,
                    struct verdict_point *out);

#endif
