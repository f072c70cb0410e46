/* test_eh_frame.c - finding the unwind rule for a pc: .eh_frame_hdr
 * lookups (eh_frame_find, eh_frame_lookup) in forged tables, good and
 * bad, and eh_frame_rule_for on code of this binary whose CFI is known
 * exactly (the assembly functions of unwind_fixtures.c) and on code with
 * no unwind information at all. */
#include "suites.h"
#include "eh_frame.h"
#include "unwind_fixtures.h"

#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__x86_64__)

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

/* The functions written in assembly are in unwind_fixtures.c. */

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

Suite *eh_frame_suite(void)
{
    Suite *s = suite_create("eh_frame");
    TCase *tables = tcase_create("eh_frame");

    tcase_add_test(tables, test_eh_frame_find_forged_table);
    tcase_add_test(tables, test_eh_frame_find_rejects_bad_headers);
    tcase_add_test(tables, test_eh_frame_find_signal_frame_cie);
    tcase_add_test(tables, test_rule_for_own_code);
    tcase_add_test(tables, test_rule_for_code_without_unwind_info);
    suite_add_tcase(s, tables);
    return s;
}

#else /* not x86-64: the tracer's own walk is x86-64 only */

Suite *eh_frame_suite(void)
{
    return suite_create("eh_frame");
}

#endif
