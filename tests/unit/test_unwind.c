/* test_unwind.c - walks of the tracer's own x86-64 unwinder over real
 * call chains, compared frame by frame with libunwind's (libgcc's in
 * threads); its rule cache, filled by many return addresses and emptied;
 * and walks from several threads at once, each over real chains and over
 * synthetic stacks (unwind_fixtures.c). The CFI interpreter, the
 * .eh_frame_hdr lookups and the walks over synthetic stacks alone have
 * suites of their own: test_cfi.c, test_eh_frame.c and
 * test_unwind_synthetic.c. */
#define UNW_LOCAL_ONLY
#include "suites.h"
#include "eh_frame.h"
#include "unwind.h"
#include "unwind_fixtures.h"

#include <alloca.h>
#include <dlfcn.h>
#include <libunwind.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)

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

/* ---------------------------------------------------------------------
 * The rule cache
 * ------------------------------------------------------------------- */

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
    TCase *walk = tcase_create("walk");
    TCase *threads = tcase_create("threads");

    tcase_add_test(walk, test_rule_cache_many_return_addresses);
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
