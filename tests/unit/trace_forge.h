/*
 * trace_forge.h - builds traces in memory for the reader and model tests,
 * well-formed or deliberately damaged, and writes them (or a prefix of
 * them) to files under test_tmpdir().
 */
#ifndef MTRACE_TEST_TRACE_FORGE_H
#define MTRACE_TEST_TRACE_FORGE_H

#include <stddef.h>
#include <stdint.h>

#include "trace_encode.h"

struct forge {
    struct trace_buf buf;
    uint32_t version;          /* of the file header: how records are laid */
    char path[256];
};

/* cap bytes of buffer; the file header is written unless raw. */
void forge_init(struct forge *f, size_t cap);
/* The same with a header of an older format version. */
void forge_init_version(struct forge *f, size_t cap, uint32_t version);
void forge_init_raw(struct forge *f, size_t cap);
void forge_free(struct forge *f);

void forge_process(struct forge *f, uint32_t pid, const char *exe);
/* The same with a snapshot interval other than the default 100 ms. */
void forge_process_every(struct forge *f, uint32_t pid, const char *exe,
                         uint32_t interval_ms);
void forge_modules(struct forge *f, uint32_t generation, const char *path);
void forge_site(struct forge *f, uint32_t id, uint32_t nframes);
void forge_counters(struct forge *f, uint32_t id, uint64_t live_bytes,
                    uint64_t allocs, uint64_t frees);
void forge_snapshot(struct forge *f, uint64_t t_ns, uint64_t live_bytes);
void forge_survivor(struct forge *f, uint32_t id, uint64_t size,
                    uint64_t birth_ns, uint32_t flags);
void forge_end(struct forge *f, uint64_t t_ns, uint64_t survivors,
               uint32_t flags);
/* A record with any type, length field and payload. */
void forge_raw_record(struct forge *f, uint32_t type, uint32_t length,
                      const void *payload, size_t n);

/* A trace begun for the reader's tests: file header, PROCESS and MODULES
 * records (of version 1 with _v1: a trace an older libmtrace.so wrote). */
void forge_begin(struct forge *f);
void forge_begin_v1(struct forge *f);

/* Loads the forged trace and expects failure with `expected` in the
 * message (and "damaged trace" unless the file is not a trace at all);
 * frees f. */
void forge_expect(struct forge *f, const char *expected);

/* Writes the first len bytes (all when len == SIZE_MAX) to a file named
 * `name` in the test directory and returns its path. */
const char *forge_write(struct forge *f, const char *name, size_t len);

#endif
