/* test_chain_memo.c - chain layouts taken from a walk's report and proved
 * against a stack, and the chain memo: off until enough walks, then found
 * by proof only, forgotten when code is unloaded, eight chains a key,
 * and readers racing a writer (run under TSan too). The stacks here are
 * arrays laid out as a walk would have reported them. */
#include "suites.h"
#include "chain_memo.h"
#include "frame_rules.h"
#include "sites.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define W sizeof(uintptr_t)

/* Writes frames[0..n) (when given) at word offsets at[] of `stack`, and
 * what a walk that found them there reports: their slots, and no loads
 * but the slots'. */
static void walk_report(uintptr_t *stack, const unsigned *at,
                        const uintptr_t *frames, unsigned n,
                        uintptr_t *slots, struct unwind_reads *reads)
{
    for (unsigned i = 0; i < n; i++) {
        slots[i] = (uintptr_t)&stack[at[i]];
        if (frames)
            stack[at[i]] = frames[i];
    }
    memset(reads, 0, sizeof *reads);
}

static struct site *site_of(const uintptr_t *frames, size_t n)
{
    struct stack_key key;
    bool created;
    memcpy(key.frames, frames, n * sizeof *frames);
    return sites_intern(&key, n, MT_KIND_HEAP, &created);
}

START_TEST(test_layout_from_plain_walk)
{
    uintptr_t stack[64] = { 0 }, slots[3];
    const unsigned at[] = { 0, 3, 9 };
    struct unwind_reads reads;
    struct chain_layout l;
    const uintptr_t frames[] = { 0x401000, 0x402000, 0x403000 };

    walk_report(stack, at, frames, 3, slots, &reads);
    ck_assert(chain_layout_from_walk(&l, slots[0], slots, 3, &reads));
    ck_assert_uint_eq(l.nframes, 3);
    ck_assert_uint_eq(l.nreads, 0);
    ck_assert_uint_eq(l.fp_chain, 0);
    ck_assert_uint_eq(l.at[1], 3);
    ck_assert_uint_eq(l.at[2], 9);
    ck_assert(chain_layout_rest_matches(&l, slots[0], frames, 1));
    stack[9] = 0x403001;                  /* another caller at frame 2 */
    ck_assert(!chain_layout_rest_matches(&l, slots[0], frames, 1));
    stack[9] = frames[2];
    /* The same chain deeper in the stack: offsets are relative. */
    memmove(&stack[20], &stack[0], 10 * W);
    ck_assert(
        chain_layout_rest_matches(&l, (uintptr_t)&stack[20], frames, 1));
}
END_TEST

START_TEST(test_layout_frame_pointer_and_other_loads)
{
    uintptr_t stack[64] = { 0 }, slots[3];
    const unsigned at[] = { 1, 4, 12 };
    struct unwind_reads reads;
    struct chain_layout l;
    const uintptr_t frames[] = { 0x401000, 0x402000, 0x403000 };

    walk_report(stack, at, frames, 3, slots, &reads);
    /* Frame 0 found its caller through rbp saved below its slot... */
    stack[0] = slots[1] - W;
    reads.addr[0] = slots[0] - W;
    reads.value[0] = stack[0];
    /* ...and frame 1 through an rbp loaded from elsewhere. */
    stack[6] = 0xdead0;
    reads.addr[1] = (uintptr_t)&stack[6];
    reads.value[1] = stack[6];
    reads.n = 2;
    ck_assert(chain_layout_from_walk(&l, slots[0], slots, 3, &reads));
    ck_assert_uint_eq(l.fp_chain, 1);
    ck_assert_uint_eq(l.nreads, 1);
    ck_assert_int_eq(l.read_at[0], 5);
    ck_assert(chain_layout_rest_matches(&l, slots[0], frames, 1));
    stack[0] += W;                        /* the frame pointer moved */
    ck_assert(!chain_layout_rest_matches(&l, slots[0], frames, 1));
    stack[0] -= W;
    stack[6] = 0xdead8;                   /* the other load changed */
    ck_assert(!chain_layout_rest_matches(&l, slots[0], frames, 1));
}
END_TEST

/* The stack cache proves frame 1 and the frame pointer that placed it
 * before asking for the rest, from frame 2: what it proved is not read
 * again; what lies above still is. */
START_TEST(test_layout_proof_from_frame_two)
{
    uintptr_t stack[64] = { 0 }, slots[4];
    const unsigned at[] = { 1, 4, 8, 12 };
    struct unwind_reads reads;
    struct chain_layout l;
    const uintptr_t frames[] = { 0x401000, 0x402000, 0x403000, 0x404000 };

    walk_report(stack, at, frames, 4, slots, &reads);
    /* Every frame found its caller through the rbp saved below its slot. */
    for (unsigned i = 0; i < 3; i++) {
        stack[at[i] - 1] = slots[i + 1] - W;
        reads.addr[i] = slots[i] - W;
        reads.value[i] = stack[at[i] - 1];
    }
    reads.n = 3;
    ck_assert(chain_layout_from_walk(&l, slots[0], slots, 4, &reads));
    ck_assert_uint_eq(l.fp_chain, 7);
    ck_assert_uint_eq(l.nreads, 0);
    ck_assert(chain_layout_rest_matches(&l, slots[0], frames, 1));
    ck_assert(chain_layout_rest_matches(&l, slots[0], frames, 2));
    stack[at[1]] = 0x402001;              /* frame 1: the caller's to prove */
    ck_assert(!chain_layout_rest_matches(&l, slots[0], frames, 1));
    ck_assert(chain_layout_rest_matches(&l, slots[0], frames, 2));
    stack[at[1]] = frames[1];
    stack[at[1] - 1] += W;                /* frame 1's saved rbp moved */
    ck_assert(!chain_layout_rest_matches(&l, slots[0], frames, 2));
    stack[at[1] - 1] -= W;
    stack[at[3]] = 0x404001;              /* another caller at frame 3 */
    ck_assert(!chain_layout_rest_matches(&l, slots[0], frames, 2));
    stack[at[3]] = frames[3];
    ck_assert(chain_layout_rest_matches(&l, slots[0], frames, 2));
}
END_TEST

/* Some frames found their callers through rbp, the others through their
 * unwind rules: the run of frame-pointer frames that the proof takes
 * without testing fp_chain frame by frame starts at frame 1 or 2 or not
 * at all, and stops part way up; either way exactly the saved rbps the
 * walk read are checked, from frame 1 and from frame 2. */
static void check_frame_pointer_runs(const unsigned *by_rbp, unsigned nrbp,
                                     uint32_t fp_chain)
{
    uintptr_t stack[64] = { 0 }, slots[6];
    const unsigned at[] = { 1, 4, 8, 12, 16, 20 };
    struct unwind_reads reads;
    struct chain_layout l;
    const uintptr_t frames[] = { 0x401000, 0x402000, 0x403000, 0x404000,
                                 0x405000, 0x406000 };

    walk_report(stack, at, frames, 6, slots, &reads);
    for (unsigned r = 0; r < nrbp; r++) {
        unsigned i = by_rbp[r];
        stack[at[i] - 1] = slots[i + 1] - W;
        reads.addr[r] = slots[i] - W;
        reads.value[r] = stack[at[i] - 1];
    }
    reads.n = nrbp;
    ck_assert(chain_layout_from_walk(&l, slots[0], slots, 6, &reads));
    ck_assert_uint_eq(l.fp_chain, fp_chain);
    /* What the other frames left below their slots is no part of it. */
    for (unsigned i = 0; i < 5; i++)
        if (!(fp_chain >> i & 1))
            stack[at[i] - 1] = 0x5eed;
    for (unsigned from = 1; from <= 2; from++) {
        ck_assert(chain_layout_rest_matches(&l, slots[0], frames, from));
        for (unsigned r = 0; r < nrbp; r++) {
            unsigned i = by_rbp[r];
            stack[at[i] - 1] += W;        /* a saved rbp moved */
            /* Frame 0's is proved by the caller when from is 2. */
            ck_assert(chain_layout_rest_matches(&l, slots[0], frames,
                                                from) == (i < from - 1));
            stack[at[i] - 1] -= W;
        }
        for (unsigned i = from; i < 6; i++) {
            stack[at[i]]++;               /* another caller at frame i */
            ck_assert(!chain_layout_rest_matches(&l, slots[0], frames,
                                                 from));
            stack[at[i]]--;
        }
        ck_assert(chain_layout_rest_matches(&l, slots[0], frames, from));
    }
}

START_TEST(test_layout_frame_pointer_runs)
{
    /* From frame 1 no run (frame 0 used its rules), from 2 frames 2-3. */
    check_frame_pointer_runs((const unsigned[]){ 1, 2, 4 }, 3, 0x16);
    /* From frame 1 frames 1-2, from 2 frame 2; frame 4's rbp after. */
    check_frame_pointer_runs((const unsigned[]){ 0, 1, 3 }, 3, 0x0b);
    /* All of them: the run reaches the top. */
    check_frame_pointer_runs((const unsigned[]){ 0, 1, 2, 3, 4 }, 5, 0x1f);
}
END_TEST

START_TEST(test_layout_refuses_what_it_cannot_keep)
{
    uintptr_t stack[64] = { 0 }, slots[LAYOUT_DEPTH + 1];
    unsigned at[LAYOUT_DEPTH + 1];
    struct unwind_reads reads;
    struct chain_layout l;

    for (unsigned i = 0; i <= LAYOUT_DEPTH; i++)
        at[i] = i;
    walk_report(stack, at, NULL, LAYOUT_DEPTH + 1, slots, &reads);
    ck_assert(!chain_layout_from_walk(&l, slots[0], slots, 0, &reads));
    ck_assert(!chain_layout_from_walk(&l, slots[0], slots, LAYOUT_DEPTH + 1,
                                      &reads));
    ck_assert(chain_layout_from_walk(&l, slots[0], slots, LAYOUT_DEPTH,
                                     &reads));
    /* Not started at the entry slot. */
    ck_assert(!chain_layout_from_walk(&l, slots[0] + W, slots, 3, &reads));
    /* A slot between words, or beyond 16 bits of words. */
    slots[2] = slots[1] + 3;
    ck_assert(!chain_layout_from_walk(&l, slots[0], slots, 3, &reads));
    slots[2] = slots[0] + (UINT16_MAX + 1) * W;
    ck_assert(!chain_layout_from_walk(&l, slots[0], slots, 3, &reads));
    slots[2] = slots[0] + 2 * W;
    /* A walk that stopped on a zero return address. */
    reads.ends_on_zero = true;
    ck_assert(!chain_layout_from_walk(&l, slots[0], slots, 3, &reads));
    reads.ends_on_zero = false;
    /* More other loads than a layout keeps. */
    for (unsigned r = 0; r <= LAYOUT_OTHER_READS; r++) {
        reads.addr[r] = (uintptr_t)&stack[40 + r];
        reads.value[r] = r;
    }
    reads.n = LAYOUT_OTHER_READS + 1;
    ck_assert(!chain_layout_from_walk(&l, slots[0], slots, 3, &reads));
    reads.n = LAYOUT_OTHER_READS;
    ck_assert(chain_layout_from_walk(&l, slots[0], slots, 3, &reads));
}
END_TEST

/* Walks enough chains for the memo to map its table. */
static void activate_memo(void)
{
    uintptr_t stack[8] = { 0 }, slots[2];
    const unsigned at[] = { 0, 2 };
    const uintptr_t frames[] = { 0x7100, 0x7200 };
    struct unwind_reads reads;
    struct chain_layout l;
    struct site *site = site_of(frames, 2);

    walk_report(stack, at, NULL, 2, slots, &reads);
    ck_assert(chain_layout_from_walk(&l, slots[0], slots, 2, &reads));
    for (unsigned i = 0; i < MEMO_AFTER_WALKS && !chain_memo_active(); i++)
        chain_memo_add(slots[0], site, &l);
    ck_assert(chain_memo_active());
}

/* A chain of three frames at word offsets 0, 3, 9 of `stack`, its frames
 * written there; returns its site, learned by the memo. */
static struct site *memo_chain(uintptr_t *stack, const uintptr_t *frames,
                               struct chain_layout *l)
{
    uintptr_t slots[3];
    const unsigned at[] = { 0, 3, 9 };
    struct unwind_reads reads;
    struct site *site = site_of(frames, 3);

    walk_report(stack, at, frames, 3, slots, &reads);
    ck_assert(chain_layout_from_walk(l, slots[0], slots, 3, &reads));
    chain_memo_add(slots[0], site, l);
    return site;
}

static struct site *memo_find(uintptr_t *stack)
{
    const struct chain_layout *l = NULL;
    struct site *site = chain_memo_find((uintptr_t)stack, stack[0], stack[3],
                                        &l);
    if (site)
        ck_assert_uint_eq(l->nframes, site->nframes);
    return site;
}

START_TEST(test_memo_off_until_enough_walks)
{
    uintptr_t stack[16] = { 0 };
    const uintptr_t frames[] = { 0x8100, 0x8200, 0x8300 };
    struct chain_layout l;
    struct site *site;

    if (!chain_memo_active()) {
        memo_chain(stack, frames, &l);
        ck_assert_ptr_null(memo_find(stack));
        activate_memo();
    }
    site = memo_chain(stack, frames, &l);
    ck_assert_ptr_eq(memo_find(stack), site);
    stack[9] = 0x8301;                    /* another chain at frame 2 */
    ck_assert_ptr_null(memo_find(stack));
    stack[9] = frames[2];
    ck_assert_ptr_eq(memo_find(stack), site);
}
END_TEST

START_TEST(test_memo_forgets_unloaded_code)
{
    uintptr_t stack[16] = { 0 };
    const uintptr_t frames[] = { 0x9100, 0x9200, 0x9300 };
    struct chain_layout l;
    struct site *site;

    activate_memo();
    site = memo_chain(stack, frames, &l);
    ck_assert_ptr_eq(memo_find(stack), site);
    /* Code was unloaded: the same addresses may hold other code now. */
    atomic_fetch_add(&frame_rules_generation, 1);
    ck_assert_ptr_null(memo_find(stack));
    ck_assert_ptr_eq(memo_chain(stack, frames, &l), site);
    ck_assert_ptr_eq(memo_find(stack), site);
}
END_TEST

START_TEST(test_memo_keeps_eight_chains_a_key)
{
    uintptr_t stack[16] = { 0 };
    uintptr_t frames[] = { 0xa100, 0xa200, 0 };
    struct site *sites[9];
    struct chain_layout l;

    activate_memo();
    /* Nine chains that share their first two frames, so their key. */
    for (unsigned i = 0; i < 9; i++) {
        frames[2] = 0xa300 + i;
        sites[i] = memo_chain(stack, frames, &l);
    }
    stack[9] = 0xa300;                    /* the first: pushed out */
    ck_assert_ptr_null(memo_find(stack));
    for (unsigned i = 1; i < 9; i++) {
        stack[9] = 0xa300 + i;
        ck_assert_ptr_eq(memo_find(stack), sites[i]);
    }
}
END_TEST

START_TEST(test_memo_keeps_a_sites_first_layout)
{
    uintptr_t stack[16] = { 0 }, other[16] = { 0 }, slots[3];
    const uintptr_t frames[] = { 0xb100, 0xb200, 0xb300 };
    const unsigned at[] = { 0, 4, 9 };
    struct unwind_reads reads;
    struct chain_layout l, moved;
    struct site *site;

    activate_memo();
    site = memo_chain(stack, frames, &l);
    /* The same frames laid out otherwise (a frame of variable size). */
    walk_report(other, at, frames, 3, slots, &reads);
    ck_assert(chain_layout_from_walk(&moved, slots[0], slots, 3, &reads));
    chain_memo_add(slots[0], site, &moved);
    ck_assert_ptr_null(chain_memo_find(slots[0], frames[0], frames[1],
                                       &(const struct chain_layout *){ 0 }));
    ck_assert_ptr_eq(memo_find(stack), site);
}
END_TEST

/* Readers prove chains while a writer keeps pushing others through the
 * same set: every site found is the chain on the reader's stack. */
#define RACE_CHAINS 12
static uintptr_t race_frames(unsigned i) { return 0xc300 + i; }
static struct site *race_sites[RACE_CHAINS];
static atomic_bool race_over;

static void *race_reader(void *arg)
{
    uintptr_t stack[16] = { 0 };
    unsigned i = (unsigned)(uintptr_t)arg, found = 0;
    stack[0] = 0xc100;
    stack[3] = 0xc200;
    stack[9] = race_frames(i);
    while (!atomic_load(&race_over)) {
        const struct chain_layout *l;
        struct site *s = chain_memo_find((uintptr_t)stack, stack[0],
                                         stack[3], &l);
        if (s) {
            ck_assert_ptr_eq(s, race_sites[i]);
            found++;
        }
    }
    return (void *)(uintptr_t)found;
}

START_TEST(test_memo_readers_race_a_writer)
{
    uintptr_t stack[16] = { 0 };
    uintptr_t frames[] = { 0xc100, 0xc200, 0 };
    struct chain_layout l;
    pthread_t readers[2];

    activate_memo();
    for (unsigned i = 0; i < RACE_CHAINS; i++) {
        frames[2] = race_frames(i);
        race_sites[i] = memo_chain(stack, frames, &l);
    }
    atomic_store(&race_over, false);
    for (unsigned t = 0; t < 2; t++)
        ck_assert_int_eq(pthread_create(&readers[t], NULL, race_reader,
                                        (void *)(uintptr_t)(t * 5)), 0);
    for (unsigned round = 0; round < 20000; round++) {
        frames[2] = race_frames(round % RACE_CHAINS);
        memo_chain(stack, frames, &l);
    }
    atomic_store(&race_over, true);
    for (unsigned t = 0; t < 2; t++)
        ck_assert_int_eq(pthread_join(readers[t], NULL), 0);
}
END_TEST

Suite *chain_memo_suite(void)
{
    Suite *s = suite_create("chain_memo");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_layout_from_plain_walk);
    tcase_add_test(tc, test_layout_frame_pointer_and_other_loads);
    tcase_add_test(tc, test_layout_proof_from_frame_two);
    tcase_add_test(tc, test_layout_frame_pointer_runs);
    tcase_add_test(tc, test_layout_refuses_what_it_cannot_keep);
    tcase_add_test(tc, test_memo_off_until_enough_walks);
    tcase_add_test(tc, test_memo_forgets_unloaded_code);
    tcase_add_test(tc, test_memo_keeps_eight_chains_a_key);
    tcase_add_test(tc, test_memo_keeps_a_sites_first_layout);
    tcase_add_test(tc, test_memo_readers_race_a_writer);
    suite_add_tcase(s, tc);
    return s;
}
