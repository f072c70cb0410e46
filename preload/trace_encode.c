/* trace_encode.c - see trace_encode.h. */
#include "trace_encode.h"

#include <string.h>

void trace_buf_init(struct trace_buf *buf, void *mem, size_t cap)
{
    buf->data = mem;
    buf->cap = cap;
    buf->len = 0;
    buf->open = SIZE_MAX;
}

static int append(struct trace_buf *buf, const void *bytes, size_t n)
{
    if (n > buf->cap - buf->len)
        return -1;
    memcpy(buf->data + buf->len, bytes, n);
    buf->len += n;
    return 0;
}

int trace_put_file_header(struct trace_buf *buf)
{
    struct mt_file_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, MT_MAGIC, MT_MAGIC_LEN);
    h.version = MT_FORMAT_VERSION;
    h.endian_check = MT_ENDIAN_CHECK;
    h.pointer_size = (uint32_t)sizeof(void *);
    return append(buf, &h, sizeof h);
}

int trace_record_begin(struct trace_buf *buf, uint32_t type)
{
    struct mt_record_header h = { .type = type, .length = 0 };
    size_t at = buf->len;
    if (buf->open != SIZE_MAX || append(buf, &h, sizeof h) < 0)
        return -1;
    buf->open = at;
    return 0;
}

size_t trace_record_room(const struct trace_buf *buf)
{
    size_t used, room = buf->cap - buf->len;
    if (buf->open == SIZE_MAX)
        return 0;
    used = buf->len - buf->open - sizeof(struct mt_record_header);
    if (used >= MT_RECORD_MAX)
        return 0;
    return room < MT_RECORD_MAX - used ? room : MT_RECORD_MAX - used;
}

int trace_record_put(struct trace_buf *buf, const void *bytes, size_t n)
{
    if (n > trace_record_room(buf))
        return -1;
    return append(buf, bytes, n);
}

void trace_record_end(struct trace_buf *buf)
{
    struct mt_record_header h;
    if (buf->open == SIZE_MAX)
        return;
    memcpy(&h, buf->data + buf->open, sizeof h);
    h.length = (uint32_t)(buf->len - buf->open - sizeof h);
    memcpy(buf->data + buf->open, &h, sizeof h);
    buf->open = SIZE_MAX;
}

void trace_record_abandon(struct trace_buf *buf)
{
    if (buf->open == SIZE_MAX)
        return;
    buf->len = buf->open;
    buf->open = SIZE_MAX;
}

int trace_put_record(struct trace_buf *buf, uint32_t type,
                     const void *payload, size_t n)
{
    if (trace_record_begin(buf, type) < 0)
        return -1;
    if (trace_record_put(buf, payload, n) < 0) {
        trace_record_abandon(buf);
        return -1;
    }
    trace_record_end(buf);
    return 0;
}

static size_t put_leb128(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

size_t trace_pack_frames(const uint64_t *frames, size_t n, uint8_t *out)
{
    uint64_t previous = 0;
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t delta = frames[i] - previous;
        /* Zigzag: the sign into the low bit, so small steps down are
         * small numbers too. */
        len += put_leb128(out + len, delta << 1 ^ -(delta >> 63));
        previous = frames[i];
    }
    return len;
}

size_t trace_pack_counters(const struct mt_site_counters *c, uint8_t *out)
{
    size_t n = put_leb128(out, c->site_id);
    n += put_leb128(out + n, c->live_bytes);
    n += put_leb128(out + n, c->allocs);
    n += put_leb128(out + n, c->frees);
    n += put_leb128(out + n, c->bytes_allocated);
    n += put_leb128(out + n, c->peak_live_bytes);
    return n;
}
