/* test_mmap_ranges.c - the index of traced mappings' pieces: what each
 * munmap, MAP_FIXED mapping and mremap leaves of them, and the events the
 * counters follow, case by case with exact numbers, then random
 * operations against a model of the address space page by page. */
#include "suites.h"
#include "expect.h"
#include "mmap_ranges.h"

#include <inttypes.h>
#include <string.h>

#define PAGE 4096u
#define MB (UINT64_C(1) << 20)
#define BASE ((uintptr_t)0x7f0000000000ull)
#define SITES 8

/* The counters as record.c keeps them from the events. */
struct site_counters {
    uint64_t live, allocs, frees, bytes_allocated;
};

static struct site_counters counted[SITES];
static unsigned events_seen;

static void count_event(const struct mmap_event *e, void *arg)
{
    struct site_counters *c = &counted[e->site];
    (void)arg;
    ck_assert_uint_lt(e->site, SITES);
    events_seen++;
    switch (e->kind) {
    case MMAP_EV_ADDED:
        c->allocs++;
        c->live += e->bytes;
        c->bytes_allocated += e->bytes;
        break;
    case MMAP_EV_SPLIT:
        EXPECT_EQ(e->bytes, 0);
        c->allocs++;
        break;
    case MMAP_EV_TRIMMED:
    case MMAP_EV_FREED:
        /* Never below zero: only bytes counted in can go out. */
        EXPECT_LE(e->bytes, c->live);
        c->live -= e->bytes;
        c->frees += e->kind == MMAP_EV_FREED;
        break;
    case MMAP_EV_GROWN:
        c->live += e->bytes;
        c->bytes_allocated += e->bytes;
        break;
    }
    EXPECT_LE(c->frees, c->allocs);
}

static const struct mmap_sink sink = { count_event, NULL };

#define MAX_PIECES 256
static struct mmap_piece seen[MAX_PIECES];
static size_t nseen;

static void collect(const struct mmap_piece *p, void *arg)
{
    (void)arg;
    ck_assert_uint_lt(nseen, MAX_PIECES);
    seen[nseen++] = *p;
}

/* The index's pieces, in address order, which must not overlap; each
 * site's live bytes and allocs - frees must match them. */
static size_t pieces(void)
{
    uint64_t live[SITES] = { 0 }, count[SITES] = { 0 };
    nseen = 0;
    mmap_ranges_for_each(collect, NULL);
    EXPECT_EQ(nseen, mmap_ranges_count());
    for (size_t i = 0; i < nseen; i++) {
        EXPECT_EQ(seen[i].start % PAGE, 0);
        EXPECT_CMP(seen[i].len, >, 0);
        if (i > 0)
            EXPECT_LE(seen[i - 1].start + seen[i - 1].len, seen[i].start);
        live[seen[i].site] += seen[i].len;
        count[seen[i].site]++;
    }
    for (unsigned s = 0; s < SITES; s++) {
        EXPECT_EQ(counted[s].live, live[s]);
        EXPECT_EQ(counted[s].allocs - counted[s].frees, count[s]);
    }
    return nseen;
}

static void expect_piece(size_t i, uintptr_t start, uint64_t len,
                         uint32_t site, uint64_t birth)
{
    ck_assert_uint_lt(i, nseen);
    EXPECT_EQ(seen[i].start, start);
    EXPECT_EQ(seen[i].len, len);
    EXPECT_EQ(seen[i].site, site);
    EXPECT_EQ(seen[i].birth_ns, birth);
}

static void expect_counted(uint32_t site, uint64_t live, uint64_t allocs,
                           uint64_t frees, uint64_t bytes_allocated)
{
    EXPECT_EQ(counted[site].live, live);
    EXPECT_EQ(counted[site].allocs, allocs);
    EXPECT_EQ(counted[site].frees, frees);
    EXPECT_EQ(counted[site].bytes_allocated, bytes_allocated);
}

static void start_empty(void)
{
    mmap_ranges_clear();
    memset(counted, 0, sizeof counted);
    events_seen = 0;
}

static uint64_t whole(uint64_t len)
{
    return (len + PAGE - 1) & ~(uint64_t)(PAGE - 1);
}

static void map(uintptr_t at, uint64_t len, uint32_t site, uint64_t birth)
{
    struct mmap_piece p = { at, len, birth, site };
    mmap_ranges_map(&p, whole(len), &sink);
}

static void unmap(uintptr_t at, uint64_t len)
{
    mmap_ranges_unmap(at, whole(len), &sink);
}

static void remap(uintptr_t old, uint64_t old_len, uintptr_t to,
                  uint64_t new_len, bool keeps_old, uint64_t now)
{
    struct mmap_remap r = { old, to, old_len, new_len, keeps_old, PAGE, now };
    mmap_ranges_remap(&r, &sink);
}

START_TEST(test_head_and_tail_trims_count_no_free)
{
    start_empty();
    map(BASE, 4 * MB, 1, 10);
    unmap(BASE, MB);
    EXPECT_EQ(pieces(), 1);
    expect_piece(0, BASE + MB, 3 * MB, 1, 10);
    unmap(BASE + 3 * MB, MB);
    EXPECT_EQ(pieces(), 1);
    expect_piece(0, BASE + MB, 2 * MB, 1, 10);
    expect_counted(1, 2 * MB, 1, 0, 4 * MB);
    /* The rest, from its new start: one free, no wrap-around. */
    unmap(BASE + MB, 2 * MB);
    EXPECT_EQ(pieces(), 0);
    expect_counted(1, 0, 1, 1, 4 * MB);
}
END_TEST

START_TEST(test_tail_then_head)
{
    start_empty();
    map(BASE, 4 * MB, 1, 10);
    unmap(BASE + MB, 3 * MB);
    EXPECT_EQ(pieces(), 1);
    expect_piece(0, BASE, MB, 1, 10);
    unmap(BASE, MB);
    EXPECT_EQ(pieces(), 0);
    expect_counted(1, 0, 1, 1, 4 * MB);
}
END_TEST

START_TEST(test_middle_punch_splits_into_two_blocks)
{
    start_empty();
    map(BASE, 4 * MB, 1, 10);
    unmap(BASE + MB, MB);
    EXPECT_EQ(pieces(), 2);
    expect_piece(0, BASE, MB, 1, 10);
    expect_piece(1, BASE + 2 * MB, 2 * MB, 1, 10);
    expect_counted(1, 3 * MB, 2, 0, 4 * MB);
    /* Longer than what is left, and over the hole. */
    unmap(BASE, 8 * MB);
    EXPECT_EQ(pieces(), 0);
    expect_counted(1, 0, 2, 2, 4 * MB);
}
END_TEST

START_TEST(test_unmap_across_mappings_and_gaps)
{
    start_empty();
    map(BASE, 2 * MB, 1, 10);
    map(BASE + 2 * MB, 2 * MB, 2, 20);           /* adjacent */
    map(BASE + 5 * MB, MB, 3, 30);               /* after a gap */
    map(BASE + 7 * MB, 2 * MB, 4, 40);
    unmap(BASE + MB, 7 * MB);                    /* tail, whole, whole, head */
    EXPECT_EQ(pieces(), 2);
    expect_piece(0, BASE, MB, 1, 10);
    expect_piece(1, BASE + 8 * MB, MB, 4, 40);
    expect_counted(1, MB, 1, 0, 2 * MB);
    expect_counted(2, 0, 1, 1, 2 * MB);
    expect_counted(3, 0, 1, 1, MB);
    expect_counted(4, MB, 1, 0, 2 * MB);
}
END_TEST

START_TEST(test_untraced_ranges_change_nothing)
{
    start_empty();
    unmap(BASE, 4 * MB);                         /* empty index */
    map(BASE + 4 * MB, MB, 1, 10);
    unmap(BASE, 4 * MB);                         /* ends where it starts */
    unmap(BASE + 5 * MB, 4 * MB);
    unmap(BASE + 4 * MB, 0);
    EXPECT_EQ(pieces(), 1);
    EXPECT_EQ(events_seen, 1);
    expect_counted(1, MB, 1, 0, MB);
}
END_TEST

START_TEST(test_fixed_mapping_over_the_middle)
{
    start_empty();
    map(BASE, 4 * MB, 1, 10);
    map(BASE + MB, 2 * MB, 2, 20);
    EXPECT_EQ(pieces(), 3);
    expect_piece(0, BASE, MB, 1, 10);
    expect_piece(1, BASE + MB, 2 * MB, 2, 20);
    expect_piece(2, BASE + 3 * MB, MB, 1, 10);
    expect_counted(1, 2 * MB, 2, 0, 4 * MB);
    expect_counted(2, 2 * MB, 1, 0, 2 * MB);
    unmap(BASE, 4 * MB);
    EXPECT_EQ(pieces(), 0);
    expect_counted(1, 0, 2, 2, 4 * MB);
    expect_counted(2, 0, 1, 1, 2 * MB);
}
END_TEST

/* Lengths are what the program asked for; only pages can go. */
START_TEST(test_lengths_inside_the_last_page)
{
    start_empty();
    map(BASE, 5000, 1, 10);
    unmap(BASE + PAGE, 10);                      /* the page holding 904 */
    EXPECT_EQ(pieces(), 1);
    expect_piece(0, BASE, PAGE, 1, 10);
    map(BASE + 4 * PAGE, 3 * PAGE + 1, 2, 20);
    unmap(BASE + 4 * PAGE, PAGE);
    EXPECT_EQ(pieces(), 2);
    expect_piece(1, BASE + 5 * PAGE, 2 * PAGE + 1, 2, 20);
    expect_counted(2, 2 * PAGE + 1, 1, 0, 3 * PAGE + 1);
    unmap(BASE + 7 * PAGE, PAGE);
    EXPECT_EQ(pieces(), 2);
    expect_piece(1, BASE + 5 * PAGE, 2 * PAGE, 2, 20);
}
END_TEST

START_TEST(test_remap_shrink_and_grow_in_place)
{
    start_empty();
    map(BASE, 4 * MB, 1, 10);
    remap(BASE, 4 * MB, BASE, MB, false, 99);
    EXPECT_EQ(pieces(), 1);
    expect_piece(0, BASE, MB, 1, 10);
    expect_counted(1, MB, 1, 0, 4 * MB);
    remap(BASE, MB, BASE, 3 * MB, false, 99);
    EXPECT_EQ(pieces(), 1);
    expect_piece(0, BASE, 3 * MB, 1, 10);
    expect_counted(1, 3 * MB, 1, 0, 6 * MB);
    /* Within the same pages, to the length asked for. */
    remap(BASE, 3 * MB, BASE, 3 * MB - 100, false, 99);
    EXPECT_EQ(pieces(), 1);
    expect_piece(0, BASE, 3 * MB - 100, 1, 10);
    remap(BASE, 3 * MB - 100, BASE, 3 * MB - 10, false, 99);
    EXPECT_EQ(pieces(), 1);
    expect_piece(0, BASE, 3 * MB - 10, 1, 10);
    expect_counted(1, 3 * MB - 10, 1, 0, 6 * MB + 90);
}
END_TEST

START_TEST(test_remap_move_keeps_site_and_birth)
{
    start_empty();
    map(BASE, MB, 1, 10);
    map(BASE + 16 * MB, 8 * MB, 2, 20);          /* the destination */
    remap(BASE, MB, BASE + 16 * MB, 8 * MB, false, 99);
    EXPECT_EQ(pieces(), 1);
    expect_piece(0, BASE + 16 * MB, 8 * MB, 1, 10);
    expect_counted(1, 8 * MB, 1, 0, 8 * MB);
    expect_counted(2, 0, 1, 1, 8 * MB);          /* replaced: freed */
    remap(BASE + 16 * MB, 8 * MB, BASE + 32 * MB, 2 * MB, false, 99);
    EXPECT_EQ(pieces(), 1);
    expect_piece(0, BASE + 32 * MB, 2 * MB, 1, 10);
    expect_counted(1, 2 * MB, 1, 0, 8 * MB);
}
END_TEST

/* Moving part of a piece leaves the rest: two blocks from then on. */
START_TEST(test_remap_move_of_a_middle_part)
{
    start_empty();
    map(BASE, 4 * MB, 1, 10);
    remap(BASE + MB, MB, BASE + 8 * MB, MB, false, 99);
    EXPECT_EQ(pieces(), 3);
    expect_piece(0, BASE, MB, 1, 10);
    expect_piece(1, BASE + 2 * MB, 2 * MB, 1, 10);
    expect_piece(2, BASE + 8 * MB, MB, 1, 10);
    expect_counted(1, 4 * MB, 3, 0, 4 * MB);
}
END_TEST

/* Adjacent mappings merge into one kernel mapping that mremap may move
 * whole: each piece moves with its own site. */
START_TEST(test_remap_across_two_pieces)
{
    start_empty();
    map(BASE, MB, 1, 10);
    map(BASE + MB, MB, 2, 20);
    remap(BASE, 2 * MB, BASE + 8 * MB, 3 * MB, false, 99);
    EXPECT_EQ(pieces(), 2);
    expect_piece(0, BASE + 8 * MB, MB, 1, 10);
    expect_piece(1, BASE + 9 * MB, 2 * MB, 2, 20);     /* grown */
    expect_counted(1, MB, 1, 0, MB);
    expect_counted(2, 2 * MB, 1, 0, 2 * MB);
    /* Shrunk back into the first: the second is gone. */
    remap(BASE + 8 * MB, 3 * MB, BASE + 8 * MB, MB / 2, false, 99);
    EXPECT_EQ(pieces(), 1);
    expect_piece(0, BASE + 8 * MB, MB / 2, 1, 10);
    expect_counted(2, 0, 1, 1, 2 * MB);
}
END_TEST

START_TEST(test_remap_of_untraced_mapping_stays_untraced)
{
    start_empty();
    map(BASE + 8 * MB, MB, 1, 10);
    remap(BASE, MB, BASE + 8 * MB, 2 * MB, false, 99);
    EXPECT_EQ(pieces(), 0);
    expect_counted(1, 0, 1, 1, MB);
}
END_TEST

START_TEST(test_remap_keeping_old_maps_a_new_block)
{
    start_empty();
    map(BASE, 2 * MB, 1, 10);
    remap(BASE + MB, MB, BASE + 8 * MB, MB, true, 99);
    EXPECT_EQ(pieces(), 2);
    expect_piece(0, BASE, 2 * MB, 1, 10);
    expect_piece(1, BASE + 8 * MB, MB, 1, 99);
    expect_counted(1, 3 * MB, 2, 0, 3 * MB);
}
END_TEST

START_TEST(test_nodes_are_reused)
{
    start_empty();
    for (unsigned round = 0; round < 1000; round++) {
        map(BASE, 4 * MB, 1, round);
        unmap(BASE + MB, MB);
        unmap(BASE, 4 * MB);
    }
    EXPECT_EQ(pieces(), 0);
    expect_counted(1, 0, 2000, 2000, 4000 * MB);
}
END_TEST

/* The model: each page's site (0: not traced) and birth. Lengths are
 * whole pages, so a site's live bytes are its pages. */
#define MODEL_PAGES 48

struct page_owner {
    uint32_t site;
    uint64_t birth;
};

static uint64_t xorshift(uint64_t *state)
{
    uint64_t x = *state ^ *state << 13;
    x ^= x >> 7;
    return *state = x ^ x << 17;
}

static void model_compare(const struct page_owner *model)
{
    struct page_owner found[MODEL_PAGES];
    memset(found, 0, sizeof found);
    pieces();
    for (size_t i = 0; i < nseen; i++) {
        EXPECT_EQ(seen[i].len % PAGE, 0);
        for (uint64_t off = 0; off < seen[i].len; off += PAGE) {
            uint64_t page = (seen[i].start + off - BASE) / PAGE;
            ck_assert_uint_lt(page, MODEL_PAGES);
            found[page].site = seen[i].site;
            found[page].birth = seen[i].birth_ns;
        }
    }
    for (unsigned p = 0; p < MODEL_PAGES; p++) {
        EXPECT_EQ(found[p].site, model[p].site);
        if (model[p].site)
            EXPECT_EQ(found[p].birth, model[p].birth);
    }
}

START_TEST(test_random_operations_match_model)
{
    struct page_owner model[MODEL_PAGES], saved[MODEL_PAGES];
    uint64_t rng = 0x1234567u;
    start_empty();
    memset(model, 0, sizeof model);
    for (uint64_t step = 1; step <= 20000; step++) {
        unsigned op = (unsigned)(xorshift(&rng) % 3);
        unsigned a = (unsigned)(xorshift(&rng) % MODEL_PAGES);
        unsigned n = 1 + (unsigned)(xorshift(&rng) % 8);
        if (a + n > MODEL_PAGES)
            n = MODEL_PAGES - a;
        if (op == 0) {
            /* Site 0: an untraced mapping made over whatever was there. */
            uint32_t site = (uint32_t)(xorshift(&rng) % SITES);
            if (site)
                map(BASE + a * PAGE, n * PAGE, site, step);
            else
                unmap(BASE + a * PAGE, n * PAGE);
            for (unsigned p = a; p < a + n; p++)
                model[p] = (struct page_owner){ site, site ? step : 0 };
        } else if (op == 1) {
            unmap(BASE + a * PAGE, n * PAGE);
            memset(&model[a], 0, n * sizeof *model);
        } else {
            unsigned nn = 1 + (unsigned)(xorshift(&rng) % 8);
            unsigned b = (unsigned)(xorshift(&rng) % MODEL_PAGES);
            bool in_place = xorshift(&rng) % 3 == 0;
            bool keeps_old = !in_place && xorshift(&rng) % 8 == 0;
            unsigned kept = n < nn ? n : nn;
            struct page_owner last;
            if (in_place)
                b = a;
            /* The kernel never moves a mapping over itself. */
            if (b + nn > MODEL_PAGES ||
                (!in_place && b < a + n && a < b + nn))
                continue;
            remap(BASE + a * PAGE, n * PAGE, BASE + b * PAGE, nn * PAGE,
                  keeps_old, step);
            if (keeps_old) {
                uint32_t site = model[a].site;
                for (unsigned p = b; p < b + nn; p++)
                    model[p] = (struct page_owner){ site, site ? step : 0 };
            } else {
                memcpy(saved, &model[a], kept * sizeof *model);
                last = saved[kept - 1];
                memset(&model[a], 0, n * sizeof *model);
                memcpy(&model[b], saved, kept * sizeof *model);
                /* Growth belongs to the piece that held the last page. */
                for (unsigned p = b + kept; p < b + nn; p++)
                    model[p] = last;
            }
        }
        model_compare(model);
    }
}
END_TEST

Suite *mmap_ranges_suite(void)
{
    Suite *s = suite_create("mmap_ranges");
    TCase *tc = tcase_create("mmap_ranges");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_head_and_tail_trims_count_no_free);
    tcase_add_test(tc, test_tail_then_head);
    tcase_add_test(tc, test_middle_punch_splits_into_two_blocks);
    tcase_add_test(tc, test_unmap_across_mappings_and_gaps);
    tcase_add_test(tc, test_untraced_ranges_change_nothing);
    tcase_add_test(tc, test_fixed_mapping_over_the_middle);
    tcase_add_test(tc, test_lengths_inside_the_last_page);
    tcase_add_test(tc, test_remap_shrink_and_grow_in_place);
    tcase_add_test(tc, test_remap_move_keeps_site_and_birth);
    tcase_add_test(tc, test_remap_move_of_a_middle_part);
    tcase_add_test(tc, test_remap_across_two_pieces);
    tcase_add_test(tc, test_remap_of_untraced_mapping_stays_untraced);
    tcase_add_test(tc, test_remap_keeping_old_maps_a_new_block);
    tcase_add_test(tc, test_nodes_are_reused);
    tcase_add_test(tc, test_random_operations_match_model);
    suite_add_tcase(s, tc);
    return s;
}
