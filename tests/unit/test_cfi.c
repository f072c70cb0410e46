/* test_cfi.c - the CFI interpreter of the tracer's own x86-64 unwinder
 * (cfi_rule_at) on hand-written programs: the rows GCC's prologues and
 * epilogues make, every opcode the walk must understand or refuse, and
 * truncated and malformed programs, which must give no rule rather than a
 * wrong one and never read past their end. */
#include "suites.h"
#include "eh_frame.h"
#include "unwind_fixtures.h"

#include <stdio.h>

#if defined(__x86_64__)

/* ---------------------------------------------------------------------
 * Hand-written CFI programs (the standard CIE is in unwind_fixtures.c)
 * ------------------------------------------------------------------- */

/* push %rbp; mov %rsp,%rbp; ...; an early return in the middle (leave;
 * ret) bracketed by remember/restore_state, as GCC emits it; the body
 * continues after the ret. */
static const uint8_t fde_prologue[] = {
    0x41,               /* advance 1: after push %rbp */
    0x0e, 0x10,         /* DW_CFA_def_cfa_offset 16 */
    0x86, 0x02,         /* DW_CFA_offset: rbp at CFA - 16 */
    0x43,               /* advance 3: after mov %rsp,%rbp */
    0x0d, 0x06,         /* DW_CFA_def_cfa_register rbp */
    0x4a,               /* advance 10: after leave */
    0x0a,               /* DW_CFA_remember_state */
    0x0c, 0x07, 0x08,   /* DW_CFA_def_cfa: rsp + 8 */
    0xc6,               /* DW_CFA_restore rbp */
    0x41,               /* advance 1: after ret */
    0x0b,               /* DW_CFA_restore_state */
};
/* Offsets in fde_prologue where an instruction starts (or the end). */
static const size_t fde_prologue_boundaries[] = {
    0, 1, 3, 5, 6, 8, 9, 10, 13, 14, 15, 16,
};
/* The code locations where fde_prologue's rows change. */
#define AFTER_PUSH (PC0 + 1)
#define AFTER_MOV (PC0 + 4)
#define AFTER_LEAVE (PC0 + 14)
#define AFTER_RET (PC0 + 15)

/* The rule at pc, named in a failure by its offset in the program. */
#define ck_assert_rule_at(program, pc, expected) do {                       \
        char where_[32];                                                   \
        snprintf(where_, sizeof where_, "pc +%#lx",                        \
                 (unsigned long)((pc) - (program)->pc_begin));             \
        ck_assert_rule(cfi_rule_at((program), (pc)), (expected), where_);  \
    } while (0)

START_TEST(test_cfi_prologue_rule_at_each_pc)
{
    struct cfi_program p = STANDARD_PROGRAM(fde_prologue);

    ck_assert_rule_at(&p, PC0, rule_rsp(8));
    ck_assert_rule_at(&p, AFTER_PUSH - 1, rule_rsp(8));
    ck_assert_rule_at(&p, AFTER_PUSH, rule_rsp_saving_rbp(16, -16));
    ck_assert_rule_at(&p, AFTER_MOV - 1, rule_rsp_saving_rbp(16, -16));
    ck_assert_rule_at(&p, AFTER_MOV, rule_rbp(16, -16));
    ck_assert_rule_at(&p, AFTER_LEAVE - 1, rule_rbp(16, -16));
    /* Below the function: no rule of its own to give. */
    ck_assert_int_eq(cfi_rule_at(&p, PC0 - 1).kind, FRAME_RULE_UNKNOWN);
}
END_TEST

START_TEST(test_cfi_epilogue_remember_restore_state)
{
    struct cfi_program p = STANDARD_PROGRAM(fde_prologue);

    /* Between leave and ret: rbp is back in its register. */
    ck_assert_rule_at(&p, AFTER_LEAVE, rule_rsp(8));
    ck_assert_rule_at(&p, AFTER_RET - 1, rule_rsp(8));
    /* The code after the early return has the body's frame again. */
    ck_assert_rule_at(&p, AFTER_RET, rule_rbp(16, -16));
    ck_assert_rule_at(&p, AFTER_RET + 0x1000, rule_rbp(16, -16));
}
END_TEST

START_TEST(test_cfi_nested_remember_state)
{
    static const uint8_t fde[] = {
        0x0e, 0x10,   /* CFA = rsp + 16 */
        0x0a,         /* remember A */
        0x41,
        0x0e, 0x18,   /* CFA = rsp + 24 */
        0x0a,         /* remember B */
        0x41,
        0x0e, 0x20,   /* CFA = rsp + 32 */
        0x41,
        0x0b,         /* back to B */
        0x41,
        0x0b,         /* back to A */
    };
    struct cfi_program p = STANDARD_PROGRAM(fde);

    ck_assert_rule_at(&p, PC0, rule_rsp(16));
    ck_assert_rule_at(&p, PC0 + 1, rule_rsp(24));
    ck_assert_rule_at(&p, PC0 + 2, rule_rsp(32));
    ck_assert_rule_at(&p, PC0 + 3, rule_rsp(24));
    ck_assert_rule_at(&p, PC0 + 4, rule_rsp(16));
}
END_TEST

START_TEST(test_cfi_restore_returns_to_cie_rule)
{
    /* A CIE that already saves rbp: DW_CFA_restore goes back to that,
     * not to "unchanged". */
    static const uint8_t cie_saving_rbp[] = {
        0x0c, 0x07, 0x10,   /* CFA = rsp + 16 */
        0x90, 0x01,         /* r16 at CFA - 8 */
        0x86, 0x02,         /* rbp at CFA - 16 */
    };
    static const uint8_t fde[] = {
        0x41,
        0x86, 0x03,         /* rbp at CFA - 24 */
        0x41,
        0xc6,               /* DW_CFA_restore rbp */
        0x41,
        0x08, 0x06,         /* DW_CFA_same_value rbp */
        0x41,
        0x06, 0x06,         /* DW_CFA_restore_extended rbp */
    };
    static const uint8_t fde_plain[] = {
        0x86, 0x02,         /* rbp at CFA - 16 */
        0x41,
        0xc6,               /* DW_CFA_restore rbp: the CIE leaves it kept */
    };
    struct cfi_program p = program_of(cie_saving_rbp, sizeof cie_saving_rbp,
                                      fde, sizeof fde);
    struct cfi_program plain = STANDARD_PROGRAM(fde_plain);

    ck_assert_rule_at(&p, PC0, rule_rsp_saving_rbp(16, -16));
    ck_assert_rule_at(&p, PC0 + 1, rule_rsp_saving_rbp(16, -24));
    ck_assert_rule_at(&p, PC0 + 2, rule_rsp_saving_rbp(16, -16));
    ck_assert_rule_at(&p, PC0 + 3, rule_rsp(16));
    ck_assert_rule_at(&p, PC0 + 4, rule_rsp_saving_rbp(16, -16));

    ck_assert_rule_at(&plain, PC0, rule_rsp_saving_rbp(8, -16));
    ck_assert_rule_at(&plain, PC0 + 1, rule_rsp(8));
}
END_TEST

START_TEST(test_cfi_undefined_return_address_is_outermost)
{
    /* What glibc's _start and clone3 say about their caller. */
    static const uint8_t fde[] = { 0x07, 0x10 };   /* DW_CFA_undefined r16 */
    static const uint8_t fde_later[] = { 0x0e, 0x10, 0x44, 0x07, 0x10 };
    struct cfi_program p = STANDARD_PROGRAM(fde);
    struct cfi_program later = STANDARD_PROGRAM(fde_later);

    ck_assert_rule_at(&p, PC0, rule_outermost);
    ck_assert_rule_at(&p, PC0 + 100, rule_outermost);
    ck_assert_rule_at(&later, PC0 + 3, rule_rsp(16));
    ck_assert_rule_at(&later, PC0 + 4, rule_outermost);
}
END_TEST

START_TEST(test_cfi_expression_unknown_until_superseded)
{
    static const uint8_t fde[] = {
        0x41,
        /* DW_CFA_def_cfa_expression: DW_OP_breg7 8; DW_OP_deref */
        0x0f, 0x03, 0x77, 0x08, 0x06,
        0x41,
        /* Only the offset: the CFA is still the expression's. */
        0x0e, 0x20,
        0x41,
        /* Nor does a new register make it register + offset. */
        0x0d, 0x06,
        0x41,
        0x0c, 0x07, 0x10,   /* DW_CFA_def_cfa: rsp + 16 */
        0x41,
        0x0f, 0x02, 0x77, 0x08,
        0x41,
        0x12, 0x07, 0x7d,   /* DW_CFA_def_cfa_sf: rsp + (-3 * -8) */
    };
    struct cfi_program p = STANDARD_PROGRAM(fde);

    ck_assert_rule_at(&p, PC0, rule_rsp(8));
    ck_assert_rule_at(&p, PC0 + 1, rule_unknown);
    ck_assert_rule_at(&p, PC0 + 2, rule_unknown);
    ck_assert_rule_at(&p, PC0 + 3, rule_unknown);
    ck_assert_rule_at(&p, PC0 + 4, rule_rsp(16));
    ck_assert_rule_at(&p, PC0 + 5, rule_unknown);
    ck_assert_rule_at(&p, PC0 + 6, rule_rsp(24));
}
END_TEST

START_TEST(test_cfi_only_registers_the_walk_needs_matter)
{
    /* Rules for rbx (3) and r12 (12) in any form, args_size and nops:
     * the walk never reads those registers. */
    static const uint8_t fde_others[] = {
        0x83, 0x02,                     /* rbx at CFA - 16 */
        0x10, 0x0c, 0x02, 0x77, 0x00,   /* r12: DW_CFA_expression */
        0x16, 0x03, 0x01, 0x30,         /* rbx: DW_CFA_val_expression */
        0x09, 0x0c, 0x03,               /* r12 in rbx */
        0x2e, 0x10,                     /* DW_CFA_GNU_args_size 16 */
        0x00, 0x00,                     /* DW_CFA_nop */
        0x11, 0x06, 0x02,               /* rbp at CFA + 2 * -8 (_sf) */
        0x05, 0x06, 0x03,               /* rbp at CFA - 24 (_extended) */
    };
    /* rbp recovered any other way than from memory cannot be followed. */
    static const uint8_t fde_rbp_in_register[] = { 0x09, 0x06, 0x03 };
    static const uint8_t fde_rbp_expression[] = {
        0x10, 0x06, 0x02, 0x76, 0x00,
    };
    static const uint8_t fde_rbp_undefined[] = { 0x07, 0x06 };
    /* Saved where the return address is, or above the CFA: wrong. */
    static const uint8_t fde_rbp_over_ra[] = { 0x86, 0x01 };
    static const uint8_t fde_rbp_above_cfa[] = { 0x2f, 0x06, 0x02 };
    /* A rule for rsp itself: stack realignment, not rsp = CFA. */
    static const uint8_t fde_rsp_rule[] = { 0x87, 0x03 };
    /* The return address elsewhere than CFA - 8. */
    static const uint8_t fde_ra_moved[] = { 0x90, 0x02 };
    static const uint8_t fde_ra_in_register[] = { 0x09, 0x10, 0x03 };
    /* A CFA based on neither rsp nor rbp. */
    static const uint8_t fde_cfa_rbx[] = { 0x0d, 0x03 };
    struct cfi_program others = STANDARD_PROGRAM(fde_others);
    const struct {
        const uint8_t *fde;
        size_t len;
        const char *what;
    } unknown[] = {
        { fde_rbp_in_register, sizeof fde_rbp_in_register, "rbp register" },
        { fde_rbp_expression, sizeof fde_rbp_expression, "rbp expression" },
        { fde_rbp_undefined, sizeof fde_rbp_undefined, "rbp undefined" },
        { fde_rbp_over_ra, sizeof fde_rbp_over_ra, "rbp at CFA - 8" },
        { fde_rbp_above_cfa, sizeof fde_rbp_above_cfa, "rbp above CFA" },
        { fde_rsp_rule, sizeof fde_rsp_rule, "rsp rule" },
        { fde_ra_moved, sizeof fde_ra_moved, "RA at CFA - 16" },
        { fde_ra_in_register, sizeof fde_ra_in_register, "RA register" },
        { fde_cfa_rbx, sizeof fde_cfa_rbx, "CFA from rbx" },
    };

    ck_assert_rule_at(&others, PC0, rule_rsp_saving_rbp(8, -24));
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        struct cfi_program p = program_of(cie_standard, sizeof cie_standard,
                                          unknown[i].fde, unknown[i].len);
        ck_assert_rule(cfi_rule_at(&p, PC0), rule_unknown, unknown[i].what);
    }
}
END_TEST

START_TEST(test_cfi_signal_frame_and_other_ra_register_unknown)
{
    static const uint8_t fde_empty[] = { 0x00 };
    /* A CIE naming r15 as the return address column. */
    static const uint8_t cie_ra15[] = { 0x0c, 0x07, 0x08, 0x8f, 0x01 };
    struct cfi_program signal = STANDARD_PROGRAM(fde_empty);
    struct cfi_program ra15 = program_of(cie_ra15, sizeof cie_ra15,
                                         fde_empty, sizeof fde_empty);
    struct cfi_program ra16_says_15 = STANDARD_PROGRAM(fde_empty);

    ck_assert_rule_at(&signal, PC0, rule_rsp(8));   /* the control case */
    signal.signal_frame = true;
    ck_assert_rule_at(&signal, PC0, rule_unknown);
    ra15.ra_register = 15;
    ck_assert_rule_at(&ra15, PC0, rule_unknown);
    ra16_says_15.ra_register = 15;
    ck_assert_rule_at(&ra16_says_15, PC0, rule_unknown);
}
END_TEST

START_TEST(test_cfi_set_loc_and_wide_advances)
{
    static const uint8_t fde[] = {
        0x02, 0x10,               /* DW_CFA_advance_loc1 0x10 */
        0x0e, 0x10,
        0x03, 0x00, 0x01,         /* DW_CFA_advance_loc2 0x100 */
        0x0e, 0x18,
        0x04, 0x00, 0x00, 0x01, 0x00,   /* DW_CFA_advance_loc4 0x10000 */
        0x0e, 0x20,
        /* DW_CFA_set_loc PC0 + 0x20000 (absolute, 8 bytes) */
        0x01, 0x00, 0x10, 0x02, 0x00, 0x00, 0x7f, 0x00, 0x00,
        0x0e, 0x28,
    };
    static const uint8_t fde_aligned[] = { 0x41, 0x0e, 0x10, 0x02, 0x03,
                                           0x0e, 0x18 };
    struct cfi_program p = STANDARD_PROGRAM(fde);
    struct cfi_program aligned = STANDARD_PROGRAM(fde_aligned);

    ck_assert_uint_eq(PC0 + 0x20000, 0x7f0000021000);   /* as encoded */
    ck_assert_rule_at(&p, PC0 + 0xf, rule_rsp(8));
    ck_assert_rule_at(&p, PC0 + 0x10, rule_rsp(16));
    ck_assert_rule_at(&p, PC0 + 0x10f, rule_rsp(16));
    ck_assert_rule_at(&p, PC0 + 0x110, rule_rsp(24));
    ck_assert_rule_at(&p, PC0 + 0x1010f, rule_rsp(24));
    ck_assert_rule_at(&p, PC0 + 0x10110, rule_rsp(32));
    ck_assert_rule_at(&p, PC0 + 0x1ffff, rule_rsp(32));
    ck_assert_rule_at(&p, PC0 + 0x20000, rule_rsp(40));

    /* Advances count in units of code_align. */
    aligned.code_align = 4;
    ck_assert_rule_at(&aligned, PC0 + 3, rule_rsp(8));
    ck_assert_rule_at(&aligned, PC0 + 4, rule_rsp(16));
    ck_assert_rule_at(&aligned, PC0 + 15, rule_rsp(16));
    ck_assert_rule_at(&aligned, PC0 + 16, rule_rsp(24));
}
END_TEST

static bool is_boundary(const size_t *boundaries, size_t n, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (boundaries[i] == len)
            return true;
    return false;
}

START_TEST(test_cfi_every_truncation_is_safe)
{
    static const uintptr_t pcs[] = { PC0, AFTER_PUSH, AFTER_MOV, AFTER_LEAVE,
                                     AFTER_RET, AFTER_RET + 0x100 };
    static const size_t cie_boundaries[] = { 0, 3, 5 };
    struct guarded_page cie_page = guarded_page_new();
    struct guarded_page fde_page = guarded_page_new();
    const uint8_t *cie = guarded_copy(cie_page, cie_standard,
                                      sizeof cie_standard);

    for (size_t len = 0; len <= sizeof fde_prologue; len++) {
        const uint8_t *fde = guarded_copy(fde_page, fde_prologue, len);
        struct cfi_program p = program_of(cie, sizeof cie_standard, fde, len);
        bool whole = is_boundary(fde_prologue_boundaries,
                                 sizeof fde_prologue_boundaries /
                                 sizeof fde_prologue_boundaries[0], len);
        for (size_t i = 0; i < sizeof pcs / sizeof pcs[0]; i++) {
            struct frame_rule rule = cfi_rule_at(&p, pcs[i]);
            /* Cut between instructions, what remains is a valid program
             * (the CIE defines the return address); cut inside one, the
             * rule may come from the rows before the cut, or be unknown. */
            if (whole)
                ck_assert_msg(rule.kind == FRAME_RULE_STEP,
                              "FDE cut at %zu, pc +%#lx: kind %d", len,
                              (unsigned long)(pcs[i] - PC0), rule.kind);
            else
                ck_assert_msg(rule.kind == FRAME_RULE_STEP ||
                              rule.kind == FRAME_RULE_UNKNOWN,
                              "FDE cut at %zu, pc +%#lx: kind %d", len,
                              (unsigned long)(pcs[i] - PC0), rule.kind);
        }
        /* Past every row, a half instruction cannot give a rule. */
        if (!whole)
            ck_assert_msg(cfi_rule_at(&p, AFTER_RET + 0x100).kind ==
                          FRAME_RULE_UNKNOWN, "FDE cut at %zu", len);
    }
    for (size_t len = 0; len <= sizeof cie_standard; len++) {
        const uint8_t *cut = guarded_copy(cie_page, cie_standard, len);
        const uint8_t *fde = guarded_copy(fde_page, fde_prologue,
                                          sizeof fde_prologue);
        struct cfi_program p = program_of(cut, len, fde, sizeof fde_prologue);
        bool whole = is_boundary(cie_boundaries, 3, len);
        for (size_t i = 0; i < sizeof pcs / sizeof pcs[0]; i++) {
            struct frame_rule rule = cfi_rule_at(&p, pcs[i]);
            ck_assert_int_le(rule.kind, FRAME_RULE_OUTERMOST);
            if (!whole)
                ck_assert_msg(rule.kind == FRAME_RULE_UNKNOWN,
                              "CIE cut at %zu, pc +%#lx: kind %d", len,
                              (unsigned long)(pcs[i] - PC0), rule.kind);
        }
    }
    guarded_page_free(cie_page);
    guarded_page_free(fde_page);
}
END_TEST

START_TEST(test_cfi_unknown_opcodes)
{
    /* 0x17-0x1b are unassigned, 0x1c-0x3f vendor extensions of which only
     * GNU_args_size (0x2e) and GNU_negative_offset_extended (0x2f) mean
     * something on x86-64: the operands of the rest are unknown, so
     * nothing after them can be read. */
    struct guarded_page page = guarded_page_new();
    for (unsigned op = 0x17; op <= 0x3f; op++) {
        uint8_t fde[] = { (uint8_t)op };
        struct cfi_program p;
        char where[32];
        if (op == 0x2e || op == 0x2f)
            continue;
        p = program_of(cie_standard, sizeof cie_standard,
                       guarded_copy(page, fde, 1), 1);
        snprintf(where, sizeof where, "opcode %#x", op);
        ck_assert_rule(cfi_rule_at(&p, PC0), rule_unknown, where);
    }
    guarded_page_free(page);
}
END_TEST

START_TEST(test_cfi_leb128_padding_and_overflow)
{
    /* Redundant continuation bytes are valid LEB128: 16 in 4 bytes, in
     * 100 bytes, and -2 (times data_align -8) in 4 bytes. */
    static const uint8_t fde_padded[] = { 0x0e, 0x90, 0x80, 0x80, 0x00 };
    static const uint8_t fde_signed_padded[] = { 0x13, 0xfe, 0xff, 0xff,
                                                 0x7f };
    /* Never terminated before the end of the program. */
    static const uint8_t fde_unterminated[] = { 0x0e, 0x80, 0x80, 0x80 };
    /* 2^64 + 16: does not fit in 64 bits, whatever its low bits say. */
    static const uint8_t fde_overflow[] = { 0x0e, 0x90, 0x80, 0x80, 0x80,
                                            0x80, 0x80, 0x80, 0x80, 0x80,
                                            0x02 };
    struct guarded_page page = guarded_page_new();
    struct byte_buf long_padded = { .len = 0 };
    struct cfi_program p;

    p = STANDARD_PROGRAM(fde_padded);
    ck_assert_rule_at(&p, PC0, rule_rsp(16));
    p = STANDARD_PROGRAM(fde_signed_padded);
    ck_assert_rule_at(&p, PC0, rule_rsp(16));

    put_u8(&long_padded, 0x0e);
    put_u8(&long_padded, 0x90);
    for (int i = 0; i < 98; i++)
        put_u8(&long_padded, 0x80);
    put_u8(&long_padded, 0x00);
    p = program_of(cie_standard, sizeof cie_standard, long_padded.data,
                   long_padded.len);
    ck_assert_rule_at(&p, PC0, rule_rsp(16));

    p = program_of(cie_standard, sizeof cie_standard,
                   guarded_copy(page, fde_unterminated,
                                sizeof fde_unterminated),
                   sizeof fde_unterminated);
    ck_assert_rule_at(&p, PC0, rule_unknown);

    p = STANDARD_PROGRAM(fde_overflow);
    ck_assert_rule_at(&p, PC0, rule_unknown);
    guarded_page_free(page);
}
END_TEST

START_TEST(test_cfi_factored_offset_overflow_is_unknown)
{
    /* Factored offsets whose product with data_align (-8) overflows 64
     * bits and would wrap to a plausible -16 or +16. */
    static const uint8_t fde_rbp_offset[] = {   /* (2^61 + 2) * -8 */
        0x86, 0x82, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20,
    };
    static const uint8_t fde_cfa_offset_sf[] = {   /* (2^61 - 2) * -8 */
        0x13, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f,
    };
    struct cfi_program p = STANDARD_PROGRAM(fde_rbp_offset);
    ck_assert_rule_at(&p, PC0, rule_unknown);
    p = STANDARD_PROGRAM(fde_cfa_offset_sf);
    ck_assert_rule_at(&p, PC0, rule_unknown);
}
END_TEST

START_TEST(test_cfi_remember_state_depth)
{
    /* Depth n: n remembered states, each with its own CFA offset, then
     * one restore per code byte. However deep the interpreter follows,
     * every rule it gives is the right one: none at all rather than one
     * from a state it dropped. GCC nests one level; two must work. */
    static const unsigned depths[] = { 1, 2, 3, 8, 9, 16, 64, 1000 };
    for (size_t d = 0; d < sizeof depths / sizeof depths[0]; d++) {
        unsigned n = depths[d];
        struct byte_buf fde = { .len = 0 };
        struct cfi_program p;
        for (unsigned k = 0; k < n; k++) {
            put_u8(&fde, 0x0e);
            put_uleb(&fde, 8 * (k + 2));
            put_u8(&fde, 0x0a);
        }
        put_u8(&fde, 0x0e);
        put_uleb(&fde, 8);
        for (unsigned j = 0; j < n; j++) {
            put_u8(&fde, 0x41);
            put_u8(&fde, 0x0b);
        }
        p = program_of(cie_standard, sizeof cie_standard, fde.data, fde.len);
        for (unsigned j = 0; j <= n; j++) {
            /* After j restores, the state remembered (n - j)th. */
            struct frame_rule want = j == 0 ? rule_rsp(8)
                                            : rule_rsp(8 * (int)(n - j + 2));
            struct frame_rule got = cfi_rule_at(&p, PC0 + j);
            char where[48];
            snprintf(where, sizeof where, "depth %u, after %u restores", n, j);
            if (n <= 2 || got.kind != FRAME_RULE_UNKNOWN)
                ck_assert_rule(got, want, where);
        }
    }
}
END_TEST

START_TEST(test_cfi_restore_state_on_empty_stack)
{
    static const uint8_t fde[] = { 0x0e, 0x10, 0x41, 0x0b };
    /* Remembered by the CIE, restored by the FDE: the CIE's state is
     * not the FDE's to pop. */
    static const uint8_t cie_remembers[] = { 0x0c, 0x07, 0x08, 0x90, 0x01,
                                             0x0a };
    static const uint8_t fde_pops_cie[] = { 0x0b };
    struct cfi_program p = STANDARD_PROGRAM(fde);
    struct cfi_program q = program_of(cie_remembers, sizeof cie_remembers,
                                      fde_pops_cie, sizeof fde_pops_cie);
    struct frame_rule popped = cfi_rule_at(&q, PC0);

    ck_assert_rule_at(&p, PC0 + 1, rule_unknown);
    ck_assert_msg(popped.kind == FRAME_RULE_UNKNOWN ||
                  rule_equal(popped, rule_rsp(8)), "kind %d", popped.kind);
}
END_TEST

START_TEST(test_cfi_advance_overflow)
{
    static const uint8_t fde_advance4[] = {
        0x0e, 0x10,
        0x04, 0xff, 0xff, 0xff, 0xff,   /* 2^32 - 1 code units */
        0x0e, 0x20,
    };
    static const uint8_t fde_advance6[] = { 0x0e, 0x10, 0x7f, 0x0e, 0x20 };
    struct cfi_program p = STANDARD_PROGRAM(fde_advance4);

    /* (2^32 - 1) * 2^62 does not fit: the next row is beyond any pc. */
    p.code_align = (uint64_t)1 << 62;
    ck_assert_rule_at(&p, PC0 + 100, rule_rsp(16));
    ck_assert_rule_at(&p, UINTPTR_MAX, rule_rsp(16));
    p = STANDARD_PROGRAM(fde_advance6);
    p.code_align = (uint64_t)1 << 62;
    ck_assert_rule_at(&p, UINTPTR_MAX, rule_rsp(16));
    /* Near the top of the address space the location must not wrap. */
    p = STANDARD_PROGRAM(fde_advance4);
    p.pc_begin = UINTPTR_MAX - 10;
    ck_assert_rule_at(&p, UINTPTR_MAX, rule_rsp(16));
    p.code_align = UINT64_MAX;
    ck_assert_rule_at(&p, UINTPTR_MAX, rule_rsp(16));
    /* No code unit, no meaning. */
    p = STANDARD_PROGRAM(fde_advance4);
    p.code_align = 0;
    ck_assert_rule_at(&p, PC0, rule_unknown);
}
END_TEST

Suite *cfi_suite(void)
{
    Suite *s = suite_create("cfi");
    TCase *cfi = tcase_create("cfi");

    tcase_add_test(cfi, test_cfi_prologue_rule_at_each_pc);
    tcase_add_test(cfi, test_cfi_epilogue_remember_restore_state);
    tcase_add_test(cfi, test_cfi_nested_remember_state);
    tcase_add_test(cfi, test_cfi_restore_returns_to_cie_rule);
    tcase_add_test(cfi, test_cfi_undefined_return_address_is_outermost);
    tcase_add_test(cfi, test_cfi_expression_unknown_until_superseded);
    tcase_add_test(cfi, test_cfi_only_registers_the_walk_needs_matter);
    tcase_add_test(cfi, test_cfi_signal_frame_and_other_ra_register_unknown);
    tcase_add_test(cfi, test_cfi_set_loc_and_wide_advances);
    tcase_add_test(cfi, test_cfi_every_truncation_is_safe);
    tcase_add_test(cfi, test_cfi_unknown_opcodes);
    tcase_add_test(cfi, test_cfi_leb128_padding_and_overflow);
    tcase_add_test(cfi, test_cfi_factored_offset_overflow_is_unknown);
    tcase_add_test(cfi, test_cfi_remember_state_depth);
    tcase_add_test(cfi, test_cfi_restore_state_on_empty_stack);
    tcase_add_test(cfi, test_cfi_advance_overflow);
    suite_add_tcase(s, cfi);
    return s;
}

#else /* not x86-64: the tracer's own walk is x86-64 only */

Suite *cfi_suite(void)
{
    return suite_create("cfi");
}

#endif
