/*
 * verdicts.h - judges one call site: leak, suspect or ok, with reasons a
 * person can check, from the site's timeline and its survivors at the end.
 * Pure computation: no I/O, no global state.
 */
#ifndef MTRACE_VERDICTS_H
#define MTRACE_VERDICTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum verdict_kind { VERDICT_OK = 0, VERDICT_SUSPECT = 1, VERDICT_LEAK = 2 };

/* The site's live bytes from this time on (a step function). */
struct verdict_point {
    uint64_t t_ns;
    uint64_t live_bytes;
};

struct verdict_input {
    /* Every snapshot at which this site's counters changed, by time. The
     * site held 0 bytes before the first point. */
    const struct verdict_point *timeline;
    size_t npoints;
    uint64_t run_end_ns;         /* the recording's end; it starts at 0 */
    uint64_t interval_ns;        /* snapshot period of the recording */
    bool truncated;              /* cut short: no survivors, ends early */

    uint64_t allocs, frees;      /* over the whole run */
    uint64_t peak_live_bytes;
    uint64_t live_bytes_end, live_blocks_end;

    /* Birth times of the survivors at the end, ascending. May be a sample
     * of survivors_total births when the site has very many. */
    const uint64_t *survivor_births;
    size_t nbirths;
    uint64_t survivors_total;

    /* Reachability scan (MTRACE_REACHABILITY=1), when the trace holds one. */
    bool reachability;
    uint64_t unreachable_blocks, unreachable_bytes;

    /* Function names of the site's symbolized stack, innermost first
     * (NULL entries for unknown frames), for event-loop detection. */
    const char *const *functions;
    size_t nfunctions;

    uint64_t program_peak_live_bytes;  /* the whole program's peak */
};

#define VERDICT_MAX_REASONS 8
#define VERDICT_REASON_LEN 200

struct verdict {
    enum verdict_kind kind;
    double growth_bytes_per_s;   /* fitted growth over the judged span */
    uint64_t period_ns;          /* births at a regular period, else 0 */
    bool too_short;              /* recording too short to judge growth */
    size_t nreasons;
    char reasons[VERDICT_MAX_REASONS][VERDICT_REASON_LEN];
};

void verdict_judge(const struct verdict_input *in, struct verdict *out);

const char *verdict_kind_name(enum verdict_kind kind);  /* "leak", ... */

#endif
