/* birth_period.c - see birth_period.h. */
#include "birth_period.h"

#include <stdlib.h>
#include <string.h>

/* Births of one burst are far closer to each other than bursts are: a gap
 * at least this many times the one below it in sorted order separates
 * "inside a burst" from "between bursts". */
#define BURST_GAP_RATIO 3.0

static int compare_u64(const void *pa, const void *pb)
{
    uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
    return (a > b) - (a < b);
}

/* The largest gap still inside a burst, from the sorted gaps: the middle of
 * the widest jump (ratio >= BURST_GAP_RATIO) that leaves enough gaps above
 * it for a period; 0 (only simultaneous births merge) without such a jump. */
static uint64_t burst_tolerance(const uint64_t *sorted, size_t ngaps)
{
    double best_ratio = BURST_GAP_RATIO;
    uint64_t tolerance = 0;
    size_t j;

    for (j = 0; j + BIRTH_PERIOD_MIN_EVENTS <= ngaps; j++) {
        uint64_t below = sorted[j], above = sorted[j + 1];
        double ratio;

        if (above == 0)
            continue;
        ratio = below == 0 ? 1e300 : (double)above / (double)below;
        if (ratio >= best_ratio) {
            best_ratio = ratio;
            tolerance = below + (above - below) / 2;
        }
    }
    return tolerance;
}

int birth_pattern_find(const uint64_t *births, size_t n,
                       struct birth_pattern *out)
{
    uint64_t *gaps, tolerance, start, median, low, high;
    size_t i, ngaps, regular = 0;
    double regular_sum = 0.0;

    memset(out, 0, sizeof *out);
    if (n == 0)
        return 0;
    out->events = 1;
    out->births_per_event = (double)n;
    if (n == 1)
        return 0;
    gaps = malloc((n - 1) * sizeof *gaps);
    if (!gaps)
        return -1;
    for (i = 0; i + 1 < n; i++)
        gaps[i] = births[i + 1] > births[i] ? births[i + 1] - births[i] : 0;
    qsort(gaps, n - 1, sizeof *gaps, compare_u64);
    tolerance = burst_tolerance(gaps, n - 1);

    /* Group into events, each measured from its first birth so that a long
     * chain of close births cannot merge into one event; reuse `gaps` for
     * the gaps between events. */
    ngaps = 0;
    start = births[0];
    for (i = 1; i < n; i++) {
        if (births[i] > start && births[i] - start > tolerance) {
            gaps[ngaps++] = births[i] - start;
            start = births[i];
        }
    }
    out->events = ngaps + 1;
    out->births_per_event = (double)n / (double)out->events;
    if (ngaps == 0) {
        free(gaps);
        return 0;
    }
    qsort(gaps, ngaps, sizeof *gaps, compare_u64);
    median = ngaps % 2 ? gaps[ngaps / 2]
                       : gaps[ngaps / 2 - 1] / 2 + gaps[ngaps / 2] / 2;
    low = (uint64_t)((double)median * (1.0 - BIRTH_PERIOD_TOLERANCE));
    high = (uint64_t)((double)median * (1.0 + BIRTH_PERIOD_TOLERANCE));
    for (i = 0; i < ngaps; i++) {
        if (gaps[i] >= low && gaps[i] <= high) {
            regular++;
            regular_sum += (double)gaps[i];
        }
    }
    free(gaps);
    out->regular_fraction = (double)regular / (double)ngaps;
    if (out->events >= BIRTH_PERIOD_MIN_EVENTS &&
        out->regular_fraction >= BIRTH_PERIOD_MIN_REGULAR && median > 0)
        out->period_ns = (uint64_t)(regular_sum / (double)regular + 0.5);
    return 0;
}
