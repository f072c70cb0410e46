/*
 * options.h - the MTRACE_* environment settings, read once at start-up
 * (getenv is not safe later: the program may be changing its environment).
 */
#ifndef MTRACE_OPTIONS_H
#define MTRACE_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

struct mt_options {
    char out[4096];            /* MTRACE_OUT, "%p" not yet expanded */
    uint32_t interval_ms;      /* MTRACE_INTERVAL_MS */
    uint32_t depth;            /* MTRACE_DEPTH */
    bool mmap;                 /* MTRACE_MMAP */
    bool reachability;         /* MTRACE_REACHABILITY */
    bool disable;              /* MTRACE_DISABLE */
    bool verbose;              /* MTRACE_VERBOSE */
    int snapshot_signal;       /* MTRACE_SNAPSHOT_SIGNAL, 0 = none */
    bool check_unwind;         /* MTRACE_CHECK_UNWIND (testing aid) */
};

extern struct mt_options mt_opt;

/* Reads the environment into mt_opt; one stderr line per bad value, which
 * then keeps its default. */
void options_load(void);

/* Parses a decimal integer in [min, max]: 0, or -1 on any bad input. */
int options_parse_uint(const char *text, uint64_t min, uint64_t max,
                       uint64_t *value);
/* "0" or "1" (also "yes"/"no", "true"/"false", "on"/"off"): 0, or -1. */
int options_parse_bool(const char *text, bool *value);

/* A signal number or name ("USR2", "SIGUSR2"), not one whose default
 * action or meaning a tracer must leave alone: 0, or -1. */
int options_parse_signal(const char *text, int *signo);

#endif
