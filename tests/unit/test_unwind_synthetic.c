/* test_unwind_synthetic.c - walks of the tracer's own x86-64 unwinder
 * (unwind_from_slot) over synthetic stacks: memory laid out as the frames
 * of the assembly functions in unwind_fixtures.c would leave it, so that
 * the walk's every frame and slot is known in advance. Frame shapes
 * mixed, our own frames skipped, frames only libunwind can read, frame
 * pointers that cannot be, and the same stack memory walked again as the
 * frames in it change. */
#include "suites.h"
#include "unwind.h"
#include "unwind_fixtures.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)

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

/* Rewrites frame i's return address where the walk reads it. */
static void synth_set_frame(struct synth_stack *s, size_t i, uintptr_t pc)
{
    *(uintptr_t *)s->slots[i] = pc;
    s->frames[i] = pc;
}

/* Gives frame i another shape and lays the stack out again. */
static void rebuild_with_shape(struct synth_stack *s, enum synth_shape *shapes,
                               uintptr_t *pcs, size_t n, size_t i,
                               enum synth_shape shape)
{
    shapes[i] = shape;
    pcs[i] = shape_pc(shape, 0);
    synth_build(s, shapes, pcs, n);
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
    rebuild_with_shape(s, shapes, pcs, N, 8, SHAPE_SAVES_RBP);
    got = unwind_from_slot(s->entry_slot, frames, slots, 64, 0, 0);
    ck_assert(synth_walk_matches(s, 0, got, frames, slots));
    rebuild_with_shape(s, shapes, pcs, N, 8, SHAPE_FP);
    got = unwind_from_slot(s->entry_slot, frames, slots, 64, 0, 0);
    ck_assert(synth_walk_matches(s, 0, got, frames, slots));
    /* Again, every rule now cached. */
    got = unwind_from_slot(s->entry_slot, frames, slots, 64, 0, 0);
    ck_assert(synth_walk_matches(s, 0, got, frames, slots));
    /* A second frame-pointer frame further in: rbp now comes from its
     * save slot, and the outer frame's CFA with it. */
    rebuild_with_shape(s, shapes, pcs, N, 4, SHAPE_FP);
    got = unwind_from_slot(s->entry_slot, frames, slots, 64, 0, 0);
    ck_assert(synth_walk_matches(s, 0, got, frames, slots));
    free(s);
}
END_TEST

Suite *unwind_synthetic_suite(void)
{
    Suite *s = suite_create("unwind_synthetic");
    TCase *walk = tcase_create("walk");

    tcase_add_test(walk, test_walk_synthetic_shapes);
    tcase_add_test(walk, test_walk_synthetic_skips_own_frames);
    tcase_add_test(walk, test_walk_gives_up_where_libunwind_must_do_it);
    tcase_add_test(walk, test_walk_refuses_implausible_frame_pointer);
    tcase_add_test(walk, test_walk_after_stack_changes);
    suite_add_tcase(s, walk);
    return s;
}

#else /* not x86-64: the tracer's own walk is x86-64 only */

Suite *unwind_synthetic_suite(void)
{
    return suite_create("unwind_synthetic");
}

#endif
