/*
 * dwarf_reader.h - bounded reading of the DWARF encodings that .eh_frame
 * uses (LEB128, DW_EH_PE_* pointers, factored operands), shared by the
 * table parser (eh_frame.c) and the CFA program interpreter (cfi.c).
 * Nothing is ever read past the reader's end; any fault makes it bad.
 */
#ifndef MTRACE_DWARF_READER_H
#define MTRACE_DWARF_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* DWARF pointer encodings (DW_EH_PE_*). */
#define PE_OMIT 0xff
#define PE_FORMAT_MASK 0x0f
#define PE_ABSPTR 0x00
#define PE_ULEB128 0x01
#define PE_UDATA2 0x02
#define PE_UDATA4 0x03
#define PE_UDATA8 0x04
#define PE_SLEB128 0x09
#define PE_SDATA2 0x0a
#define PE_SDATA4 0x0b
#define PE_SDATA8 0x0c
#define PE_APPLY_MASK 0x70
#define PE_PCREL 0x10
#define PE_DATAREL 0x30
#define PE_INDIRECT 0x80

/* A cursor over bytes that must not be read past `end`. */
struct byte_reader {
    const uint8_t *p, *end;
    bool bad;
};

static inline uint8_t read_u8(struct byte_reader *r)
{
    if (r->p >= r->end) {
        r->bad = true;
        return 0;
    }
    return *r->p++;
}

static inline bool read_bytes(struct byte_reader *r, void *out, size_t n)
{
    if ((size_t)(r->end - r->p) < n) {
        r->bad = true;
        memset(out, 0, n);
        return false;
    }
    memcpy(out, r->p, n);
    r->p += n;
    return true;
}

/* LEB128. Padding (extra groups of zeros, or of sign bits) is allowed;
 * a value that does not fit 64 bits makes the reader bad. */
static inline uint64_t read_uleb(struct byte_reader *r)
{
    uint64_t value = 0;
    unsigned shift = 0;
    uint8_t byte;
    do {
        byte = read_u8(r);
        if (shift < 64) {
            if (shift == 63 && (byte & 0x7e))
                r->bad = true;
            value |= (uint64_t)(byte & 0x7f) << shift;
        } else if (byte & 0x7f) {
            r->bad = true;
        }
        shift += 7;
    } while ((byte & 0x80) && !r->bad);
    return value;
}

static inline int64_t read_sleb(struct byte_reader *r)
{
    uint64_t value = 0;
    unsigned shift = 0;
    uint8_t byte;
    do {
        uint8_t group;
        byte = read_u8(r);
        group = byte & 0x7f;
        if (shift < 63) {
            value |= (uint64_t)group << shift;
        } else if (shift == 63) {
            /* Bit 63, then only copies of it. */
            if (group != 0 && group != 0x7f)
                r->bad = true;
            value |= (uint64_t)(group & 1) << 63;
        } else if (group != ((value >> 63) ? 0x7f : 0)) {
            r->bad = true;
        }
        shift += 7;
    } while ((byte & 0x80) && !r->bad);
    if (shift < 64 && (byte & 0x40))
        value |= ~UINT64_C(0) << shift;
    return (int64_t)value;
}

/* A factored operand times its alignment; overflow makes the reader bad
 * (such a rule is malformed, not a frame to follow). */
static inline int64_t factored(struct byte_reader *r, int64_t operand, int64_t align)
{
    int64_t product;
    if (__builtin_mul_overflow(operand, align, &product)) {
        r->bad = true;
        return 0;
    }
    return product;
}

static inline int64_t factored_u(struct byte_reader *r, uint64_t operand,
                          int64_t align)
{
    if (operand > INT64_MAX) {
        r->bad = true;
        return 0;
    }
    return factored(r, (int64_t)operand, align);
}

/* A little-endian integer of `size` bytes (1, 2, 4 or 8), sign-extended when
 * `is_signed`; 0 past the end. */
static inline uint64_t read_fixed(struct byte_reader *r, unsigned size,
                                  bool is_signed)
{
    uint64_t value = 0;
    unsigned unused = 64 - 8 * size;
    read_bytes(r, &value, size);   /* x86-64: the low bytes first */
    return is_signed && unused
               ? (uint64_t)((int64_t)(value << unused) >> unused) : value;
}

/* A pointer in `encoding`; `data_base` is what DW_EH_PE_datarel is
 * relative to (the .eh_frame_hdr section), 0 where it is not allowed. */
static inline bool read_encoded(struct byte_reader *r, uint8_t encoding,
                         uintptr_t data_base, uintptr_t *out)
{
    uintptr_t field = (uintptr_t)r->p;
    uint64_t value;

    switch (encoding & PE_FORMAT_MASK) {
    case PE_ABSPTR:
    case PE_UDATA8:
    case PE_SDATA8:
        value = read_fixed(r, 8, false);
        break;
    case PE_UDATA4:
        value = read_fixed(r, 4, false);
        break;
    case PE_SDATA4:
        value = read_fixed(r, 4, true);
        break;
    case PE_UDATA2:
        value = read_fixed(r, 2, false);
        break;
    case PE_SDATA2:
        value = read_fixed(r, 2, true);
        break;
    case PE_ULEB128:
        value = read_uleb(r);
        break;
    case PE_SLEB128:
        value = (uint64_t)read_sleb(r);
        break;
    default:
        return false;
    }
    if (r->bad)
        return false;
    switch (encoding & PE_APPLY_MASK) {
    case 0:
        break;
    case PE_PCREL:
        value += field;
        break;
    case PE_DATAREL:
        if (!data_base)
            return false;
        value += data_base;
        break;
    default:
        return false;   /* textrel, funcrel, aligned: not on x86-64 */
    }
    /* Indirect pointers (personality routines) are never followed. */
    *out = (uintptr_t)value;
    return true;
}

#endif
