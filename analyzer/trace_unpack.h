/*
 * trace_unpack.h - the packed numbers of trace format 2 (trace_format.h)
 * read back: the counterpart of trace_encode.c's packing. The bytes are
 * untrusted: each function reads from *at, never at or past end, advances
 * *at over what it read, and fails on a number cut short or past 64 bits.
 * What the numbers must mean (a defined site, no bytes left over) is the
 * reader's to check.
 */
#ifndef MTRACE_TRACE_UNPACK_H
#define MTRACE_TRACE_UNPACK_H

#include <stdbool.h>
#include <stdint.h>

#include "trace_format.h"

/* One unsigned LEB128 number. */
bool unpack_number(const uint8_t **at, const uint8_t *end, uint64_t *out);

/* n SITE frames, each a zigzag step from the one before; returns how many
 * were read whole (n when all were). */
uint32_t unpack_frames(const uint8_t **at, const uint8_t *end, uint32_t n,
                       uint64_t *frames);

/* One SITE_COUNTERS entry into *c, its site id whole (it may not fit
 * c->site_id, which is left 0) in *site_id. */
bool unpack_counters(const uint8_t **at, const uint8_t *end,
                     struct mt_site_counters *c, uint64_t *site_id);

#endif
