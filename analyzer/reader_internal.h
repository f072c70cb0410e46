/*
 * reader_internal.h - what reader.c (the stream: opening, the file header,
 * record headers and their order) shares with reader_records.c (each
 * record's payload, decoded and checked). Not for the reader's users:
 * reader.h is their interface.
 */
#ifndef MTRACE_READER_INTERNAL_H
#define MTRACE_READER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "reader.h"

/* Site ids are dense from 1, but a writer may emit one interval's new sites
 * in any order; an id further than this beyond the sites defined so far is
 * damage, and the bound keeps the id table from growing without limit. */
#define READER_SITE_ID_SLACK (1u << 20)

/* Times are nanoseconds since the process started: 2^62 ns is 146 years,
 * so a larger one is damage. The bound also keeps the analysis's time
 * arithmetic (gaps between births scaled by a tolerance, sums of
 * durations) inside uint64_t. */
#define READER_TIME_MAX (1ull << 62)

struct trace_reader {
    FILE *file;
    char *stdio_buffer;
    uint64_t offset;            /* of the next byte to read */
    uint8_t *payload;           /* MT_RECORD_MAX bytes */
    struct reader_module *modules;
    size_t modules_cap;
    uint8_t *site_defined;      /* indexed by site id */
    size_t site_defined_cap;
    uint64_t sites_defined;
    uint32_t last_generation;
    uint32_t version;           /* the file header's */
    /* Version 2's packed SITE_COUNTERS entries, unpacked: what
     * reader_counters_at reads for them. */
    struct mt_site_counters *unpacked;
    size_t unpacked_cap;
    bool seen_process;
    bool seen_end;
    char err[512];
};

/* "damaged trace: TYPE record at offset N <what>" into r's error;
 * returns READER_ERROR. */
__attribute__((format(printf, 3, 4)))
enum reader_status reader_damaged(struct trace_reader *r,
                                  const struct reader_record *rec,
                                  const char *fmt, ...);

/* rec's payload (length bytes in r->payload) decoded into rec and
 * checked; what r knows of defined sites and modules follows it. */
enum reader_status reader_decode(struct trace_reader *r,
                                 struct reader_record *rec, uint32_t length);

#endif
