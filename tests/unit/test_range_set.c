/* test_range_set.c - sets of address ranges (a program's allocator's
 * mappings, MTRACE_MMAP's reservations): merges, holes, replacements,
 * parts and overflow, case by case, then random operations against a
 * page-by-page model. */
#include "suites.h"
#include "range_set.h"

#include <stdlib.h>
#include <string.h>

#define PAGE 4096u
#define BASE ((uintptr_t)0x7f0000000000ull)
#define MODEL_PAGES 512

struct seen {
    uintptr_t start[RANGE_SET_MAX + 1];
    size_t len[RANGE_SET_MAX + 1];
    size_t n;
};

static void note_range(uintptr_t start, size_t len, void *arg)
{
    struct seen *s = arg;
    s->start[s->n] = start;
    s->len[s->n] = len;
    s->n++;
}

static struct range_set set;

static struct seen listed(bool *complete)
{
    struct seen s;
    memset(&s, 0, sizeof s);
    *complete = range_set_for_each(&set, note_range, &s);
    return s;
}

static uintptr_t at(unsigned page)
{
    return BASE + (uintptr_t)page * PAGE;
}

START_TEST(test_adjacent_mappings_merge)
{
    bool complete;
    struct seen s;
    memset(&set, 0, sizeof set);
    range_set_add(&set, at(0), 4 * PAGE);
    range_set_add(&set, at(8), 4 * PAGE);
    range_set_add(&set, at(4), 4 * PAGE);    /* fills the gap: one range */
    s = listed(&complete);
    ck_assert(complete);
    ck_assert_uint_eq(s.n, 1);
    ck_assert_uint_eq(s.start[0], at(0));
    ck_assert_uint_eq(s.len[0], 12 * PAGE);
}
END_TEST

START_TEST(test_unmap_in_the_middle_leaves_two)
{
    bool complete;
    struct seen s;
    memset(&set, 0, sizeof set);
    range_set_add(&set, at(0), 10 * PAGE);
    range_set_remove(&set, at(3), 2 * PAGE);
    s = listed(&complete);
    ck_assert_uint_eq(s.n, 2);
    ck_assert_uint_eq(s.start[0], at(0));
    ck_assert_uint_eq(s.len[0], 3 * PAGE);
    ck_assert_uint_eq(s.start[1], at(5));
    ck_assert_uint_eq(s.len[1], 5 * PAGE);
}
END_TEST

START_TEST(test_unmap_across_ranges_and_gaps)
{
    bool complete;
    struct seen s;
    memset(&set, 0, sizeof set);
    range_set_add(&set, at(0), 4 * PAGE);
    range_set_add(&set, at(6), 2 * PAGE);
    range_set_add(&set, at(10), 4 * PAGE);
    range_set_remove(&set, at(2), 10 * PAGE);    /* pages 2..11 */
    s = listed(&complete);
    ck_assert_uint_eq(s.n, 2);
    ck_assert_uint_eq(s.start[0], at(0));
    ck_assert_uint_eq(s.len[0], 2 * PAGE);
    ck_assert_uint_eq(s.start[1], at(12));
    ck_assert_uint_eq(s.len[1], 2 * PAGE);
}
END_TEST

START_TEST(test_mapping_over_mappings_replaces_them)
{
    bool complete;
    struct seen s;
    memset(&set, 0, sizeof set);
    range_set_add(&set, at(0), 2 * PAGE);
    range_set_add(&set, at(4), 2 * PAGE);
    range_set_add(&set, at(1), 4 * PAGE);        /* MAP_FIXED over both */
    s = listed(&complete);
    ck_assert_uint_eq(s.n, 1);
    ck_assert_uint_eq(s.start[0], at(0));
    ck_assert_uint_eq(s.len[0], 6 * PAGE);
}
END_TEST

START_TEST(test_past_the_limit_ranges_are_dropped_and_said_so)
{
    bool complete;
    struct seen s;
    memset(&set, 0, sizeof set);
    for (unsigned i = 0; i <= RANGE_SET_MAX; i++)
        range_set_add(&set, at(2 * i), PAGE);     /* never adjacent */
    s = listed(&complete);
    ck_assert(!complete);
    ck_assert_uint_eq(s.n, RANGE_SET_MAX);
    ck_assert_uint_eq(s.start[RANGE_SET_MAX - 1],
                      at(2 * (RANGE_SET_MAX - 1)));
    memset(&set, 0, sizeof set);
}
END_TEST

START_TEST(test_empty_and_wrapping_lengths_change_nothing)
{
    bool complete;
    struct seen s;
    memset(&set, 0, sizeof set);
    range_set_add(&set, at(0), 0);
    range_set_add(&set, UINTPTR_MAX - PAGE, 2 * PAGE);
    range_set_add(&set, at(0), PAGE);
    range_set_remove(&set, at(0), 0);
    s = listed(&complete);
    ck_assert_uint_eq(s.n, 1);
    ck_assert_uint_eq(s.len[0], PAGE);
}
END_TEST

START_TEST(test_parts_and_overlaps_of_a_range)
{
    uintptr_t starts[2];
    size_t lens[2];
    memset(&set, 0, sizeof set);
    range_set_add(&set, at(2), 2 * PAGE);
    range_set_add(&set, at(6), 2 * PAGE);
    range_set_add(&set, at(10), PAGE);
    ck_assert(!range_set_overlaps(&set, at(0), 2 * PAGE));
    ck_assert(!range_set_overlaps(&set, at(4), 2 * PAGE));
    ck_assert(range_set_overlaps(&set, at(3), PAGE));
    ck_assert(range_set_overlaps(&set, at(5), 2 * PAGE));
    /* Pages 3..10: the tail of the first, all of the second, the third;
     * only two asked for. */
    ck_assert_uint_eq(range_set_parts(&set, at(3), 8 * PAGE, starts, lens,
                                      2), 3);
    ck_assert_uint_eq(starts[0], at(3));
    ck_assert_uint_eq(lens[0], PAGE);
    ck_assert_uint_eq(starts[1], at(6));
    ck_assert_uint_eq(lens[1], 2 * PAGE);
    ck_assert_uint_eq(range_set_parts(&set, at(8), 2 * PAGE, starts, lens,
                                      2), 0);
}
END_TEST

START_TEST(test_random_operations_match_model)
{
    bool model[MODEL_PAGES], complete;
    unsigned seed = 12345;
    memset(&set, 0, sizeof set);
    memset(model, 0, sizeof model);
    for (int step = 0; step < 20000; step++) {
        unsigned first = (unsigned)rand_r(&seed) % MODEL_PAGES;
        unsigned pages = 1 + (unsigned)rand_r(&seed) % 24;
        bool add = rand_r(&seed) % 2;
        if (first + pages > MODEL_PAGES)
            pages = MODEL_PAGES - first;
        if (add)
            range_set_add(&set, at(first), pages * PAGE);
        else
            range_set_remove(&set, at(first), pages * PAGE);
        for (unsigned p = first; p < first + pages; p++)
            model[p] = add;
        if (step % 97 == 0) {
            struct seen s = listed(&complete);
            bool got[MODEL_PAGES];
            memset(got, 0, sizeof got);
            ck_assert(complete);
            for (size_t i = 0; i < s.n; i++) {
                /* Disjoint, sorted, never adjacent. */
                if (i > 0)
                    ck_assert_uint_gt(s.start[i],
                                      s.start[i - 1] + s.len[i - 1]);
                for (uintptr_t a = s.start[i]; a < s.start[i] + s.len[i];
                     a += PAGE)
                    got[(a - BASE) / PAGE] = true;
            }
            ck_assert_mem_eq(got, model, sizeof model);
            {
                bool any = false;
                for (unsigned p = first; p < first + pages; p++)
                    any |= model[p];
                ck_assert_int_eq(range_set_overlaps(&set, at(first),
                                                    pages * PAGE), any);
            }
        }
    }
}
END_TEST

Suite *range_set_suite(void)
{
    Suite *s = suite_create("range_set");
    TCase *tc = tcase_create("range_set");
    tcase_add_test(tc, test_adjacent_mappings_merge);
    tcase_add_test(tc, test_unmap_in_the_middle_leaves_two);
    tcase_add_test(tc, test_unmap_across_ranges_and_gaps);
    tcase_add_test(tc, test_mapping_over_mappings_replaces_them);
    tcase_add_test(tc, test_past_the_limit_ranges_are_dropped_and_said_so);
    tcase_add_test(tc, test_empty_and_wrapping_lengths_change_nothing);
    tcase_add_test(tc, test_parts_and_overlaps_of_a_range);
    tcase_add_test(tc, test_random_operations_match_model);
    suite_add_tcase(s, tc);
    return s;
}
