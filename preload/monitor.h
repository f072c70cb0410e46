/*
 * monitor.h - MTRACE_VERBOSE=1: one line on stderr per snapshot, in the
 * spirit of node --trace-gc, so a person can watch a long-running service:
 * time, live heap and its change, young/old/large, and the site that grew
 * most in the interval.
 */
#ifndef MTRACE_MONITOR_H
#define MTRACE_MONITOR_H

#include <stdint.h>

struct site;

/* Called under the snapshot lock after each periodic snapshot. */
void monitor_line(uint64_t now_ns, uint64_t live_bytes,
                  const struct site *top_site, int64_t top_growth);

#endif
