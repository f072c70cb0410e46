/*
 * alloc_churn.c - the synthetic allocation workload of `make bench`.
 *
 *     alloc_churn CALLS THREADS
 *
 * Makes CALLS calls in all to malloc, calloc, realloc and free, split over
 * THREADS threads (1: everything on the main thread). Sizes run from 8 B to
 * 64 KiB, small ones more often, as in real programs. Each thread keeps a
 * table of SLOTS blocks, about 60% of them live at any time, so a few
 * thousand blocks are live in all.
 *
 * Every call is made at the bottom of a chain of 5 to 15 distinct functions
 * that the compiler may not inline, clone or turn into tail calls, reached
 * through one of two call sites per level: the tracers under test unwind
 * stacks of realistic depth (11 to 21 frames) and see about 140 distinct
 * sites, not one. With more than one thread, one free in five is handed to
 * the next thread, which frees it: cross-thread frees are common in servers
 * and a tracer must handle them.
 *
 * The program prints the number of calls and a checksum of the data it
 * wrote into and read back from the blocks: the benchmark compares this
 * output between native and traced runs, and using the data keeps the
 * compiler from removing the allocations.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline, noclone))

#define SLOTS 4096          /* per thread: ~2500 live blocks each */
#define PATHS 48            /* distinct call chains (x3 allocating calls) */
#define CHAIN_MIN 5
#define CHAIN_MAX 15
#define MAILBOX 256         /* cross-thread frees waiting for their thread */
#define DRAIN_EVERY 16      /* calls between two looks at the mailbox */
#define FILL_MAX 128        /* bytes written at the start of a new block */

struct block {
    unsigned char *ptr;
    size_t size;
};

/* Blocks another thread handed over for freeing. */
struct mailbox {
    pthread_mutex_t lock;
    unsigned count;
    struct block blocks[MAILBOX];
};

struct worker {
    uint64_t rng;
    uint64_t calls_left;
    uint64_t calls_made;
    uint64_t checksum;
    unsigned live, peak_live;   /* blocks in this thread's slots */
    struct block slots[SLOTS];
    struct mailbox inbox;
    struct worker *next;    /* receives a share of this thread's frees */
    int threaded;
    pthread_t thread;
};

/* The chains: depth and, per level, which of the two call sites to take. */
static struct {
    int depth;
    uint32_t sites;
} paths[PATHS];

static uint64_t xorshift(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

/* 8 B to 64 KiB: a power of two from 8 B to 32 KiB plus one of 16 steps
 * of a sixteenth of it; half of the blocks are at most 511 B.
 * Programs allocate a limited set of sizes (structures, rounded buffers),
 * not every byte count: about 200 sizes here. Every byte count would also
 * make heaptrack 1.4's interpreter exhaust memory (a hash set keyed by size
 * and stack, KDE bug 477018), and there would be nothing to compare. */
static size_t pick_size(uint64_t r)
{
    unsigned shift = (unsigned)(r % 13);        /* 8 << 12 = 32 KiB */
    size_t base, step;
    if ((r >> 8) & 1)
        shift = shift % 6;                      /* 8 .. 511 B */
    base = (size_t)8 << shift;
    step = base >= 16 * 8 ? base / 16 : 8;
    return base + (size_t)((r >> 16) % 16) * step % base;
}

/* Writes a size-derived word at both ends and fills the first bytes, as a
 * program initialising its structure would. */
static void fill(struct block *b, uint64_t salt)
{
    uint64_t sig = (uint64_t)b->size * 0x9E3779B97F4A7C15ull ^ salt;
    size_t n = b->size < FILL_MAX ? b->size : FILL_MAX;
    memset(b->ptr, (int)(salt & 0xff), n);
    memcpy(b->ptr, &sig, sizeof sig);
    memcpy(b->ptr + b->size - sizeof sig, &sig, sizeof sig);
}

/* Reads the block back before it goes: its words feed the checksum. Only
 * bytes that fill() wrote, so the result is deterministic. */
static uint64_t consume(const struct block *b)
{
    uint64_t head, tail;
    size_t filled = b->size < FILL_MAX ? b->size : FILL_MAX;
    memcpy(&head, b->ptr, sizeof head);
    memcpy(&tail, b->ptr + b->size - sizeof tail, sizeof tail);
    return head + tail * 3 + b->ptr[filled / 2];
}

/* The words fill() wrote at both ends are still equal (when they do not
 * overlap): the block crossed threads undamaged. */
static int intact(const struct block *b)
{
    uint64_t head, tail;
    if (b->size < 2 * sizeof head)
        return 1;
    memcpy(&head, b->ptr, sizeof head);
    memcpy(&tail, b->ptr + b->size - sizeof tail, sizeof tail);
    return head == tail;
}

static void drain_inbox(struct worker *w)
{
    struct block taken[MAILBOX];
    unsigned n;

    pthread_mutex_lock(&w->inbox.lock);
    n = w->inbox.count;
    memcpy(taken, w->inbox.blocks, n * sizeof *taken);
    w->inbox.count = 0;
    pthread_mutex_unlock(&w->inbox.lock);
    /* The sender already counted these blocks; whether a block went
     * through a mailbox depends on timing, so only check it here. */
    for (unsigned i = 0; i < n; i++) {
        if (!intact(&taken[i]))
            abort();
        free(taken[i].ptr);
    }
}

/* Hands a block to the next thread; false if its mailbox is full. */
static int hand_over(struct worker *w, const struct block *b)
{
    struct mailbox *box = &w->next->inbox;
    int ok;
    pthread_mutex_lock(&box->lock);
    ok = box->count < MAILBOX;
    if (ok)
        box->blocks[box->count++] = *b;
    pthread_mutex_unlock(&box->lock);
    return ok;
}

/* The bottom of every chain: one allocator call on a random slot. */
NOINLINE static uint64_t alloc_op(struct worker *w, uint32_t salt)
{
    uint64_t r = xorshift(&w->rng);
    struct block *b = &w->slots[r % SLOTS];
    size_t size = pick_size(r >> 11);
    unsigned choice = (unsigned)(r >> 40) & 7;

    if (!b->ptr) {
        if (choice < 2) {
            b->ptr = calloc(1, size);
            if (b->ptr && b->ptr[size - 1] != 0)   /* calloc must zero */
                abort();
        } else {
            b->ptr = malloc(size);
        }
        if (!b->ptr)
            abort();
        b->size = size;
        fill(b, salt);
        if (++w->live > w->peak_live)
            w->peak_live = w->live;
        return b->size;
    }
    if (choice < 3) {
        unsigned char *moved = realloc(b->ptr, size);
        uint64_t head;
        if (!moved)
            abort();
        memcpy(&head, moved, sizeof head);  /* the old contents moved along */
        b->ptr = moved;
        b->size = size;
        fill(b, salt ^ head);
        return head;
    }
    w->checksum += consume(b);
    if (!(w->threaded && choice == 7 && hand_over(w, b)))
        free(b->ptr);
    b->ptr = NULL;
    w->live--;
    return salt;
}

/* chain_K calls chain_(K-1) through one of two call sites, chosen by bit K
 * of the path; the different arguments keep the compiler from merging the
 * two calls, and the arithmetic after them keeps them from being tail
 * calls, so each level is a real frame with its own return address. */
#define CHAIN_LINK(k, below)                                              \
    NOINLINE static uint64_t chain_##k(struct worker *w, uint32_t sites,  \
                                       uint32_t salt)                     \
    {                                                                     \
        uint64_t r;                                                       \
        if ((sites >> (k)) & 1)                                           \
            r = below(w, sites, salt * 3 + (k)) * 7;                      \
        else                                                              \
            r = below(w, sites, salt ^ (k)) + (k);                        \
        return r ^ (salt << 1);                                           \
    }

NOINLINE static uint64_t chain_1(struct worker *w, uint32_t sites,
                                 uint32_t salt)
{
    uint64_t r;
    if (sites & 2)
        r = alloc_op(w, salt * 5 + 1);
    else
        r = alloc_op(w, salt ^ 0x55);
    return r + salt;
}
CHAIN_LINK(2, chain_1)
CHAIN_LINK(3, chain_2)
CHAIN_LINK(4, chain_3)
CHAIN_LINK(5, chain_4)
CHAIN_LINK(6, chain_5)
CHAIN_LINK(7, chain_6)
CHAIN_LINK(8, chain_7)
CHAIN_LINK(9, chain_8)
CHAIN_LINK(10, chain_9)
CHAIN_LINK(11, chain_10)
CHAIN_LINK(12, chain_11)
CHAIN_LINK(13, chain_12)
CHAIN_LINK(14, chain_13)
CHAIN_LINK(15, chain_14)

typedef uint64_t chain_fn(struct worker *, uint32_t, uint32_t);
static chain_fn *const chain_top[CHAIN_MAX + 1] = {
    NULL, chain_1, chain_2, chain_3, chain_4, chain_5, chain_6, chain_7,
    chain_8, chain_9, chain_10, chain_11, chain_12, chain_13, chain_14,
    chain_15,
};

static void make_paths(void)
{
    uint64_t rng = 0x2545F4914F6CDD1Dull;
    for (int i = 0; i < PATHS; i++) {
        paths[i].depth = CHAIN_MIN + (int)(xorshift(&rng) %
                                           (CHAIN_MAX - CHAIN_MIN + 1));
        paths[i].sites = (uint32_t)xorshift(&rng);
    }
}

NOINLINE static void *run_worker(void *arg)
{
    struct worker *w = arg;
    uint64_t result = 0;

    while (w->calls_made < w->calls_left) {
        uint64_t r = xorshift(&w->rng);
        /* A few paths are hot, as in real programs: squaring skews the
         * choice towards low indexes. */
        unsigned p = (unsigned)((r % PATHS) * ((r >> 8) % PATHS) / PATHS);
        result += chain_top[paths[p].depth](w, paths[p].sites, (uint32_t)r);
        w->calls_made++;
        if (w->threaded && w->calls_made % DRAIN_EVERY == 0)
            drain_inbox(w);
    }
    w->checksum += result;
    return NULL;
}

/* Frees what is left: the benchmark measures the whole life of a block. */
static void finish_worker(struct worker *w)
{
    drain_inbox(w);
    for (unsigned i = 0; i < SLOTS; i++) {
        if (w->slots[i].ptr) {
            w->checksum += consume(&w->slots[i]);
            free(w->slots[i].ptr);
            w->slots[i].ptr = NULL;
        }
    }
}

int main(int argc, char **argv)
{
    uint64_t calls, checksum = 0, made = 0, peak_live = 0;
    struct worker *workers;
    int threads;

    if (argc != 3 || (calls = strtoull(argv[1], NULL, 10)) == 0 ||
        (threads = atoi(argv[2])) < 1 || threads > 64) {
        fprintf(stderr, "usage: alloc_churn CALLS THREADS (1-64)\n");
        return 2;
    }
    make_paths();
    workers = calloc((size_t)threads, sizeof *workers);
    if (!workers)
        return 1;
    for (int i = 0; i < threads; i++) {
        struct worker *w = &workers[i];
        w->rng = 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1) | 1;
        w->calls_left = calls / (uint64_t)threads;
        w->threaded = threads > 1;
        w->next = &workers[(i + 1) % threads];
        pthread_mutex_init(&w->inbox.lock, NULL);
    }
    if (threads == 1) {
        run_worker(&workers[0]);
    } else {
        for (int i = 0; i < threads; i++)
            if (pthread_create(&workers[i].thread, NULL, run_worker,
                               &workers[i]) != 0)
                return 1;
        for (int i = 0; i < threads; i++)
            pthread_join(workers[i].thread, NULL);
    }
    /* Mailboxes are drained after every thread stopped handing over. */
    for (int i = 0; i < threads; i++)
        finish_worker(&workers[i]);
    for (int i = 0; i < threads; i++) {
        checksum += workers[i].checksum;
        made += workers[i].calls_made;
        peak_live += workers[i].peak_live;
    }
    /* peak_live: the sum of each thread's peak, at least the true peak of
     * live blocks; the benchmark divides the tracer's extra RSS by it. */
    printf("alloc-churn threads=%d chains=%" PRIu64 " peak_live=%" PRIu64
           " checksum=%016" PRIx64 "\n", threads, made, peak_live, checksum);
    free(workers);
    return 0;
}
