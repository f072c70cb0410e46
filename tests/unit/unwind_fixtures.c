/* unwind_fixtures.c - fixtures for the unwinder's tests (see
 * unwind_fixtures.h): the standard CIE and the rules to compare with,
 * byte buffers and guarded pages, the assembly functions whose CFI the
 * tests know, and the synthetic stacks laid out as their frames. */
#include "unwind_fixtures.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__x86_64__)

/* ---------------------------------------------------------------------
 * Hand-written CFI programs and the rules they give
 * ------------------------------------------------------------------- */

const uint8_t cie_standard[] = {
    0x0c, 0x07, 0x08,   /* DW_CFA_def_cfa: rsp + 8 */
    0x90, 0x01,         /* DW_CFA_offset: r16 at CFA - 8 */
};

struct cfi_program program_of(const uint8_t *cie, size_t cie_len,
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

struct frame_rule rule_rsp(int32_t cfa_offset)
{
    return (struct frame_rule){ .kind = FRAME_RULE_STEP,
                                .cfa_base = FRAME_BASE_RSP,
                                .cfa_offset = cfa_offset };
}

struct frame_rule rule_rsp_saving_rbp(int32_t cfa_offset, int32_t rbp_offset)
{
    struct frame_rule rule = rule_rsp(cfa_offset);
    rule.rbp_saved = true;
    rule.rbp_offset = rbp_offset;
    return rule;
}

struct frame_rule rule_rbp(int32_t cfa_offset, int32_t rbp_offset)
{
    struct frame_rule rule = rule_rsp_saving_rbp(cfa_offset, rbp_offset);
    rule.cfa_base = FRAME_BASE_RBP;
    return rule;
}

const struct frame_rule rule_unknown = { .kind = FRAME_RULE_UNKNOWN };
const struct frame_rule rule_outermost = {
    .kind = FRAME_RULE_OUTERMOST,
};
const struct frame_rule rule_no_info = { .kind = FRAME_RULE_NO_INFO };

bool rule_equal(struct frame_rule a, struct frame_rule b)
{
    if (a.kind != b.kind)
        return false;
    if (a.kind != FRAME_RULE_STEP)
        return true;
    return a.cfa_base == b.cfa_base && a.cfa_offset == b.cfa_offset &&
           a.rbp_saved == b.rbp_saved &&
           (!a.rbp_saved || a.rbp_offset == b.rbp_offset);
}

const char *rule_text(struct frame_rule rule, char *buf, size_t size)
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

/* ---------------------------------------------------------------------
 * Byte buffers and guarded pages
 * ------------------------------------------------------------------- */

void put_u8(struct byte_buf *b, uint8_t v)
{
    ck_assert_uint_lt(b->len, sizeof b->data);
    b->data[b->len++] = v;
}

void put_uleb(struct byte_buf *b, uint64_t v)
{
    do {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        put_u8(b, byte | (v ? 0x80 : 0));
    } while (v);
}

void put_u32(struct byte_buf *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        put_u8(b, (uint8_t)(v >> (8 * i)));
}

void patch_u32(struct byte_buf *b, size_t at, uint32_t v)
{
    memcpy(b->data + at, &v, sizeof v);
}

struct guarded_page guarded_page_new(void)
{
    struct guarded_page g = { .size = (size_t)sysconf(_SC_PAGESIZE) };
    g.base = mmap(NULL, 2 * g.size, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(g.base, MAP_FAILED);
    ck_assert_int_eq(mprotect(g.base + g.size, g.size, PROT_NONE), 0);
    return g;
}

/* A copy of bytes that ends exactly where the readable page does. */
const uint8_t *guarded_copy(struct guarded_page g, const uint8_t *bytes,
                            size_t len)
{
    uint8_t *copy = g.base + g.size - len;
    ck_assert_uint_le(len, g.size);
    memcpy(copy, bytes, len);
    return copy;
}

void guarded_page_free(struct guarded_page g)
{
    munmap(g.base, 2 * g.size);
}

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

/* ---------------------------------------------------------------------
 * Synthetic stacks
 * ------------------------------------------------------------------- */

/* A return address into code of that shape; `index` picks one of many
 * distinct addresses in the sled. */
uintptr_t shape_pc(enum synth_shape shape, size_t index)
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
void synth_build(struct synth_stack *s, const enum synth_shape *shapes,
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

void synth_build_shapes(struct synth_stack *s,
                        const enum synth_shape *shapes, size_t n)
{
    uintptr_t pcs[SYNTH_MAX_FRAMES];
    for (size_t i = 0; i < n; i++)
        pcs[i] = shape_pc(shapes[i], i * 7);
    synth_build(s, shapes, pcs, n);
}

/* A stack of n frameless frames at distinct sled addresses from `first`. */
void synth_build_sled(struct synth_stack *s, size_t first, size_t n)
{
    static const enum synth_shape sled[SYNTH_MAX_FRAMES];   /* SHAPE_SLED */
    uintptr_t pcs[SYNTH_MAX_FRAMES];
    for (size_t i = 0; i < n; i++)
        pcs[i] = shape_pc(SHAPE_SLED, first + i);
    synth_build(s, sled, pcs, n);
}

/* Whether a walk found exactly the frames and slots laid out, from
 * `skip` frames in. */
bool synth_walk_matches(const struct synth_stack *s, size_t skip, int n,
                        const uintptr_t *frames, const uintptr_t *slots)
{
    return n >= 0 && (size_t)n == s->n - skip &&
           memcmp(frames, s->frames + skip, (size_t)n * sizeof *frames) == 0 &&
           memcmp(slots, s->slots + skip, (size_t)n * sizeof *slots) == 0;
}

struct synth_stack *synth_new(void)
{
    struct synth_stack *s = calloc(1, sizeof *s);
    ck_assert_ptr_nonnull(s);
    return s;
}

#endif /* __x86_64__ */
