/*
 * model.h - what a trace says about the program, built record by record:
 * the process, every module map, the call sites with their committed
 * counters and live-bytes timelines, the global timeline, and at the end
 * the survivors aggregated per site. SITE and SITE_COUNTERS records are
 * held pending until the SNAPSHOT that commits them, so a snapshot cut
 * short by a kill is discarded as a whole (trace_format.h).
 */
#ifndef MTRACE_MODEL_H
#define MTRACE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buckets.h"
#include "reader.h"
#include "symbols.h"
#include "verdicts.h"

/* Survivors' birth times kept per site; beyond this, a uniform sample. */
#define MODEL_BIRTHS_CAP 65536

#define MODEL_NO_MODULES SIZE_MAX

/* One MODULES record: the module map of one generation. */
struct model_module_map {
    uint32_t generation;
    size_t count;
    struct sym_module *modules;     /* path and build_id owned */
};

struct model_counters {
    uint64_t live_bytes, allocs, frees, bytes_allocated, peak_live_bytes;
};

/* The site at the end of the recording. */
struct model_site_end {
    uint64_t live_bytes, live_blocks;
    struct bucket_totals buckets;
    uint64_t unreachable_blocks, unreachable_bytes;
    uint64_t *births;               /* ascending once the model is loaded */
    size_t nbirths, births_cap;
    uint64_t survivors_seen;        /* births offered, sampled or not */
    bool has_ages;                  /* oldest/newest below are known */
    uint64_t oldest_birth_ns, newest_birth_ns;
};

struct model_site {
    uint32_t id;
    uint32_t kind;                  /* enum mt_site_kind */
    size_t index;                   /* position in model.sites */
    uint32_t nframes;
    uint64_t *frames;               /* raw return addresses, innermost first */
    size_t module_map;              /* index in model.maps or MODEL_NO_MODULES */
    struct model_counters counters; /* latest committed */
    struct verdict_point *timeline; /* a point whenever live bytes changed */
    size_t npoints, timeline_cap;
    struct model_site_end end;
};

struct model_point {
    uint64_t t_ns, live_bytes;
};

struct model {
    struct bucket_thresholds thresholds;

    bool has_process;
    struct mt_rec_process process;
    char *exe;                      /* NUL-terminated copy, or NULL */
    char *cmdline;                  /* arguments separated by NULs */
    size_t cmdline_len;

    struct model_module_map *maps;
    size_t nmaps, maps_cap;

    /* Sites in definition order; those at [ncommitted, nsites) are pending. */
    struct model_site **sites;
    size_t nsites, ncommitted, sites_cap;
    struct model_site **by_id;      /* indexed by site id */
    size_t by_id_cap;

    struct mt_site_counters *pending_counters;
    size_t npending_counters, pending_cap;

    struct model_point *timeline;   /* one point per committed snapshot */
    size_t ntimeline, timeline_cap;
    bool has_snapshot;
    struct mt_rec_snapshot last_snapshot;

    bool has_end;
    struct mt_rec_end end;
    bool truncated;                 /* no END: cut short */
    bool survivors_used;            /* end state comes from SURVIVORS */
    bool ages_estimated;            /* end state estimated from timelines */
    bool reachability;              /* END says a reachability scan ran */
    uint64_t end_ns;                /* END.t_ns, else the last snapshot's */

    /* The whole program at the end of the recording. */
    uint64_t live_bytes_end, live_blocks_end;
    struct bucket_totals buckets;

    uint64_t birth_sample_state;    /* PRNG for reservoir sampling */
};

void model_init(struct model *m, const struct bucket_thresholds *th);
void model_free(struct model *m);

void model_set_process(struct model *m, const struct reader_record *rec);
void model_add_module_map(struct model *m, const struct reader_record *rec);
/* The reader has checked that the id is new. */
struct model_site *model_define_site(struct model *m,
                                     const struct reader_record *rec);
/* A defined site (pending or committed), or NULL. */
struct model_site *model_site_find(const struct model *m, uint32_t id);
void model_queue_counters(struct model *m, const struct reader_record *rec);
/* Commits the pending sites and counters at this snapshot. */
void model_commit_snapshot(struct model *m, const struct mt_rec_snapshot *s);
/* Forgets the pending sites and counters (a snapshot cut short). */
void model_discard_pending(struct model *m);

/* No END: forgets what is pending, and ends the recording at the last
 * committed snapshot. */
void model_mark_truncated(struct model *m);

/* The end state from survivors: call model_set_end first, then add each
 * survivor, then model_finish_survivors. */
void model_set_end(struct model *m, const struct mt_rec_end *end);
void model_add_survivor(struct model *m, const struct mt_survivor *s);
void model_finish_survivors(struct model *m);

/* Live blocks a site's counters imply (allocs - frees, never negative). */
uint64_t model_counters_live_blocks(const struct model_counters *c);

#endif
