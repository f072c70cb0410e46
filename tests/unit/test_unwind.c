/* test_unwind.c - the tracer's own x86-64 unwinder: the CFI interpreter on
 * hand-written programs (good, truncated and malformed), .eh_frame_hdr
 * lookups in forged tables, rules read from this binary's own .eh_frame,
 * walks over synthetic stacks whose frames are known exactly, and walks of
 * real call chains compared frame by frame with libunwind's (libgcc's in
 * threads), alone and from several threads at once. */
#define UNW_LOCAL_ONLY
#include "suites.h"
#include "eh_frame.h"
#include "unwind.h"

#include <alloca.h>
#include <dlfcn.h>
#include <libunwind.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__x86_64__)

/* ---------------------------------------------------------------------
 * Hand-written CFI programs
 * ------------------------------------------------------------------- */

/* Where the hand-written programs' code would start; never executed. */
#define PC0 ((uintptr_t)0x7f0000001000)

/* What GCC's CIE says for every x86-64 function: at entry the CFA is
 * rsp + 8 and the return address (r16) is at CFA - 8. */
static const uint8_t cie_standard[] = {
    0x0c, 0x07, 0x08,   /* DW_CFA_def_cfa: rsp + 8 */
    0x90, 0x01,         /* DW_CFA_offset: r16 at CFA - 8 */
};

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

static struct cfi_program program_of(const uint8_t *cie, size_t cie_len,
                                      const uint8_t *fde, size_t fde_len)
{
    return (struct cfi_program){
        .cie_insns = cie, .cie_end = cie + cie_len,
        .fde_insns = fde, .fde_end = fde + fde_len,
        .pc_begin = PC0, .code_align = 1, .data_align = -8,
        .ra_register = 16,
        .fde_encoding = 0x00,   /* DW_EH_PE_absptr, for DW_CFA_set_loc */
    };
}

/* The standard CIE followed by an FDE program in a static array. */
#define STANDARD_PROGRAM(fde) \
    program_of(cie_standard, sizeof cie_standard, (fde), sizeof(fde))

static struct frame_rule rule_rsp(int32_t cfa_offset)
{
    return (struct frame_rule){ .kind = FRAME_RULE_STEP,
                                .cfa_base = FRAME_BASE_RSP,
                                .cfa_offset = cfa_offset };
}

static struct frame_rule rule_rsp_saving_rbp(int32_t cfa_offset,
                                             int32_t rbp_offset)
{
    struct frame_rule rule = rule_rsp(cfa_offset);
    rule.rbp_saved = true;
    rule.rbp_offset = rbp_offset;
    return rule;
}

static struct frame_rule rule_rbp(int32_t cfa_offset, int32_t rbp_offset)
{
    struct frame_rule rule = rule_rsp_saving_rbp(cfa_offset, rbp_offset);
    rule.cfa_base = FRAME_BASE_RBP;
    return rule;
}

static const struct frame_rule rule_unknown = { .kind = FRAME_RULE_UNKNOWN };
static const struct frame_rule rule_outermost = {
    .kind = FRAME_RULE_OUTERMOST,
};
static const struct frame_rule rule_no_info = { .kind = FRAME_RULE_NO_INFO };

static bool rule_equal(struct frame_rule a, struct frame_rule b)
{
    if (a.kind != b.kind)
        return false;
    if (a.kind != FRAME_RULE_STEP)
        return true;
    return a.cfa_base == b.cfa_base && a.cfa_offset == b.cfa_offset &&
           a.rbp_saved == b.rbp_saved &&
           (!a.rbp_saved || a.rbp_offset == b.rbp_offset);
}

static const char *rule_text(struct frame_rule rule, char *buf, size_t size)
{
    if (rule.kind == FRAME_RULE_UNKNOWN)
        snprintf(buf, size, "unknown");
    else if (rule.kind == FRAME_RULE_OUTERMOST)
        snprintf(buf, size, "outermost");
    else if (rule.kind == FRAME_RULE_NO_INFO)
        snprintf(buf, size, "no unwind information");
    else if (rule.kind != FRAME_RULE_STEP)
        snprintf(buf, size, "kind %d", rule.kind);
    else if (rule.rbp_saved)
        snprintf(buf, size, "CFA=%s%+d, rbp at CFA%+d",
                 rule.cfa_base == FRAME_BASE_RBP ? "rbp" : "rsp",
                 rule.cfa_offset, rule.rbp_offset);
    else
        snprintf(buf, size, "CFA=%s%+d, rbp kept",
                 rule.cfa_base == FRAME_BASE_RBP ? "rbp" : "rsp",
                 rule.cfa_offset);
    return buf;
}

#define ck_assert_rule(actual, expected, where) do {                        \
        struct frame_rule got_ = (actual), want_ = (expected);             \
        char got_text_[64], want_text_[64];                                \
        ck_assert_msg(rule_equal(got_, want_), "%s: got %s, want %s",      \
                      (where), rule_text(got_, got_text_, 64),             \
                      rule_text(want_, want_text_, 64));                   \
    } while (0)

/* The rule at pc, named in a failure by its offset in the program. */
#define ck_assert_rule_at(program, pc, expected) do {                       \
        char where_[32];                                                   \
        snprintf(where_, sizeof where_, "pc +%#lx",                        \
                 (unsigned long)((pc) - (program)->pc_begin));             \
        ck_assert_rule(cfi_rule_at((program), (pc)), (expected), where_);  \
    } while (0)

/* Programs built at run time (and the forged .eh_frame tables). */
struct byte_buf {
    uint8_t data[8192];
    size_t len;
};

static void put_u8(struct byte_buf *b, uint8_t v)
{
    ck_assert_uint_lt(b->len, sizeof b->data);
    b->data[b->len++] = v;
}

static void put_uleb(struct byte_buf *b, uint64_t v)
{
    do {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        put_u8(b, byte | (v ? 0x80 : 0));
    } while (v);
}

static void put_u32(struct byte_buf *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        put_u8(b, (uint8_t)(v >> (8 * i)));
}

static void patch_u32(struct byte_buf *b, size_t at, uint32_t v)
{
    memcpy(b->data + at, &v, sizeof v);
}

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

/* A page whose end is followed by an inaccessible page, so that a read
 * past the end of bytes copied to its end faults, with or without ASan. */
struct guarded_page {
    uint8_t *base;
    size_t size;
};

static struct guarded_page guarded_page_new(void)
{
    struct guarded_page g = { .size = (size_t)sysconf(_SC_PAGESIZE) };
    g.base = mmap(NULL, 2 * g.size, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(g.base, MAP_FAILED);
    ck_assert_int_eq(mprotect(g.base + g.size, g.size, PROT_NONE), 0);
    return g;
}

/* A copy of bytes that ends exactly where the readable page does. */
static const uint8_t *guarded_copy(struct guarded_page g, const uint8_t *bytes,
                                   size_t len)
{
    uint8_t *copy = g.base + g.size - len;
    ck_assert_uint_le(len, g.size);
    memcpy(copy, bytes, len);
    return copy;
}

static void guarded_page_free(struct guarded_page g)
{
    munmap(g.base, 2 * g.size);
}

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

/* ---------------------------------------------------------------------
 * Forged .eh_frame_hdr + .eh_frame
 * ------------------------------------------------------------------- */

#define FORGED_FDES 5
/* Fake code: FDE i covers [hdr + CODE_AT(i), + 0x100); the gaps between
 * FDEs are covered by none. */
#define CODE_AT(i) ((uintptr_t)0x10000 + (uintptr_t)(i) * 0x200)

struct forged_eh {
    struct byte_buf b;             /* header at 0, .eh_frame after it */
    size_t version_at, frame_ptr_enc_at, count_enc_at, table_enc_at,
        count_at;
};

static uintptr_t forged_code(const struct forged_eh *f, int i)
{
    return (uintptr_t)f->b.data + CODE_AT(i);
}

/* A header as binutils writes it, a CIE with `augmentation` ("zR" for
 * GCC's), and FORGED_FDES FDEs; FDE i starts with CFA = rsp + 8 and
 * moves to rsp + 16 * (i + 1) after one byte. */
static void forge_eh_frame(struct forged_eh *f, const char *augmentation)
{
    struct byte_buf *b = &f->b;
    size_t frame_ptr_at, table_at, eh_frame_at, cie_at;

    b->len = 0;
    f->version_at = b->len;
    put_u8(b, 1);
    f->frame_ptr_enc_at = b->len;
    put_u8(b, 0x1b);               /* pcrel | sdata4 */
    f->count_enc_at = b->len;
    put_u8(b, 0x03);               /* udata4 */
    f->table_enc_at = b->len;
    put_u8(b, 0x3b);               /* datarel | sdata4 */
    frame_ptr_at = b->len;
    put_u32(b, 0);
    f->count_at = b->len;
    put_u32(b, FORGED_FDES);
    table_at = b->len;
    for (int i = 0; i < FORGED_FDES; i++) {
        put_u32(b, (uint32_t)CODE_AT(i));
        put_u32(b, 0);             /* the FDE's offset, patched below */
    }
    while (b->len % 8)
        put_u8(b, 0);
    eh_frame_at = b->len;
    patch_u32(b, frame_ptr_at, (uint32_t)(eh_frame_at - frame_ptr_at));

    cie_at = b->len;
    put_u32(b, 0);                 /* length, patched */
    put_u32(b, 0);                 /* CIE id */
    put_u8(b, 1);                  /* version */
    for (const char *a = augmentation; *a; a++)
        put_u8(b, (uint8_t)*a);
    put_u8(b, 0);
    put_uleb(b, 1);                /* code_align */
    put_u8(b, 0x78);               /* data_align -8 */
    put_u8(b, 16);                 /* return address column */
    put_uleb(b, 1);                /* augmentation data: R's encoding */
    put_u8(b, 0x1b);               /* FDE pointers: pcrel | sdata4 */
    for (size_t i = 0; i < sizeof cie_standard; i++)
        put_u8(b, cie_standard[i]);
    while (b->len % 4)
        put_u8(b, 0);              /* DW_CFA_nop */
    patch_u32(b, cie_at, (uint32_t)(b->len - cie_at - 4));

    for (int i = 0; i < FORGED_FDES; i++) {
        size_t at = b->len;
        put_u32(b, 0);             /* length, patched */
        put_u32(b, (uint32_t)(at + 4 - cie_at));
        put_u32(b, (uint32_t)(CODE_AT(i) - b->len));   /* pcrel */
        put_u32(b, 0x100);         /* range */
        put_uleb(b, 0);            /* no augmentation data */
        put_u8(b, 0x41);
        put_u8(b, 0x0e);
        put_uleb(b, 16 * (uint64_t)(i + 1));
        while (b->len % 4)
            put_u8(b, 0);
        patch_u32(b, at, (uint32_t)(b->len - at - 4));
        patch_u32(b, table_at + 8 * (size_t)i + 4, (uint32_t)at);
    }
    put_u32(b, 0);                 /* end of .eh_frame */
}

START_TEST(test_eh_frame_find_forged_table)
{
    static struct forged_eh f;
    struct cfi_program prog;

    forge_eh_frame(&f, "zR");
    for (int i = 0; i < FORGED_FDES; i++) {
        uintptr_t code = forged_code(&f, i);
        char where[32];
        snprintf(where, sizeof where, "FDE %d", i);
        ck_assert_msg(eh_frame_find(f.b.data, code, &prog), "%s", where);
        ck_assert_uint_eq(prog.pc_begin, code);
        ck_assert_uint_eq(prog.code_align, 1);
        ck_assert_int_eq(prog.data_align, -8);
        ck_assert_uint_eq(prog.ra_register, 16);
        ck_assert(!prog.signal_frame);
        ck_assert_rule(cfi_rule_at(&prog, code), rule_rsp(8), where);
        ck_assert(eh_frame_find(f.b.data, code + 0x80, &prog));
        ck_assert_rule(cfi_rule_at(&prog, code + 0x80),
                       rule_rsp(16 * (i + 1)), where);
        ck_assert(eh_frame_find(f.b.data, code + 0xff, &prog));
        ck_assert_uint_eq(prog.pc_begin, code);
        ck_assert_int_eq(eh_frame_lookup(f.b.data, code + 0xff, &prog), 1);
        /* Past the FDE's range, in the gap before the next one: code
         * without unwind information, not unreadable tables. */
        ck_assert_msg(!eh_frame_find(f.b.data, code + 0x100, &prog), "%s",
                      where);
        ck_assert_msg(!eh_frame_find(f.b.data, code + 0x1ff, &prog), "%s",
                      where);
        ck_assert_int_eq(eh_frame_lookup(f.b.data, code + 0x100, &prog), 0);
        ck_assert_int_eq(eh_frame_lookup(f.b.data, code + 0x1ff, &prog), 0);
    }
    ck_assert(!eh_frame_find(f.b.data, forged_code(&f, 0) - 1, &prog));
    ck_assert(!eh_frame_find(f.b.data, 0x10, &prog));
    ck_assert_int_eq(eh_frame_lookup(f.b.data, forged_code(&f, 0) - 1, &prog),
                     0);
    ck_assert_int_eq(eh_frame_lookup(f.b.data, 0x10, &prog), 0);
}
END_TEST

START_TEST(test_eh_frame_find_rejects_bad_headers)
{
    static struct forged_eh f;
    struct cfi_program prog;
    uintptr_t inside;

    forge_eh_frame(&f, "zR");
    inside = forged_code(&f, 2) + 4;
    ck_assert(eh_frame_find(f.b.data, inside, &prog));   /* control */

    /* Tables we cannot read (-1: ask libunwind), as opposed to tables
     * that say no FDE covers pc (0: code without unwind information). */
    f.b.data[f.version_at] = 2;
    ck_assert(!eh_frame_find(f.b.data, inside, &prog));
    ck_assert_int_eq(eh_frame_lookup(f.b.data, inside, &prog), -1);
    forge_eh_frame(&f, "zR");
    f.b.data[f.version_at] = 0;
    ck_assert(!eh_frame_find(f.b.data, inside, &prog));
    ck_assert_int_eq(eh_frame_lookup(f.b.data, inside, &prog), -1);

    /* Tables in any other form than datarel sdata4 pairs. */
    static const uint8_t table_encodings[] = { 0x1b, 0x3c, 0x3a, 0x03, 0x0b,
                                               0xff };
    for (size_t i = 0; i < sizeof table_encodings; i++) {
        forge_eh_frame(&f, "zR");
        f.b.data[f.table_enc_at] = table_encodings[i];
        ck_assert_msg(!eh_frame_find(f.b.data, inside, &prog),
                      "table encoding %#x", table_encodings[i]);
        ck_assert_int_eq(eh_frame_lookup(f.b.data, inside, &prog), -1);
    }

    forge_eh_frame(&f, "zR");
    f.b.data[f.count_enc_at] = 0xff;   /* DW_EH_PE_omit: no table */
    ck_assert(!eh_frame_find(f.b.data, inside, &prog));
    ck_assert_int_eq(eh_frame_lookup(f.b.data, inside, &prog), -1);

    /* An empty table: no function of the object has unwind information. */
    forge_eh_frame(&f, "zR");
    patch_u32(&f.b, f.count_at, 0);
    ck_assert(!eh_frame_find(f.b.data, inside, &prog));
    ck_assert(!eh_frame_find(f.b.data, forged_code(&f, 0), &prog));
    ck_assert_int_eq(eh_frame_lookup(f.b.data, inside, &prog), 0);

    forge_eh_frame(&f, "zR");
    f.b.data[f.frame_ptr_enc_at] = 0x0f;   /* no such format */
    ck_assert(!eh_frame_find(f.b.data, inside, &prog));
    ck_assert_int_eq(eh_frame_lookup(f.b.data, inside, &prog), -1);

    /* A pc below the first entry has no FDE, however close. */
    forge_eh_frame(&f, "zR");
    ck_assert(!eh_frame_find(f.b.data, forged_code(&f, 0) - 1, &prog));
    ck_assert(!eh_frame_find(f.b.data, (uintptr_t)f.b.data, &prog));

    /* An augmentation we do not know makes the rest unreadable. */
    forge_eh_frame(&f, "zRX");
    ck_assert(!eh_frame_find(f.b.data, inside, &prog));
    ck_assert_int_eq(eh_frame_lookup(f.b.data, inside, &prog), -1);
}
END_TEST

START_TEST(test_eh_frame_find_signal_frame_cie)
{
    static struct forged_eh f;
    struct cfi_program prog;
    uintptr_t inside;

    forge_eh_frame(&f, "zRS");
    inside = forged_code(&f, 1) + 4;
    ck_assert(eh_frame_find(f.b.data, inside, &prog));
    ck_assert(prog.signal_frame);
    ck_assert_rule(cfi_rule_at(&prog, inside), rule_unknown, "'S' CIE");
}
END_TEST

/* ---------------------------------------------------------------------
 * Code with known unwind information, in this binary
 * ------------------------------------------------------------------- */

/* Functions written in assembly, so that their CFI is the same whatever
 * the compiler and its flags (ASan and frame pointers included). Each has
 * a body of nops at a label "<name>_body" where its rule holds. */
__asm__(
    ".pushsection .text\n"
    ".p2align 4\n"
    /* Frameless: CFA = rsp + 8 at every byte. */
    ".globl unwind_test_sled\n"
    ".hidden unwind_test_sled\n"
    ".type unwind_test_sled, @function\n"
    "unwind_test_sled:\n"
    ".cfi_startproc\n"
    ".fill 4096, 1, 0x90\n"
    "ret\n"
    ".cfi_endproc\n"
    ".size unwind_test_sled, .-unwind_test_sled\n"
    /* A frame-pointer frame: CFA = rbp + 16, rbp saved at CFA - 16. */
    ".globl unwind_test_fp\n"
    ".hidden unwind_test_fp\n"
    ".globl unwind_test_fp_body\n"
    ".hidden unwind_test_fp_body\n"
    ".type unwind_test_fp, @function\n"
    "unwind_test_fp:\n"
    ".cfi_startproc\n"
    "push %rbp\n"
    ".cfi_def_cfa_offset 16\n"
    ".cfi_offset %rbp, -16\n"
    "mov %rsp, %rbp\n"
    ".cfi_def_cfa_register %rbp\n"
    "unwind_test_fp_body:\n"
    ".fill 64, 1, 0x90\n"
    "pop %rbp\n"
    ".cfi_def_cfa %rsp, 8\n"
    "ret\n"
    ".cfi_endproc\n"
    ".size unwind_test_fp, .-unwind_test_fp\n"
    /* rbp used as an ordinary callee-saved register: CFA = rsp + 48,
     * rbp saved at CFA - 16. */
    ".globl unwind_test_saves_rbp\n"
    ".hidden unwind_test_saves_rbp\n"
    ".globl unwind_test_saves_rbp_body\n"
    ".hidden unwind_test_saves_rbp_body\n"
    ".type unwind_test_saves_rbp, @function\n"
    "unwind_test_saves_rbp:\n"
    ".cfi_startproc\n"
    "push %rbp\n"
    ".cfi_def_cfa_offset 16\n"
    ".cfi_offset %rbp, -16\n"
    "sub $32, %rsp\n"
    ".cfi_def_cfa_offset 48\n"
    "unwind_test_saves_rbp_body:\n"
    ".fill 64, 1, 0x90\n"
    "add $32, %rsp\n"
    ".cfi_def_cfa_offset 16\n"
    "pop %rbp\n"
    ".cfi_restore %rbp\n"
    ".cfi_def_cfa_offset 8\n"
    "ret\n"
    ".cfi_endproc\n"
    ".size unwind_test_saves_rbp, .-unwind_test_saves_rbp\n"
    /* A signal trampoline's CIE ("zRS"). */
    ".globl unwind_test_signal_body\n"
    ".hidden unwind_test_signal_body\n"
    ".type unwind_test_signal, @function\n"
    "unwind_test_signal:\n"
    ".cfi_startproc\n"
    ".cfi_signal_frame\n"
    "unwind_test_signal_body:\n"
    ".fill 64, 1, 0x90\n"
    "ret\n"
    ".cfi_endproc\n"
    ".size unwind_test_signal, .-unwind_test_signal\n"
    /* The CFA as a DWARF expression (*(rsp + 8)), as for realigned
     * stacks. */
    ".globl unwind_test_expr_body\n"
    ".hidden unwind_test_expr_body\n"
    ".type unwind_test_expr, @function\n"
    "unwind_test_expr:\n"
    ".cfi_startproc\n"
    ".cfi_escape 0x0f, 0x03, 0x77, 0x08, 0x06\n"
    "unwind_test_expr_body:\n"
    ".fill 64, 1, 0x90\n"
    "ret\n"
    ".cfi_endproc\n"
    ".size unwind_test_expr, .-unwind_test_expr\n"
    /* The outermost frame, like _start's. */
    ".globl unwind_test_outermost_body\n"
    ".hidden unwind_test_outermost_body\n"
    ".type unwind_test_outermost, @function\n"
    "unwind_test_outermost:\n"
    ".cfi_startproc\n"
    ".cfi_undefined %rip\n"
    "unwind_test_outermost_body:\n"
    ".fill 64, 1, 0x90\n"
    "ret\n"
    ".cfi_endproc\n"
    ".size unwind_test_outermost, .-unwind_test_outermost\n"
    /* No CFI at all, like code from an assembler file without it: the
     * object has .eh_frame, but no FDE covers this. */
    ".globl unwind_test_nocfi_body\n"
    ".hidden unwind_test_nocfi_body\n"
    ".type unwind_test_nocfi, @function\n"
    "unwind_test_nocfi:\n"
    "unwind_test_nocfi_body:\n"
    ".fill 64, 1, 0x90\n"
    "ret\n"
    ".size unwind_test_nocfi, .-unwind_test_nocfi\n"
    ".popsection\n");

#define HIDDEN __attribute__((visibility("hidden")))
extern const char unwind_test_sled[] HIDDEN;
extern const char unwind_test_fp[] HIDDEN;
extern const char unwind_test_fp_body[] HIDDEN;
extern const char unwind_test_saves_rbp[] HIDDEN;
extern const char unwind_test_saves_rbp_body[] HIDDEN;
extern const char unwind_test_signal_body[] HIDDEN;
extern const char unwind_test_expr_body[] HIDDEN;
extern const char unwind_test_outermost_body[] HIDDEN;
extern const char unwind_test_nocfi_body[] HIDDEN;

#define SLED_BYTES 4096

/* Compiled by the Makefile with -O2: nothing to save, no frame. */
static __attribute__((noinline)) int unwind_test_plain_leaf(int x)
{
    return x * 3 + 1;
}

START_TEST(test_rule_for_own_code)
{
    ck_assert_rule(eh_frame_rule_for((uintptr_t)unwind_test_plain_leaf),
                   rule_rsp(8), "plain -O2 function, first instruction");
    ck_assert_rule(eh_frame_rule_for((uintptr_t)unwind_test_sled),
                   rule_rsp(8), "sled start");
    ck_assert_rule(eh_frame_rule_for((uintptr_t)unwind_test_sled +
                                     SLED_BYTES - 1),
                   rule_rsp(8), "sled end");
    ck_assert_rule(eh_frame_rule_for((uintptr_t)unwind_test_fp),
                   rule_rsp(8), "fp entry");
    ck_assert_rule(eh_frame_rule_for((uintptr_t)unwind_test_fp + 1),
                   rule_rsp_saving_rbp(16, -16), "fp after push");
    ck_assert_rule(eh_frame_rule_for((uintptr_t)unwind_test_fp_body + 7),
                   rule_rbp(16, -16), "fp body");
    ck_assert_rule(eh_frame_rule_for((uintptr_t)unwind_test_saves_rbp_body +
                                     7),
                   rule_rsp_saving_rbp(48, -16), "saves_rbp body");
    ck_assert_rule(eh_frame_rule_for((uintptr_t)unwind_test_signal_body + 7),
                   rule_unknown, "signal frame");
    ck_assert_rule(eh_frame_rule_for((uintptr_t)unwind_test_expr_body + 7),
                   rule_unknown, "CFA expression");
    ck_assert_rule(eh_frame_rule_for((uintptr_t)unwind_test_outermost_body +
                                     7),
                   rule_outermost, "undefined rip");
}
END_TEST

START_TEST(test_rule_for_code_without_unwind_info)
{
    long page_size = sysconf(_SC_PAGESIZE);
    char *anon = mmap(NULL, (size_t)page_size, PROT_READ | PROT_EXEC,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(anon, MAP_FAILED);
    ck_assert_rule(eh_frame_rule_for(0x10), rule_no_info, "address 0x10");
    ck_assert_rule(eh_frame_rule_for((uintptr_t)anon + 16), rule_no_info,
                   "anonymous mapping (like JIT code)");
    ck_assert_rule(eh_frame_rule_for((uintptr_t)unwind_test_nocfi_body + 7),
                   rule_no_info, "function without an FDE");
    munmap(anon, (size_t)page_size);
}
END_TEST

/* ---------------------------------------------------------------------
 * Synthetic stacks: memory laid out as the frames of the assembly
 * functions above would leave it, so that the walk's every frame and slot
 * is known in advance.
 * ------------------------------------------------------------------- */

enum synth_shape {
    SHAPE_SLED,        /* frameless */
    SHAPE_FP,          /* CFA from rbp */
    SHAPE_SAVES_RBP,   /* CFA from rsp, rbp saved */
    SHAPE_OUTERMOST,
    SHAPE_NO_OBJECT,   /* code of no object (JIT) and code without an */
    SHAPE_NO_FDE,      /* FDE: laid out as frame-pointer frames */
    SHAPE_SIGNAL,      /* the walk cannot read these */
    SHAPE_EXPR,
};

#define SYNTH_MAX_FRAMES 2048
#define SYNTH_WORDS (SYNTH_MAX_FRAMES * 8 + 8)

struct synth_stack {
    uintptr_t words[SYNTH_WORDS];
    uintptr_t entry_slot;
    size_t n;
    uintptr_t frames[SYNTH_MAX_FRAMES];   /* what a walk must find */
    uintptr_t slots[SYNTH_MAX_FRAMES];
    uintptr_t *beyond;   /* where the outermost frame's caller would be */
};

/* A return address into code of that shape; `index` picks one of many
 * distinct addresses in the sled. */
static uintptr_t shape_pc(enum synth_shape shape, size_t index)
{
    switch (shape) {
    case SHAPE_SLED:
        return (uintptr_t)unwind_test_sled + 1 + index % SLED_BYTES;
    case SHAPE_FP:
        return (uintptr_t)unwind_test_fp_body + 8;
    case SHAPE_SAVES_RBP:
        return (uintptr_t)unwind_test_saves_rbp_body + 8;
    case SHAPE_OUTERMOST:
        return (uintptr_t)unwind_test_outermost_body + 8;
    case SHAPE_SIGNAL:
        return (uintptr_t)unwind_test_signal_body + 8;
    case SHAPE_EXPR:
        return (uintptr_t)unwind_test_expr_body + 8;
    case SHAPE_NO_OBJECT:
        return 0x11;
    case SHAPE_NO_FDE:
        return (uintptr_t)unwind_test_nocfi_body + 8;
    }
    return 0;
}

/* Lays out frames[0..n) innermost first, as the rules of their shapes
 * read them: the entry slot holds frame 0, each frame's CFA - 8 the next
 * return address; rbp is stored where the frame that uses or restores it
 * expects it. A zero return address ends the stack. */
static void synth_build(struct synth_stack *s, const enum synth_shape *shapes,
                        const uintptr_t *pcs, size_t n)
{
    size_t sp, rbp_holder = 0;

    ck_assert_uint_le(n, SYNTH_MAX_FRAMES);
    memset(s->words, 0, sizeof s->words);
    s->n = n;
    /* words[0] is the saved rbp next to the entry slot. */
    s->entry_slot = (uintptr_t)&s->words[1];
    s->words[1] = pcs[0];
    s->frames[0] = pcs[0];
    s->slots[0] = s->entry_slot;
    sp = 2;
    for (size_t i = 0; i < n; i++) {
        size_t cfa;
        switch (shapes[i]) {
        case SHAPE_FP:
        case SHAPE_NO_OBJECT:
        case SHAPE_NO_FDE:
            /* Three words of locals, then the saved rbp and the return
             * address; rbp in this frame points at the saved rbp. */
            cfa = sp + 3 + 2;
            s->words[rbp_holder] = (uintptr_t)&s->words[cfa - 2];
            rbp_holder = cfa - 2;
            break;
        case SHAPE_SAVES_RBP:
            cfa = sp + 6;
            /* Whatever rbp held inside this frame does not matter. */
            s->words[rbp_holder] = 0xdeadbeef;
            rbp_holder = cfa - 2;
            break;
        default:
            cfa = sp + 1;
            break;
        }
        ck_assert_uint_lt(cfa, SYNTH_WORDS);
        s->words[cfa - 1] = i + 1 < n ? pcs[i + 1] : 0;
        s->beyond = &s->words[cfa - 1];
        if (i + 1 < n) {
            s->frames[i + 1] = pcs[i + 1];
            s->slots[i + 1] = (uintptr_t)&s->words[cfa - 1];
        }
        sp = cfa;
    }
}

static void synth_build_shapes(struct synth_stack *s,
                               const enum synth_shape *shapes, size_t n)
{
    uintptr_t pcs[SYNTH_MAX_FRAMES];
    for (size_t i = 0; i < n; i++)
        pcs[i] = shape_pc(shapes[i], i * 7);
    synth_build(s, shapes, pcs, n);
}

/* A stack of n frameless frames at distinct sled addresses from `first`. */
static void synth_build_sled(struct synth_stack *s, size_t first, size_t n)
{
    static const enum synth_shape sled[SYNTH_MAX_FRAMES];   /* SHAPE_SLED */
    uintptr_t pcs[SYNTH_MAX_FRAMES];
    for (size_t i = 0; i < n; i++)
        pcs[i] = shape_pc(SHAPE_SLED, first + i);
    synth_build(s, sled, pcs, n);
}

/* Whether a walk found exactly the frames and slots laid out, from
 * `skip` frames in. */
static bool synth_walk_matches(const struct synth_stack *s, size_t skip,
                               int n, const uintptr_t *frames,
                               const uintptr_t *slots)
{
    return n >= 0 && (size_t)n == s->n - skip &&
           memcmp(frames, s->frames + skip, (size_t)n * sizeof *frames) == 0 &&
           memcmp(slots, s->slots + skip, (size_t)n * sizeof *slots) == 0;
}

static struct synth_stack *synth_new(void)
{
    struct synth_stack *s = calloc(1, sizeof *s);
    ck_assert_ptr_nonnull(s);
    return s;
}

START_TEST(test_walk_synthetic_shapes)
{
    static const enum synth_shape shapes[] = {
        SHAPE_SLED, SHAPE_FP, SHAPE_SAVES_RBP, SHAPE_FP, SHAPE_SLED,
        SHAPE_SAVES_RBP, SHAPE_SLED, SHAPE_FP, SHAPE_FP, SHAPE_OUTERMOST,
    };
    const size_t n = sizeof shapes / sizeof shapes[0];
    struct synth_stack *s = synth_new();
    uintptr_t frames[SYNTH_MAX_FRAMES], slots[SYNTH_MAX_FRAMES];
    int got;

    synth_build_shapes(s, shapes, n);
    got = unwind_from_slot(s->entry_slot, frames, slots, 64, 0, 0);
    ck_assert_int_eq(got, (int)n);
    ck_assert(synth_walk_matches(s, 0, got, frames, slots));
    /* The outermost frame ends the walk, whatever lies above it. */
    *s->beyond = shape_pc(SHAPE_SLED, 0);
    got = unwind_from_slot(s->entry_slot, frames, slots, 64, 0, 0);
    ck_assert_int_eq(got, (int)n);
    /* Again, now from cached rules. */
    got = unwind_from_slot(s->entry_slot, frames, slots, 64, 0, 0);
    ck_assert(synth_walk_matches(s, 0, got, frames, slots));
    /* Depth keeps the innermost frames. */
    for (size_t depth = 0; depth <= n; depth++) {
        got = unwind_from_slot(s->entry_slot, frames, slots, depth, 0, 0);
        ck_assert_int_eq(got, (int)depth);
        ck_assert(memcmp(frames, s->frames, depth * sizeof *frames) == 0);
        ck_assert(memcmp(slots, s->slots, depth * sizeof *slots) == 0);
    }
    free(s);
}
END_TEST

START_TEST(test_walk_synthetic_skips_own_frames)
{
    /* The sled and the fp function are adjacent: one range of "our own"
     * code covers both, as libmtrace.so's text covers its entry points. */
    static const enum synth_shape shapes[] = {
        SHAPE_SLED, SHAPE_FP, SHAPE_SLED, SHAPE_SAVES_RBP, SHAPE_FP,
        SHAPE_SLED,
    };
    const size_t n = sizeof shapes / sizeof shapes[0];
    struct synth_stack *s = synth_new();
    uintptr_t frames[64], slots[64];
    uintptr_t own_start = (uintptr_t)unwind_test_sled;
    uintptr_t own_end = (uintptr_t)unwind_test_saves_rbp;
    int got;

    ck_assert_uint_lt(own_start, (uintptr_t)unwind_test_fp);
    ck_assert_uint_lt((uintptr_t)unwind_test_fp, own_end);
    synth_build_shapes(s, shapes, n);
    got = unwind_from_slot(s->entry_slot, frames, slots, 64, own_start,
                           own_end);
    /* Only the leading frames go: the sled frame further up stays. */
    ck_assert_int_eq(got, (int)n - 3);
    ck_assert(synth_walk_matches(s, 3, got, frames, slots));
    /* Depth counts the frames kept. */
    got = unwind_from_slot(s->entry_slot, frames, slots, 2, own_start,
                           own_end);
    ck_assert_int_eq(got, 2);
    ck_assert_uint_eq(frames[0], s->frames[3]);
    ck_assert_uint_eq(frames[1], s->frames[4]);
    /* A range no leading frame falls in skips nothing. */
    got = unwind_from_slot(s->entry_slot, frames, slots, 64,
                           (uintptr_t)unwind_test_saves_rbp,
                           (uintptr_t)unwind_test_saves_rbp + 1);
    ck_assert(synth_walk_matches(s, 0, got, frames, slots));
    free(s);
}
END_TEST

START_TEST(test_walk_gives_up_where_libunwind_must_do_it)
{
    static const enum synth_shape through_signal[] = {
        SHAPE_SLED, SHAPE_FP, SHAPE_SIGNAL, SHAPE_SLED,
    };
    static const enum synth_shape through_expr[] = {
        SHAPE_SAVES_RBP, SHAPE_EXPR, SHAPE_SLED,
    };
    static const enum synth_shape through_jit[] = {
        SHAPE_SLED, SHAPE_NO_OBJECT, SHAPE_SLED,
    };
    /* Skipping our own frames must not skip the check either. */
    static const enum synth_shape own_then_jit[] = {
        SHAPE_NO_OBJECT, SHAPE_SLED,
    };
    struct synth_stack *s = synth_new();
    uintptr_t frames[64], slots[64];

    synth_build_shapes(s, through_signal, 4);
    ck_assert_int_eq(unwind_from_slot(s->entry_slot, frames, slots, 64, 0, 0),
                     -1);
    synth_build_shapes(s, through_expr, 3);
    ck_assert_int_eq(unwind_from_slot(s->entry_slot, frames, slots, 64, 0, 0),
                     -1);
    /* Code without unwind information, and rbp (words[0]) not a frame
     * pointer: nothing to follow. */
    synth_build_shapes(s, through_jit, 3);
    s->words[0] = 0;
    ck_assert_int_eq(unwind_from_slot(s->entry_slot, frames, slots, 64, 0, 0),
                     -1);
    synth_build_shapes(s, own_then_jit, 2);
    s->words[0] = 0;
    ck_assert_int_eq(unwind_from_slot(s->entry_slot, frames, slots, 64, 0,
                                      0x100),
                     -1);
    free(s);
}
END_TEST

START_TEST(test_walk_refuses_implausible_frame_pointer)
{
    /* A frame-pointer rule with rbp not holding a frame (code that uses
     * rbp for data between our entry point and its caller): give up
     * rather than read wherever rbp points. */
    static const enum synth_shape shapes[] = { SHAPE_FP, SHAPE_SLED };
    struct synth_stack *s = synth_new();
    uintptr_t frames[64], slots[64];
    uintptr_t sp;

    synth_build_shapes(s, shapes, 2);
    ck_assert_int_eq(unwind_from_slot(s->entry_slot, frames, slots, 64, 0, 0),
                     2);
    sp = s->entry_slot + sizeof(uintptr_t);
    {
        const uintptr_t bad_rbp[] = {
            0,                                /* CFA would be 16 */
            sp - 64,                          /* CFA below sp */
            sp + 3,                           /* CFA misaligned */
            sp + ((uintptr_t)1 << 40),        /* a terabyte above */
        };
        for (size_t i = 0; i < sizeof bad_rbp / sizeof bad_rbp[0]; i++) {
            s->words[0] = bad_rbp[i];
            ck_assert_msg(unwind_from_slot(s->entry_slot, frames, slots, 64,
                                           0, 0) == -1,
                          "rbp %#lx (sp %#lx)", (unsigned long)bad_rbp[i],
                          (unsigned long)sp);
        }
    }
    free(s);
}
END_TEST

START_TEST(test_rule_cache_many_return_addresses)
{
    /* Thousands of distinct return addresses, as in a big program. */
    enum { N = 2000 };
    struct synth_stack *s = synth_new();
    uintptr_t *frames = calloc(N, sizeof *frames);
    uintptr_t *slots = calloc(N, sizeof *slots);
    int got;

    ck_assert_ptr_nonnull(frames);
    ck_assert_ptr_nonnull(slots);
    synth_build_sled(s, 0, N);
    for (int round = 0; round < 3; round++) {
        got = unwind_from_slot(s->entry_slot, frames, slots, N, 0, 0);
        ck_assert_msg(synth_walk_matches(s, 0, got, frames, slots),
                      "round %d: %d frames", round, got);
    }
    ck_assert_uint_ge(unwind_cached_rules(), N / 2);
    unwind_forget_rules();
    ck_assert_uint_eq(unwind_cached_rules(), 0);
    got = unwind_from_slot(s->entry_slot, frames, slots, N, 0, 0);
    ck_assert(synth_walk_matches(s, 0, got, frames, slots));
    free(frames);
    free(slots);
    free(s);
}
END_TEST

/* Rewrites frame i's return address where the walk reads it. */
static void synth_set_frame(struct synth_stack *s, size_t i, uintptr_t pc)
{
    *(uintptr_t *)s->slots[i] = pc;
    s->frames[i] = pc;
}

START_TEST(test_walk_after_stack_changes)
{
    /* The same thread walking the same stack memory again and again, as
     * a loop that allocates does, while the frames in it change: each
     * walk gives the stack as it is now, never one remembered. */
    enum { N = 21 };
    enum synth_shape shapes[N];
    uintptr_t pcs[N], frames[64], slots[64];
    struct synth_stack *s = synth_new();
    int got;

    for (size_t i = 0; i < N; i++) {
        shapes[i] = i + 1 < N ? SHAPE_SLED : SHAPE_OUTERMOST;
        pcs[i] = shape_pc(shapes[i], i * 3);
    }
    synth_build(s, shapes, pcs, N);
    for (int round = 0; round < 2; round++) {
        got = unwind_from_slot(s->entry_slot, frames, slots, 64, 0, 0);
        ck_assert(synth_walk_matches(s, 0, got, frames, slots));
    }
    /* An outer caller returns to another place (the same shape). */
    synth_set_frame(s, 12, shape_pc(SHAPE_SLED, 3000));
    got = unwind_from_slot(s->entry_slot, frames, slots, 64, 0, 0);
    ck_assert(synth_walk_matches(s, 0, got, frames, slots));
    /* An outer frame is now the outermost one. */
    synth_set_frame(s, 12, shape_pc(SHAPE_OUTERMOST, 0));
    got = unwind_from_slot(s->entry_slot, frames, slots, 64, 0, 0);
    ck_assert_int_eq(got, 13);
    ck_assert(memcmp(frames, s->frames, 13 * sizeof *frames) == 0);
    synth_set_frame(s, 12, pcs[12]);
    /* An innermost frame changes, the rest stays. */
    synth_set_frame(s, 0, shape_pc(SHAPE_SLED, 2500));
    got = unwind_from_slot(s->entry_slot, frames, slots, 64, 0, 0);
    ck_assert(synth_walk_matches(s, 0, got, frames, slots));
    /* Entered further out on the same stack. */
    got = unwind_from_slot(s->slots[5], frames, slots, 64, 0, 0);
    ck_assert(synth_walk_matches(s, 5, got, frames, slots));
    /* Cut short, then whole, then cut again. */
    got = unwind_from_slot(s->entry_slot, frames, slots, 5, 0, 0);
    ck_assert_int_eq(got, 5);
    ck_assert(memcmp(frames, s->frames, 5 * sizeof *frames) == 0);
    got = unwind_from_slot(s->entry_slot, frames, slots, 64, 0, 0);
    ck_assert(synth_walk_matches(s, 0, got, frames, slots));
    got = unwind_from_slot(s->entry_slot, frames, slots, 3, 0, 0);
    ck_assert_int_eq(got, 3);
    ck_assert(memcmp(frames, s->frames, 3 * sizeof *frames) == 0);
    /* The same inner frames in the same slots, but different frames
     * around them: one with rbp saved, then one addressed from rbp. */
    shapes[8] = SHAPE_SAVES_RBP;
    pcs[8] = shape_pc(SHAPE_SAVES_RBP, 0);
    synth_build(s, shapes, pcs, N);
    got = unwind_from_slot(s->entry_slot, frames, slots, 64, 0, 0);
    ck_assert(synth_walk_matches(s, 0, got, frames, slots));
    shapes[8] = SHAPE_FP;
    pcs[8] = shape_pc(SHAPE_FP, 0);
    synth_build(s, shapes, pcs, N);
    got = unwind_from_slot(s->entry_slot, frames, slots, 64, 0, 0);
    ck_assert(synth_walk_matches(s, 0, got, frames, slots));
    got = unwind_from_slot(s->entry_slot, frames, slots, 64, 0, 0);
    ck_assert(synth_walk_matches(s, 0, got, frames, slots));
    /* A second frame-pointer frame further in: rbp now comes from its
     * save slot, and the outer frame's CFA with it. */
    shapes[4] = SHAPE_FP;
    pcs[4] = shape_pc(SHAPE_FP, 0);
    synth_build(s, shapes, pcs, N);
    got = unwind_from_slot(s->entry_slot, frames, slots, 64, 0, 0);
    ck_assert(synth_walk_matches(s, 0, got, frames, slots));
    free(s);
}
END_TEST

/* ---------------------------------------------------------------------
 * Real call chains, compared with libunwind
 * ------------------------------------------------------------------- */

#define WALK_MAX 128

/* Every link of a chain stays a call with a frame of its own: GCC's
 * interprocedural passes would otherwise drop return values nobody uses
 * and turn the calls into jumps. */
#if defined(__clang__)
#define CHAIN_LINK __attribute__((noinline))
#else
#define CHAIN_LINK __attribute__((noipa))
#endif
/* The chains' results, used so that no call's value is dead; one per
 * thread, since several walk at once. */
static __thread volatile int chain_sink;

struct walk {
    /* What to ask for. */
    size_t depth;
    uintptr_t own_start, own_end;
    bool with_truth;
    /* The truth from libgcc's unwinder instead of libunwind's: under TSan,
     * a thread that used unw_backtrace crashes in libunwind's thread-exit
     * destructor. */
    bool truth_by_libgcc;
    /* Found. */
    int n;
    uintptr_t frames[WALK_MAX];
    bool slots_hold_frames;   /* *slots[i] == frames[i], stack still live */
    int truth_n;              /* libunwind's; -1: it never saw our entry */
    uintptr_t truth[WALK_MAX];
};

/* libgcc's unwinder, from libgcc_s itself: libunwind exports the same
 * names (and glibc's backtrace), and the program links it. Declared here
 * because -Ipreload makes <unwind.h> our own unwind.h: the context is
 * opaque, the reason codes are those of GCC's <unwind.h>. */
enum { LIBGCC_NO_REASON = 0, LIBGCC_END_OF_STACK = 5 };
typedef int libgcc_trace_fn(void *context, void *arg);
static struct {
    int (*backtrace)(libgcc_trace_fn *fn, void *arg);
    uintptr_t (*get_ip)(void *context);
} libgcc;

static void libgcc_load(void)
{
    void *lib = dlopen("libgcc_s.so.1", RTLD_NOW);
    ck_assert_msg(lib, "libgcc_s: %s", dlerror());
    *(void **)&libgcc.backtrace = dlsym(lib, "_Unwind_Backtrace");
    *(void **)&libgcc.get_ip = dlsym(lib, "_Unwind_GetIP");
    ck_assert_ptr_nonnull(libgcc.backtrace);
    ck_assert_ptr_nonnull(libgcc.get_ip);
}

struct libgcc_trace {
    void **frames;
    int n, max;
};

static int libgcc_frame(void *context, void *arg)
{
    struct libgcc_trace *trace = arg;
    if (trace->n == trace->max)
        return LIBGCC_END_OF_STACK;
    trace->frames[trace->n++] = (void *)libgcc.get_ip(context);
    return LIBGCC_NO_REASON;
}

static int libgcc_backtrace(void **frames, int max)
{
    struct libgcc_trace trace = { frames, 0, max };
    libgcc.backtrace(libgcc_frame, &trace);
    /* The outermost frame's caller comes as 0, which glibc's backtrace
     * drops too. */
    if (trace.n > 0 && frames[trace.n - 1] == NULL)
        trace.n--;
    return trace.n;
}

/* libunwind's (or libgcc's) frames from the one whose return address is
 * entry_return outwards. */
static CHAIN_LINK void walk_truth(struct walk *w, uintptr_t entry_return)
{
    void *raw[WALK_MAX + 16];
    int m = w->truth_by_libgcc ? libgcc_backtrace(raw, WALK_MAX + 16)
                               : unw_backtrace(raw, WALK_MAX + 16);
    int k = 0;

    while (k < m && (uintptr_t)raw[k] != entry_return)
        k++;
    if (m - k > WALK_MAX)
        m = k + WALK_MAX;
    w->truth_n = k < m ? m - k : -1;
    for (int i = k; i < m; i++)
        w->truth[i - k] = (uintptr_t)raw[i];
}

/* The innermost frame of every chain: calling __builtin_frame_address
 * gives it a frame pointer, the frame an interposed entry point makes
 * (saved rbp just below its return address). */
static CHAIN_LINK int walk_here(struct walk *w)
{
    uintptr_t entry_slot =
        (uintptr_t)__builtin_frame_address(0) + sizeof(uintptr_t);
    uintptr_t slots[WALK_MAX];

    w->n = unwind_from_slot(entry_slot, w->frames, slots,
                            w->depth < WALK_MAX ? w->depth : WALK_MAX,
                            w->own_start, w->own_end);
    w->slots_hold_frames = true;
    for (int i = 0; i < w->n; i++)
        if (*(const uintptr_t *)slots[i] != w->frames[i])
            w->slots_hold_frames = false;
    if (w->with_truth)
        walk_truth(w, *(const uintptr_t *)entry_slot);
    return w->n;
}

/* A chain of calls spelled by a route: 'v' a function with a
 * variable-length array and 'a' one with alloca (GCC addresses both
 * frames from rbp), 'h' one that keeps so many values across its call
 * that rbp serves as a callee-saved register (CFA from rsp, rbp saved),
 * 'p' a plain one (CFA from rsp); walk_here at the end. None can be a
 * tail call: each uses its callee's result. */
static int hop_vla(struct walk *w, const char *route);
static int hop_alloca(struct walk *w, const char *route);
static int hop_hungry(struct walk *w, const char *route);
static int hop_plain(struct walk *w, const char *route);

static inline __attribute__((always_inline)) int hop_next(struct walk *w,
                                                          const char *route)
{
    switch (route[0]) {
    case 'v':
        return hop_vla(w, route + 1);
    case 'a':
        return hop_alloca(w, route + 1);
    case 'h':
        return hop_hungry(w, route + 1);
    case 'p':
        return hop_plain(w, route + 1);
    default:
        return walk_here(w);
    }
}

static CHAIN_LINK int hop_vla(struct walk *w, const char *route)
{
    size_t len = 16 + strlen(route) * 8;
    char scratch[len];
    int r;
    memset(scratch, route[0], len);
    __asm__ volatile("" : : "r"(scratch) : "memory");
    r = hop_next(w, route);
    return r + scratch[len - 1];
}

static CHAIN_LINK int hop_alloca(struct walk *w,
                                                const char *route)
{
    char *scratch = alloca(24 + strlen(route) * 8);
    int r;
    __asm__ volatile("" : : "r"(scratch) : "memory");
    r = hop_next(w, route);
    __asm__ volatile("" : : "r"(scratch) : "memory");
    return r + 2;
}

static volatile int hungry_inputs[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

static CHAIN_LINK int hop_hungry(struct walk *w,
                                                const char *route)
{
    int a = hungry_inputs[0], b = hungry_inputs[1], c = hungry_inputs[2];
    int d = hungry_inputs[3], e = hungry_inputs[4], f = hungry_inputs[5];
    int g = hungry_inputs[6], h = hungry_inputs[7];
    int r = hop_next(w, route);
    return r + a * b + c * d + e * f + g * h + (a ^ h) + (b ^ g);
}

static CHAIN_LINK int hop_plain(struct walk *w,
                                               const char *route)
{
    return hop_next(w, route) + 1;
}

static CHAIN_LINK int walk_route(struct walk *w,
                                                const char *route)
{
    return hop_next(w, route) + 3;
}

/* Walks `route` and checks the walk against libunwind's frames. */
static void check_walk_route(const char *route, struct walk *w)
{
    *w = (struct walk){ .depth = WALK_MAX, .with_truth = true };
    chain_sink = walk_route(w, route);
    ck_assert_msg(w->n > (int)strlen(route) + 1, "route \"%s\": %d frames",
                  route, w->n);
    ck_assert_msg(w->n < WALK_MAX, "route \"%s\": reached depth", route);
    ck_assert_msg(w->truth_n == w->n,
                  "route \"%s\": %d frames, libunwind %d", route, w->n,
                  w->truth_n);
    for (int i = 0; i < w->n; i++)
        ck_assert_msg(w->frames[i] == w->truth[i],
                      "route \"%s\", frame %d: %#lx, libunwind %#lx", route,
                      i, (unsigned long)w->frames[i],
                      (unsigned long)w->truth[i]);
    ck_assert_msg(w->slots_hold_frames, "route \"%s\": slots", route);
}

START_TEST(test_walk_matches_libunwind)
{
    static const char *const routes[] = {
        "", "p", "v", "a", "h", "vphavhp", "hhhh", "avpvah",
        "pvpvpvpvpvpvhahaha",
    };
    static struct walk w;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        check_walk_route(routes[i], &w);
}
END_TEST

START_TEST(test_walk_covers_rbp_based_frames)
{
    /* The chain's frames have the rules they are meant to exercise: the
     * caller of walk_here in "v" and "a" addresses its frame from rbp. */
    static struct walk w;
    check_walk_route("v", &w);
    ck_assert_rule(eh_frame_rule_for(w.frames[0] - 1), rule_rbp(16, -16),
                   "call site in hop_vla");
    check_walk_route("a", &w);
    ck_assert_rule(eh_frame_rule_for(w.frames[0] - 1), rule_rbp(16, -16),
                   "call site in hop_alloca");
}
END_TEST

START_TEST(test_walk_depth_and_own_frames)
{
    static const char route[] = "vhpa";
    /* One call site for every walk, so that all see the same frames; the
     * volatile index keeps GCC from splitting the loop in two. */
    static struct walk w[5];
    w[0] = (struct walk){ .depth = WALK_MAX, .with_truth = true };
    w[1] = (struct walk){ .depth = 3 };
    w[2] = (struct walk){ .depth = 1 };
    w[3] = (struct walk){ .depth = WALK_MAX };
    w[4] = (struct walk){ .depth = 3 };
    for (volatile int i = 0; i < 5; i++) {
        if (i >= 3) {
            /* The first frame's code as "ours": that frame goes. */
            w[i].own_start = w[0].frames[0];
            w[i].own_end = w[0].frames[0] + 1;
        }
        chain_sink = walk_route(&w[i], route);
    }
    ck_assert_int_eq(w[0].truth_n, w[0].n);
    ck_assert(memcmp(w[0].frames, w[0].truth,
                     (size_t)w[0].n * sizeof w[0].frames[0]) == 0);
    ck_assert_int_eq(w[1].n, 3);
    ck_assert(memcmp(w[1].frames, w[0].frames, 3 * sizeof w[0].frames[0]) ==
              0);
    ck_assert_int_eq(w[2].n, 1);
    ck_assert_uint_eq(w[2].frames[0], w[0].frames[0]);
    ck_assert_int_eq(w[3].n, w[0].n - 1);
    ck_assert(memcmp(w[3].frames, w[0].frames + 1,
                     (size_t)w[3].n * sizeof w[0].frames[0]) == 0);
    ck_assert_int_eq(w[4].n, 3);
    ck_assert(memcmp(w[4].frames, w[0].frames + 1,
                     3 * sizeof w[0].frames[0]) == 0);
    for (int i = 0; i < 5; i++)
        ck_assert_msg(w[i].slots_hold_frames, "walk %d slots", i);
}
END_TEST

/* Walks shapes laid out on this thread's own stack, where a walk may
 * trust a frame pointer; with bad_rbp, the rbp the first frame-pointer
 * frame uses is replaced by it. Returns the walk's result, or -2 when it
 * did not find exactly the frames laid out. */
static CHAIN_LINK int walk_synthetic_on_own_stack(const enum synth_shape *shapes,
                                                  size_t n, uintptr_t bad_rbp)
{
    struct synth_stack s;
    uintptr_t frames[64], slots[64];
    int got;

    synth_build_shapes(&s, shapes, n);
    if (bad_rbp)
        s.words[0] = bad_rbp == 1 ? s.entry_slot - 64 : bad_rbp;
    got = unwind_from_slot(s.entry_slot, frames, slots, 64, 0, 0);
    if (got >= 0 && !synth_walk_matches(&s, 0, got, frames, slots))
        return -2;
    return got;
}

START_TEST(test_walk_frame_pointers_without_unwind_info)
{
    /* JIT code and assembly without CFI: followed by the frame-pointer
     * chain, as libunwind does, where rbp points into this thread's
     * stack as complete walks have shown it. */
    static const enum synth_shape shapes[] = {
        SHAPE_NO_OBJECT, SHAPE_SLED, SHAPE_NO_FDE, SHAPE_SAVES_RBP,
        SHAPE_NO_OBJECT, SHAPE_FP, SHAPE_SLED, SHAPE_OUTERMOST,
    };
    const size_t n = sizeof shapes / sizeof shapes[0];
    static struct walk w;
    uintptr_t far_above = (uintptr_t)__builtin_frame_address(0) +
                          ((uintptr_t)1 << 30);

    check_walk_route("p", &w);   /* a complete walk: the stack's extent */
    ck_assert_int_eq(walk_synthetic_on_own_stack(shapes, n, 0), (int)n);
    /* rbp below the frame, or beyond the stack: not a frame pointer. */
    ck_assert_int_eq(walk_synthetic_on_own_stack(shapes, n, 1), -1);
    ck_assert_int_eq(walk_synthetic_on_own_stack(shapes, n, far_above), -1);
    ck_assert_int_eq(walk_synthetic_on_own_stack(shapes, n, 0), (int)n);
}
END_TEST

START_TEST(test_rule_cache_forget)
{
    static struct walk w[2];
    /* One call site for both walks, so that they see the same frames; the
     * volatile counter keeps GCC from peeling the loop. */
    for (volatile int round = 0; round < 2; round++) {
        if (round == 1) {
            unwind_forget_rules();
            ck_assert_uint_eq(unwind_cached_rules(), 0);
        }
        check_walk_route("vhap", &w[round]);
        ck_assert_uint_gt(unwind_cached_rules(), 0);
    }
    ck_assert_int_eq(w[1].n, w[0].n);
    ck_assert(memcmp(w[1].frames, w[0].frames,
                     (size_t)w[0].n * sizeof w[0].frames[0]) == 0);
}
END_TEST

/* ---------------------------------------------------------------------
 * Threads
 * ------------------------------------------------------------------- */

#define THREAD_WALKS 10000
#define THREAD_SLED_FRAMES 300
#define THREAD_SHORT_FRAMES 40

struct unwind_worker {
    const char *route;
    size_t sled_first;         /* its synthetic stack's sled addresses */
    bool forgets;              /* empties the rule table now and then */
    struct synth_stack *synth, *short_synth;
    int truth_n, route_n;      /* the first walk, and libunwind's */
    unsigned route_mismatches, synth_mismatches;
};

static void *unwind_worker_run(void *arg)
{
    struct unwind_worker *job = arg;
    uintptr_t frames[THREAD_SLED_FRAMES], slots[THREAD_SLED_FRAMES];
    uintptr_t expected[WALK_MAX];
    struct walk *w = calloc(1, sizeof *w);

    if (!w)
        return NULL;
    synth_build_sled(job->synth, job->sled_first, THREAD_SLED_FRAMES);
    {
        /* Short and complete: a walk a later one may join. */
        enum synth_shape shapes[THREAD_SHORT_FRAMES];
        uintptr_t pcs[THREAD_SHORT_FRAMES];
        for (size_t i = 0; i < THREAD_SHORT_FRAMES; i++) {
            shapes[i] = i + 1 < THREAD_SHORT_FRAMES ? SHAPE_SLED
                                                    : SHAPE_OUTERMOST;
            pcs[i] = shape_pc(shapes[i], job->sled_first + 2 * i + 1);
        }
        synth_build(job->short_synth, shapes, pcs, THREAD_SHORT_FRAMES);
    }
    /* Walk -1 is compared with libgcc's unwinder; the other chain walks
     * with walk -1. One call site for all, so that they see the same
     * return addresses. Chain walks come in pairs, so that the second
     * may join the first. */
    for (int k = -1; k < THREAD_WALKS; k++) {
        if (job->forgets && k % 500 == 0)
            unwind_forget_rules();
        if (k % 4 == 0 || k % 4 == 3) {
            struct synth_stack *synth = k % 4 == 0 ? job->synth
                                                   : job->short_synth;
            int got = unwind_from_slot(synth->entry_slot, frames, slots,
                                       THREAD_SLED_FRAMES, 0, 0);
            if (!synth_walk_matches(synth, 0, got, frames, slots))
                job->synth_mismatches++;
            continue;
        }
        *w = (struct walk){ .depth = WALK_MAX, .with_truth = k < 0,
                            .truth_by_libgcc = true };
        chain_sink = walk_route(w, job->route);
        if (k < 0) {
            job->route_n = w->n;
            job->truth_n = w->truth_n;
            if (w->n > 0)
                memcpy(expected, w->frames, (size_t)w->n * sizeof *expected);
            if (w->n != w->truth_n ||
                (w->n > 0 && memcmp(expected, w->truth,
                                    (size_t)w->n * sizeof *expected) != 0))
                job->route_mismatches++;
        } else if (w->n != job->route_n || !w->slots_hold_frames ||
                   memcmp(w->frames, expected,
                          (size_t)job->route_n * sizeof *expected) != 0) {
            job->route_mismatches++;
        }
    }
    free(w);
    return job;
}

START_TEST(test_walk_threads)
{
    /* Two threads on the same chain and the same sled addresses, two on
     * others; sled windows overlap in part, and all together hold more
     * return addresses than the rule table starts with. */
    struct unwind_worker jobs[4] = {
        { .route = "vphavh", .sled_first = 0, .forgets = true },
        { .route = "vphavh", .sled_first = 0 },
        { .route = "hpvpa", .sled_first = 150 },
        { .route = "apvhpvhh", .sled_first = 1000 },
    };
    pthread_t threads[4];

    libgcc_load();
    for (int i = 0; i < 4; i++) {
        jobs[i].synth = synth_new();
        jobs[i].short_synth = synth_new();
        ck_assert_int_eq(pthread_create(&threads[i], NULL, unwind_worker_run,
                                        &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        void *result;
        ck_assert_int_eq(pthread_join(threads[i], &result), 0);
        ck_assert_ptr_eq(result, &jobs[i]);
    }
    for (int i = 0; i < 4; i++) {
        ck_assert_msg(jobs[i].route_n > 0 && jobs[i].truth_n == jobs[i].route_n,
                      "thread %d: %d frames, libgcc %d", i, jobs[i].route_n,
                      jobs[i].truth_n);
        ck_assert_msg(jobs[i].route_mismatches == 0,
                      "thread %d: %u chain walks differ", i,
                      jobs[i].route_mismatches);
        ck_assert_msg(jobs[i].synth_mismatches == 0,
                      "thread %d: %u synthetic walks differ", i,
                      jobs[i].synth_mismatches);
        free(jobs[i].synth);
        free(jobs[i].short_synth);
    }
}
END_TEST

Suite *unwind_suite(void)
{
    Suite *s = suite_create("unwind");
    TCase *cfi = tcase_create("cfi");
    TCase *tables = tcase_create("eh_frame");
    TCase *walk = tcase_create("walk");
    TCase *threads = tcase_create("threads");

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

    tcase_add_test(tables, test_eh_frame_find_forged_table);
    tcase_add_test(tables, test_eh_frame_find_rejects_bad_headers);
    tcase_add_test(tables, test_eh_frame_find_signal_frame_cie);
    tcase_add_test(tables, test_rule_for_own_code);
    tcase_add_test(tables, test_rule_for_code_without_unwind_info);
    suite_add_tcase(s, tables);

    tcase_add_test(walk, test_walk_synthetic_shapes);
    tcase_add_test(walk, test_walk_synthetic_skips_own_frames);
    tcase_add_test(walk, test_walk_gives_up_where_libunwind_must_do_it);
    tcase_add_test(walk, test_walk_refuses_implausible_frame_pointer);
    tcase_add_test(walk, test_rule_cache_many_return_addresses);
    tcase_add_test(walk, test_walk_after_stack_changes);
    tcase_add_test(walk, test_walk_matches_libunwind);
    tcase_add_test(walk, test_walk_covers_rbp_based_frames);
    tcase_add_test(walk, test_walk_depth_and_own_frames);
    tcase_add_test(walk, test_rule_cache_forget);
    tcase_add_test(walk, test_walk_frame_pointers_without_unwind_info);
    suite_add_tcase(s, walk);

    /* Under TSan, 40000 walks take a few seconds. */
    tcase_set_timeout(threads, 60);
    tcase_add_test(threads, test_walk_threads);
    suite_add_tcase(s, threads);
    return s;
}

#else /* not x86-64: libunwind does every stack */

START_TEST(test_walk_defers_to_libunwind)
{
    uintptr_t frames[4], slots[4];
    uintptr_t slot = (uintptr_t)__builtin_frame_address(0) + sizeof(uintptr_t);
    ck_assert_int_eq(unwind_from_slot(slot, frames, slots, 4, 0, 0), -1);
    ck_assert_uint_eq(unwind_cached_rules(), 0);
}
END_TEST

Suite *unwind_suite(void)
{
    Suite *s = suite_create("unwind");
    TCase *tc = tcase_create("unwind");
    tcase_add_test(tc, test_walk_defers_to_libunwind);
    suite_add_tcase(s, tc);
    return s;
}

#endif
