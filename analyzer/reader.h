/*
 * reader.h - reads a trace file (trace_format.h) as a stream of validated
 * records. A trace is untrusted input: every length, count, string and site
 * id is checked before use, so that a damaged file is reported, never
 * followed. Memory stays bounded by one record (MT_RECORD_MAX), its
 * site counters unpacked (format 2: at most 48 bytes for every 6 of the
 * record's) and one byte per defined site, whatever the size of the file.
 */
#ifndef MTRACE_READER_H
#define MTRACE_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "trace_format.h"

enum reader_status {
    READER_RECORD,      /* a complete, valid record is in *rec */
    READER_EOF,         /* the file ends at a record boundary */
    READER_CUT,         /* the file ends inside a record: cut short */
    READER_ERROR,       /* not a trace, too new, damaged, or I/O: see err */
};

/* One module of a MODULES record; build_id and path point into the record
 * and are valid until the next reader_next. path has no NUL. */
struct reader_module {
    struct mt_module info;
    const uint8_t *build_id;
    const char *path;
};

struct reader_record {
    uint32_t type;              /* enum mt_record_type */
    uint64_t offset;            /* of the record header in the file */
    union {
        struct {
            struct mt_rec_process info;
            const char *exe;            /* info.exe_len bytes, no NUL */
            const char *cmdline;        /* info.cmdline_len bytes */
        } process;
        struct {
            uint32_t generation;
            uint32_t count;
            const struct reader_module *modules;
        } modules;
        struct {
            struct mt_rec_site info;
            uint64_t frames[MT_MAX_FRAMES];
        } site;
        struct {
            uint32_t count;
            const uint8_t *entries;     /* read with reader_counters_at */
        } counters;
        struct mt_rec_snapshot snapshot;
        struct {
            uint32_t count;
            const uint8_t *entries;     /* read with reader_survivor_at */
        } survivors;
        struct mt_rec_end end;
    } u;
};

struct trace_reader;

/* Opens and checks the file header. On failure returns NULL with one line
 * (no newline, without the path) in err, e.g. "not a regular file". */
struct trace_reader *reader_open(const char *path, char *err, size_t errlen);

/* The same over `size` bytes at `data`, which must outlive the reader (for
 * the fuzzer, and for callers holding a trace in memory). */
struct trace_reader *reader_open_memory(const void *data, size_t size,
                                        char *err, size_t errlen);

/* The next record. On READER_ERROR, reader_error() says what is wrong,
 * e.g. "damaged trace: SITE record at offset 40 has 300 frames (at most
 * 128)". The record's pointers live until the next call. */
enum reader_status reader_next(struct trace_reader *r,
                               struct reader_record *rec);

const char *reader_error(const struct trace_reader *r);

/* Rewinds to a record offset returned earlier in rec->offset, so that a
 * region (the survivors) can be read a second time. Sites stay defined. */
int reader_seek(struct trace_reader *r, uint64_t offset);

void reader_counters_at(const struct reader_record *rec, size_t i,
                        struct mt_site_counters *out);
void reader_survivor_at(const struct reader_record *rec, size_t i,
                        struct mt_survivor *out);

/* "SITE_COUNTERS", ... or "unknown". */
const char *reader_type_name(uint32_t type);

void reader_close(struct trace_reader *r);

#endif
