/* eh_frame.c - see eh_frame.h. */
#include "eh_frame.h"

#include <dlfcn.h>
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

/* x86-64 DWARF register numbers. */
#define REG_RBP 6
#define REG_RSP 7
#define REG_RA 16

/* Nesting of DW_CFA_remember_state that we follow; GCC uses one level. */
#define CFI_STACK_DEPTH 8

/* A cursor over bytes that must not be read past `end`. */
struct byte_reader {
    const uint8_t *p, *end;
    bool bad;
};

static uint8_t read_u8(struct byte_reader *r)
{
    if (r->p >= r->end) {
        r->bad = true;
        return 0;
    }
    return *r->p++;
}

static bool read_bytes(struct byte_reader *r, void *out, size_t n)
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
static uint64_t read_uleb(struct byte_reader *r)
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

static int64_t read_sleb(struct byte_reader *r)
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
static int64_t factored(struct byte_reader *r, int64_t operand, int64_t align)
{
    int64_t product;
    if (__builtin_mul_overflow(operand, align, &product)) {
        r->bad = true;
        return 0;
    }
    return product;
}

static int64_t factored_u(struct byte_reader *r, uint64_t operand,
                          int64_t align)
{
    if (operand > INT64_MAX) {
        r->bad = true;
        return 0;
    }
    return factored(r, (int64_t)operand, align);
}

/* A pointer in `encoding`; `data_base` is what DW_EH_PE_datarel is
 * relative to (the .eh_frame_hdr section), 0 where it is not allowed. */
static bool read_encoded(struct byte_reader *r, uint8_t encoding,
                         uintptr_t data_base, uintptr_t *out)
{
    uintptr_t field = (uintptr_t)r->p;
    uint64_t value;

    switch (encoding & PE_FORMAT_MASK) {
    case PE_ABSPTR:
    case PE_UDATA8:
    case PE_SDATA8: {
        uint64_t v;
        read_bytes(r, &v, sizeof v);
        value = v;
        break;
    }
    case PE_UDATA4: {
        uint32_t v;
        read_bytes(r, &v, sizeof v);
        value = v;
        break;
    }
    case PE_SDATA4: {
        int32_t v;
        read_bytes(r, &v, sizeof v);
        value = (uint64_t)(int64_t)v;
        break;
    }
    case PE_UDATA2: {
        uint16_t v;
        read_bytes(r, &v, sizeof v);
        value = v;
        break;
    }
    case PE_SDATA2: {
        int16_t v;
        read_bytes(r, &v, sizeof v);
        value = (uint64_t)(int64_t)v;
        break;
    }
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

/* How one register is recovered in the caller. */
enum reg_how { HOW_SAME = 0, HOW_UNDEFINED, HOW_OFFSET, HOW_OTHER };

struct reg_rule {
    uint8_t how;
    int64_t offset;            /* HOW_OFFSET: saved at CFA + offset */
};

struct cfi_state {
    uint64_t cfa_register;
    int64_t cfa_offset;
    bool cfa_is_expression;
    bool rsp_touched;          /* a rule for rsp: not the usual CFA = rsp */
    struct reg_rule rbp, ra;
};

struct cfi_machine {
    const struct cfi_program *prog;
    struct cfi_state state, initial;
    struct cfi_state saved[CFI_STACK_DEPTH];
    unsigned depth;
    uintptr_t loc;
    bool unsupported;
};

static struct reg_rule *rule_of(struct cfi_machine *m, uint64_t reg)
{
    if (reg == REG_RBP)
        return &m->state.rbp;
    if (reg == m->prog->ra_register)
        return &m->state.ra;
    if (reg == REG_RSP)
        m->state.rsp_touched = true;
    return NULL;   /* a register the walk does not need */
}

static void set_rule(struct cfi_machine *m, uint64_t reg, uint8_t how,
                     int64_t offset)
{
    struct reg_rule *rule = rule_of(m, reg);
    if (rule) {
        rule->how = how;
        rule->offset = offset;
    }
}

static void restore_rule(struct cfi_machine *m, uint64_t reg)
{
    struct reg_rule *rule = rule_of(m, reg);
    if (rule)
        *rule = reg == REG_RBP ? m->initial.rbp : m->initial.ra;
}

static void skip_block(struct byte_reader *r)
{
    uint64_t len = read_uleb(r);
    if (r->bad || len > (uint64_t)(r->end - r->p))
        r->bad = true;
    else
        r->p += len;
}

/* Moves the location; false once it passes target (the state then in
 * force is the one for target). */
static bool advance(struct cfi_machine *m, uint64_t delta, uintptr_t target)
{
    uint64_t step = delta * m->prog->code_align;
    if (m->prog->code_align && step / m->prog->code_align != delta)
        return false;
    if (step > target - m->loc)
        return false;
    m->loc += step;
    return true;
}

/* Executes instructions until the end or until the location passes
 * target; false on anything unsupported or malformed. */
static bool cfi_execute(struct cfi_machine *m, struct byte_reader *r,
                        uintptr_t target)
{
    const int64_t data_align = m->prog->data_align;

    while (r->p < r->end && !r->bad) {
        uint8_t op = read_u8(r);
        uint64_t reg, value;
        uintptr_t loc;

        switch (op & 0xc0) {
        case 0x40:   /* DW_CFA_advance_loc */
            if (!advance(m, op & 0x3f, target))
                return true;
            continue;
        case 0x80:   /* DW_CFA_offset */
            value = read_uleb(r);
            set_rule(m, op & 0x3f, HOW_OFFSET, factored_u(r, value, data_align));
            continue;
        case 0xc0:   /* DW_CFA_restore */
            restore_rule(m, op & 0x3f);
            continue;
        }
        switch (op) {
        case 0x00:   /* DW_CFA_nop */
            break;
        case 0x01:   /* DW_CFA_set_loc */
            if (!read_encoded(r, m->prog->fde_encoding, 0, &loc))
                return false;
            if (loc > target || loc < m->loc)
                return true;
            m->loc = loc;
            break;
        case 0x02:   /* DW_CFA_advance_loc1 */
            if (!advance(m, read_u8(r), target))
                return !r->bad;
            break;
        case 0x03: { /* DW_CFA_advance_loc2 */
            uint16_t d;
            read_bytes(r, &d, sizeof d);
            if (!advance(m, d, target))
                return !r->bad;
            break;
        }
        case 0x04: { /* DW_CFA_advance_loc4 */
            uint32_t d;
            read_bytes(r, &d, sizeof d);
            if (!advance(m, d, target))
                return !r->bad;
            break;
        }
        case 0x05:   /* DW_CFA_offset_extended */
            reg = read_uleb(r);
            value = read_uleb(r);
            set_rule(m, reg, HOW_OFFSET, factored_u(r, value, data_align));
            break;
        case 0x06:   /* DW_CFA_restore_extended */
            restore_rule(m, read_uleb(r));
            break;
        case 0x07:   /* DW_CFA_undefined */
            set_rule(m, read_uleb(r), HOW_UNDEFINED, 0);
            break;
        case 0x08:   /* DW_CFA_same_value */
            set_rule(m, read_uleb(r), HOW_SAME, 0);
            break;
        case 0x09:   /* DW_CFA_register */
            reg = read_uleb(r);
            read_uleb(r);
            set_rule(m, reg, HOW_OTHER, 0);
            break;
        case 0x0a:   /* DW_CFA_remember_state */
            if (m->depth == CFI_STACK_DEPTH)
                return false;
            m->saved[m->depth++] = m->state;
            break;
        case 0x0b:   /* DW_CFA_restore_state */
            if (m->depth == 0)
                return false;
            m->state = m->saved[--m->depth];
            break;
        case 0x0c:   /* DW_CFA_def_cfa */
            m->state.cfa_register = read_uleb(r);
            m->state.cfa_offset = (int64_t)read_uleb(r);
            m->state.cfa_is_expression = false;
            break;
        case 0x0d:   /* DW_CFA_def_cfa_register */
            m->state.cfa_register = read_uleb(r);
            break;
        case 0x0e:   /* DW_CFA_def_cfa_offset */
            m->state.cfa_offset = (int64_t)read_uleb(r);
            break;
        case 0x0f:   /* DW_CFA_def_cfa_expression */
            skip_block(r);
            m->state.cfa_is_expression = true;
            break;
        case 0x10:   /* DW_CFA_expression */
        case 0x16:   /* DW_CFA_val_expression */
            reg = read_uleb(r);
            skip_block(r);
            set_rule(m, reg, HOW_OTHER, 0);
            break;
        case 0x11:   /* DW_CFA_offset_extended_sf */
            reg = read_uleb(r);
            set_rule(m, reg, HOW_OFFSET, factored(r, read_sleb(r), data_align));
            break;
        case 0x12:   /* DW_CFA_def_cfa_sf */
            m->state.cfa_register = read_uleb(r);
            m->state.cfa_offset = factored(r, read_sleb(r), data_align);
            m->state.cfa_is_expression = false;
            break;
        case 0x13:   /* DW_CFA_def_cfa_offset_sf */
            m->state.cfa_offset = factored(r, read_sleb(r), data_align);
            break;
        case 0x14:   /* DW_CFA_val_offset */
            reg = read_uleb(r);
            read_uleb(r);
            set_rule(m, reg, HOW_OTHER, 0);
            break;
        case 0x15:   /* DW_CFA_val_offset_sf */
            reg = read_uleb(r);
            read_sleb(r);
            set_rule(m, reg, HOW_OTHER, 0);
            break;
        case 0x2e:   /* DW_CFA_GNU_args_size */
            read_uleb(r);
            break;
        case 0x2f:   /* DW_CFA_GNU_negative_offset_extended */
            reg = read_uleb(r);
            value = read_uleb(r);
            set_rule(m, reg, HOW_OFFSET,
                     factored(r, -factored_u(r, value, 1), data_align));
            break;
        default:
            return false;
        }
    }
    return !r->bad;
}

struct frame_rule cfi_rule_at(const struct cfi_program *prog, uintptr_t pc)
{
    struct frame_rule rule = { .kind = FRAME_RULE_UNKNOWN };
    struct cfi_machine m;
    struct byte_reader r;

    if (prog->signal_frame || prog->ra_register != REG_RA ||
        prog->code_align == 0 || pc < prog->pc_begin)
        return rule;
    memset(&m, 0, sizeof m);
    m.prog = prog;
    m.loc = prog->pc_begin;
    m.state.cfa_register = UINT64_MAX;
    m.state.ra.how = HOW_UNDEFINED;
    r = (struct byte_reader){ prog->cie_insns, prog->cie_end, false };
    /* The CIE's instructions describe the entry state of every function
     * that uses it; they never advance the location on x86-64. */
    if (!cfi_execute(&m, &r, pc) || m.loc != prog->pc_begin)
        return rule;
    m.initial = m.state;
    m.depth = 0;
    r = (struct byte_reader){ prog->fde_insns, prog->fde_end, false };
    if (!cfi_execute(&m, &r, pc))
        return rule;

    if (m.state.ra.how == HOW_UNDEFINED) {
        rule.kind = FRAME_RULE_OUTERMOST;
        return rule;
    }
    if (m.state.cfa_is_expression || m.state.rsp_touched ||
        (m.state.cfa_register != REG_RSP && m.state.cfa_register != REG_RBP) ||
        m.state.cfa_offset < 0 || m.state.cfa_offset > INT32_MAX ||
        m.state.ra.how != HOW_OFFSET || m.state.ra.offset != -8)
        return rule;
    if (m.state.rbp.how == HOW_OFFSET) {
        if (m.state.rbp.offset < INT16_MIN || m.state.rbp.offset > -16)
            return rule;
        rule.rbp_saved = true;
        rule.rbp_offset = (int32_t)m.state.rbp.offset;
    } else if (m.state.rbp.how != HOW_SAME) {
        return rule;
    }
    rule.cfa_base = m.state.cfa_register == REG_RBP ? FRAME_BASE_RBP
                                                    : FRAME_BASE_RSP;
    rule.cfa_offset = (int32_t)m.state.cfa_offset;
    rule.kind = FRAME_RULE_STEP;
    return rule;
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
