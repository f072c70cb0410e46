/*
 * trace_encode.h - appends trace records (trace_format.h) to a byte buffer
 * the caller owns. It never allocates and never does I/O, so the tracer can
 * use it inside malloc and the tests can use it to forge traces.
 */
#ifndef MTRACE_TRACE_ENCODE_H
#define MTRACE_TRACE_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "trace_format.h"

struct trace_buf {
    uint8_t *data;
    size_t cap;
    size_t len;
    size_t open;        /* offset of the open record's header, or SIZE_MAX */
};

void trace_buf_init(struct trace_buf *buf, void *mem, size_t cap);

/* Each returns 0, or -1 when the buffer lacks room (nothing is appended). */
int trace_put_file_header(struct trace_buf *buf);
int trace_record_begin(struct trace_buf *buf, uint32_t type);
int trace_record_put(struct trace_buf *buf, const void *bytes, size_t n);
/* Patches the open record's length. */
void trace_record_end(struct trace_buf *buf);
/* Drops the open record, as if begin had not been called. */
void trace_record_abandon(struct trace_buf *buf);

/* Payload bytes the open record may still take (buffer and MT_RECORD_MAX). */
size_t trace_record_room(const struct trace_buf *buf);

/* n frames packed as version 2's SITE record lays them out, into out
 * (room for n * MT_PACKED_FRAME_MAX bytes); returns their length. */
size_t trace_pack_frames(const uint64_t *frames, size_t n, uint8_t *out);

/* c packed as a version 2 SITE_COUNTERS entry into out (room for
 * MT_PACKED_COUNTERS_MAX bytes); returns its length. */
size_t trace_pack_counters(const struct mt_site_counters *c, uint8_t *out);

/* A whole record with one payload part: begin, put, end. */
int trace_put_record(struct trace_buf *buf, uint32_t type,
                     const void *payload, size_t n);

#endif
