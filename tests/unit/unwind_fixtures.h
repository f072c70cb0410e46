/* unwind_fixtures.h - fixtures shared by the tests of the tracer's own
 * x86-64 unwinder (test_cfi.c, test_eh_frame.c, test_unwind_synthetic.c,
 * test_unwind.c): CFI programs built around GCC's standard CIE, the rules
 * they should give and how a failure prints them, byte buffers to build
 * programs and tables in, pages that fault just past their end, functions
 * written in assembly whose CFI is known exactly, and synthetic stacks
 * laid out as those functions' frames would leave them. */
#ifndef MTRACE_TEST_UNWIND_FIXTURES_H
#define MTRACE_TEST_UNWIND_FIXTURES_H

#if defined(__x86_64__)

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eh_frame.h"

/* ---------------------------------------------------------------------
 * Hand-written CFI programs and the rules they give
 * ------------------------------------------------------------------- */

/* Where the hand-written programs' code would start; never executed. */
#define PC0 ((uintptr_t)0x7f0000001000)

/* What GCC's CIE says for every x86-64 function: at entry the CFA is
 * rsp + 8 and the return address (r16) is at CFA - 8. Sized here so that
 * the tests can take sizeof it. */
extern const uint8_t cie_standard[5];

/* The program of a CIE and an FDE, as eh_frame_find would give it for a
 * function at PC0 with GCC's parameters. */
struct cfi_program program_of(const uint8_t *cie, size_t cie_len,
                              const uint8_t *fde, size_t fde_len);

/* The standard CIE followed by an FDE program in a static array. */
#define STANDARD_PROGRAM(fde) \
    program_of(cie_standard, sizeof cie_standard, (fde), sizeof(fde))

/* CFA = rsp + cfa_offset, rbp kept in its register. */
struct frame_rule rule_rsp(int32_t cfa_offset);
/* CFA = rsp + cfa_offset, rbp saved at CFA + rbp_offset. */
struct frame_rule rule_rsp_saving_rbp(int32_t cfa_offset, int32_t rbp_offset);
/* CFA = rbp + cfa_offset, rbp saved at CFA + rbp_offset. */
struct frame_rule rule_rbp(int32_t cfa_offset, int32_t rbp_offset);

extern const struct frame_rule rule_unknown;
extern const struct frame_rule rule_outermost;
extern const struct frame_rule rule_no_info;

/* Equal as far as the walk can tell: fields a rule's kind leaves unused
 * do not count. */
bool rule_equal(struct frame_rule a, struct frame_rule b);
/* The rule in words, into buf, for failure messages. */
const char *rule_text(struct frame_rule rule, char *buf, size_t size);

#define ck_assert_rule(actual, expected, where) do {                        \
        struct frame_rule got_ = (actual), want_ = (expected);             \
        char got_text_[64], want_text_[64];                                \
        ck_assert_msg(rule_equal(got_, want_), "%s: got %s, want %s",      \
                      (where), rule_text(got_, got_text_, 64),             \
                      rule_text(want_, want_text_, 64));                   \
    } while (0)

/* ---------------------------------------------------------------------
 * Byte buffers and guarded pages
 * ------------------------------------------------------------------- */

/* Programs built at run time (and the forged .eh_frame tables). */
struct byte_buf {
    uint8_t data[8192];
    size_t len;
};

void put_u8(struct byte_buf *b, uint8_t v);
void put_uleb(struct byte_buf *b, uint64_t v);
void put_u32(struct byte_buf *b, uint32_t v);   /* little-endian */
void patch_u32(struct byte_buf *b, size_t at, uint32_t v);

/* A page whose end is followed by an inaccessible page, so that a read
 * past the end of bytes copied to its end faults, with or without ASan. */
struct guarded_page {
    uint8_t *base;
    size_t size;
};

struct guarded_page guarded_page_new(void);
/* A copy of bytes that ends exactly where the readable page does. */
const uint8_t *guarded_copy(struct guarded_page g, const uint8_t *bytes,
                            size_t len);
void guarded_page_free(struct guarded_page g);

/* ---------------------------------------------------------------------
 * Code with known unwind information, in this binary
 * ------------------------------------------------------------------- */

/* Functions written in assembly (in unwind_fixtures.c), so that their CFI
 * is the same whatever the compiler and its flags. Each has a body of
 * nops at a label "<name>_body" where its rule holds:
 *   sled        frameless: CFA = rsp + 8 at every one of SLED_BYTES bytes;
 *   fp          a frame-pointer frame: CFA = rbp + 16, rbp at CFA - 16;
 *   saves_rbp   rbp as an ordinary callee-saved register: CFA = rsp + 48,
 *               rbp at CFA - 16;
 *   signal      a signal trampoline's CIE ("zRS");
 *   expr        the CFA as a DWARF expression, as for realigned stacks;
 *   outermost   the return address undefined, like _start's;
 *   nocfi       no FDE at all, in an object that has .eh_frame. */
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
uintptr_t shape_pc(enum synth_shape shape, size_t index);

/* Lays out frames of the given shapes returning to pcs[0..n), innermost
 * first; a zero return address ends the stack. */
void synth_build(struct synth_stack *s, const enum synth_shape *shapes,
                 const uintptr_t *pcs, size_t n);

/* synth_build with each frame's pc from shape_pc. */
void synth_build_shapes(struct synth_stack *s,
                        const enum synth_shape *shapes, size_t n);

/* A stack of n frameless frames at distinct sled addresses from `first`. */
void synth_build_sled(struct synth_stack *s, size_t first, size_t n);

/* Whether a walk found exactly the frames and slots laid out, from
 * `skip` frames in. */
bool synth_walk_matches(const struct synth_stack *s, size_t skip, int n,
                        const uintptr_t *frames, const uintptr_t *slots);

/* A zeroed synth_stack on the heap (too big for most stacks); free() it. */
struct synth_stack *synth_new(void);

#endif /* __x86_64__ */

#endif
