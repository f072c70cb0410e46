/* cfi.c - the CFA program interpreter of eh_frame.h: cfi_rule_at. */
#include "eh_frame.h"

#include <string.h>

#include "dwarf_reader.h"

/* x86-64 DWARF register numbers. */
#define REG_RBP 6
#define REG_RSP 7
#define REG_RA 16

/* Nesting of DW_CFA_remember_state that we follow; GCC uses one level. */
#define CFI_STACK_DEPTH 8

/* How one register is recovered in the caller. */
enum reg_how { HOW_SAME = 0, HOW_UNDEFINED, HOW_OFFSET, HOW_OTHER,
               HOW_UNSET /* no rule given at all */ };

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
        case 0x03:   /* DW_CFA_advance_loc2 */
        case 0x04:   /* DW_CFA_advance_loc4 */
            /* A delta of 1, 2 or 4 bytes. */
            if (!advance(m, read_fixed(r, 1u << (op - 0x02), false), target))
                return !r->bad;
            break;
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
    m.state.ra.how = HOW_UNSET;
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
