/* eh_frame.c - see eh_frame.h: finding a pc's FDE and CIE through
 * .eh_frame_hdr (the interpreter of their programs is cfi.c). */
#include "eh_frame.h"

#include <dlfcn.h>
#include <string.h>

#include "dwarf_reader.h"

/* A CIE or FDE header: its length word and the end it implies. */
static bool read_entry_bounds(const uint8_t *entry, const uint8_t **body,
                              const uint8_t **end)
{
    uint32_t length;
    memcpy(&length, entry, sizeof length);
    /* 0 ends the section; 0xffffffff announces 64-bit DWARF, which no
     * x86-64 toolchain puts in .eh_frame. */
    if (length == 0 || length == 0xffffffffu || length > (1u << 24))
        return false;
    *body = entry + 4;
    *end = entry + 4 + length;
    return true;
}

static bool parse_cie(const uint8_t *cie, struct cfi_program *prog)
{
    struct byte_reader r;
    const char *augmentation;
    uint32_t id;
    uint8_t version;
    const uint8_t *aug_end = NULL;

    if (!read_entry_bounds(cie, &r.p, &r.end))
        return false;
    r.bad = false;
    read_bytes(&r, &id, sizeof id);
    version = read_u8(&r);
    if (r.bad || id != 0 || (version != 1 && version != 3))
        return false;
    augmentation = (const char *)r.p;
    while (r.p < r.end && *r.p)
        r.p++;
    if (read_u8(&r) != 0 || r.bad)
        return false;
    prog->code_align = read_uleb(&r);
    prog->data_align = read_sleb(&r);
    prog->ra_register = version == 1 ? read_u8(&r) : read_uleb(&r);
    prog->fde_encoding = PE_ABSPTR;
    prog->signal_frame = false;
    prog->fde_has_aug_data = augmentation[0] == 'z';
    if (augmentation[0] == 'z') {
        uint64_t len = read_uleb(&r);
        if (r.bad || len > (uint64_t)(r.end - r.p))
            return false;
        aug_end = r.p + len;
        for (const char *a = augmentation + 1; *a; a++) {
            uintptr_t ignored;
            switch (*a) {
            case 'R':
                prog->fde_encoding = read_u8(&r);
                break;
            case 'P': {
                uint8_t enc = read_u8(&r);
                if (!read_encoded(&r, enc & ~PE_INDIRECT, 0, &ignored))
                    return false;
                break;
            }
            case 'L':
                read_u8(&r);
                break;
            case 'S':
                prog->signal_frame = true;
                break;
            default:
                return false;   /* unknown: the rest cannot be trusted */
            }
        }
        if (r.bad || r.p > aug_end)
            return false;
        r.p = aug_end;
    } else if (augmentation[0] != '\0') {
        return false;
    }
    if (r.bad)
        return false;
    prog->cie_insns = r.p;
    prog->cie_end = r.end;
    return true;
}

/* 1, 0 when the FDE ends before pc (a gap between functions), -1. */
static int parse_fde(const uint8_t *fde, uintptr_t pc,
                     struct cfi_program *prog)
{
    struct byte_reader r;
    uint32_t cie_offset;
    uintptr_t begin, range;

    if (!read_entry_bounds(fde, &r.p, &r.end))
        return -1;
    r.bad = false;
    read_bytes(&r, &cie_offset, sizeof cie_offset);
    /* In .eh_frame the CIE pointer is relative to its own field. */
    if (r.bad || cie_offset == 0 ||
        !parse_cie(fde + 4 - cie_offset, prog))
        return -1;
    if (!read_encoded(&r, prog->fde_encoding, 0, &begin) ||
        !read_encoded(&r, prog->fde_encoding & PE_FORMAT_MASK, 0, &range))
        return -1;
    if (pc < begin || pc - begin >= range)
        return 0;
    if (prog->fde_has_aug_data) {
        /* The 'z' augmentation gives FDEs a length-prefixed data block. */
        uint64_t len = read_uleb(&r);
        if (r.bad || len > (uint64_t)(r.end - r.p))
            return -1;
        r.p += len;
    }
    prog->pc_begin = begin;
    prog->fde_end = r.end;
    prog->fde_insns = r.p;
    return 1;
}

bool eh_frame_find(const void *hdr, uintptr_t pc, struct cfi_program *out)
{
    return eh_frame_lookup(hdr, pc, out) == 1;
}

int eh_frame_lookup(const void *hdr_ptr, uintptr_t pc, struct cfi_program *out)
{
    const uint8_t *hdr = hdr_ptr;
    struct byte_reader r = { hdr, hdr + 4 + 2 * sizeof(uint64_t), false };
    uint8_t version, frame_ptr_enc, count_enc, table_enc;
    uintptr_t frame_ptr, count, lo, hi;
    const uint8_t *table;

    version = read_u8(&r);
    frame_ptr_enc = read_u8(&r);
    count_enc = read_u8(&r);
    table_enc = read_u8(&r);
    /* The binary-search table in the one form binutils and lld write:
     * pairs of 4-byte signed offsets from the header. */
    if (version != 1 || count_enc == PE_OMIT ||
        table_enc != (PE_DATAREL | PE_SDATA4) ||
        !read_encoded(&r, frame_ptr_enc, (uintptr_t)hdr, &frame_ptr) ||
        !read_encoded(&r, count_enc, (uintptr_t)hdr, &count))
        return -1;
    if (count == 0)
        return 0;
    table = r.p;
    /* The last entry whose initial location is at or below pc. */
    lo = 0;
    hi = count;
    while (hi - lo > 1) {
        uintptr_t mid = lo + (hi - lo) / 2;
        int32_t start;
        memcpy(&start, table + mid * 8, sizeof start);
        if ((uintptr_t)hdr + (uintptr_t)(intptr_t)start <= pc)
            lo = mid;
        else
            hi = mid;
    }
    {
        int32_t start, fde_offset;
        memcpy(&start, table + lo * 8, sizeof start);
        memcpy(&fde_offset, table + lo * 8 + 4, sizeof fde_offset);
        if ((uintptr_t)hdr + (uintptr_t)(intptr_t)start > pc)
            return 0;
        return parse_fde(hdr + fde_offset, pc, out);
    }
}

/* glibc 2.35's lock-free lookup made for unwinders; weak, so that the
 * library still loads where it is missing (libunwind then does it all). */
#pragma weak _dl_find_object

struct frame_rule eh_frame_rule_for(uintptr_t pc)
{
    struct frame_rule unknown = { .kind = FRAME_RULE_UNKNOWN };
    struct frame_rule no_info = { .kind = FRAME_RULE_NO_INFO };
    struct dl_find_object object;
    struct cfi_program prog;

    if (!_dl_find_object)
        return unknown;
    if (_dl_find_object((void *)pc, &object) != 0 || !object.dlfo_eh_frame)
        return no_info;
    switch (eh_frame_lookup(object.dlfo_eh_frame, pc, &prog)) {
    case 1:
        return cfi_rule_at(&prog, pc);
    case 0:
        return no_info;
    default:
        return unknown;
    }
}
