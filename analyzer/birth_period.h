/*
 * birth_period.h - finds the rhythm in the birth times of a site's
 * survivors: a timer that allocates every 50 ms leaves births 50 ms apart,
 * or bursts of k births 50 ms apart. Pure computation; allocates scratch
 * space proportional to the number of births.
 */
#ifndef MTRACE_BIRTH_PERIOD_H
#define MTRACE_BIRTH_PERIOD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A period is declared with at least this many events (births, or bursts
 * of births at the same moment) ... */
#define BIRTH_PERIOD_MIN_EVENTS 5
/* ... when at least this share of the gaps between events lie within
 * BIRTH_PERIOD_TOLERANCE of their median. A timer drifts a little (the
 * loop's own work, scheduling): 20% absorbs that; irregular arrivals
 * (requests) put far fewer than 70% of their gaps in such a band. */
#define BIRTH_PERIOD_MIN_REGULAR 0.7
#define BIRTH_PERIOD_TOLERANCE 0.2

struct birth_pattern {
    size_t events;           /* births grouped into bursts */
    double births_per_event; /* average burst size */
    double regular_fraction; /* gaps within tolerance of the median */
    uint64_t period_ns;      /* mean of the regular gaps, 0 if no period */
};

/* Births ascending (a few out of order are tolerated as simultaneous).
 * Returns -1 when out of memory (pattern zeroed), else 0. */
int birth_pattern_find(const uint64_t *births, size_t n,
                       struct birth_pattern *out);

#endif
