/* trace_unpack.c - see trace_unpack.h. */
#include "trace_unpack.h"

#include <string.h>

bool unpack_number(const uint8_t **at, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; *at < end; shift += 7) {
        uint8_t byte = *(*at)++;
        /* The tenth byte holds bit 63 only. */
        if (shift == 63 && byte > 1)
            return false;
        v |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

uint32_t unpack_frames(const uint8_t **at, const uint8_t *end, uint32_t n,
                       uint64_t *frames)
{
    uint64_t previous = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t zigzag;
        if (!unpack_number(at, end, &zigzag))
            return i;
        previous += zigzag >> 1 ^ -(zigzag & 1);
        frames[i] = previous;
    }
    return n;
}

bool unpack_counters(const uint8_t **at, const uint8_t *end,
                     struct mt_site_counters *c, uint64_t *site_id)
{
    memset(c, 0, sizeof *c);
    return unpack_number(at, end, site_id) &&
           unpack_number(at, end, &c->live_bytes) &&
           unpack_number(at, end, &c->allocs) &&
           unpack_number(at, end, &c->frees) &&
           unpack_number(at, end, &c->bytes_allocated) &&
           unpack_number(at, end, &c->peak_live_bytes);
}
