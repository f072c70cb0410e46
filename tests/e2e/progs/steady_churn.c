/*
 * A long steady run for the trace-size tests: 150 call sites (churn_000 ..
 * churn_149) each allocate and free all the time, each keeping its last
 * RING blocks of varying sizes, so that every site changes between any two
 * snapshots; with "leak", one more site, leak_tick, keeps 4 KiB every
 * 10 ms of wall time and never frees it. Runs until it has used SECONDS of
 * CPU time, then exits with every block still held live: snapshots come
 * with allocations, so a loaded machine stretches the run but does not cut
 * its number of snapshots.
 *
 * usage: steady_churn SECONDS [leak]
 *
 * Prints the truth the tests compare with:
 *     totals allocs A frees F
 *     site churn_NNN live BYTES blocks N allocs A peak BYTES   (per site)
 *     leak live BYTES blocks N period_ns P
 * stdout gets a static buffer: the program's own calls are all it makes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SITES 150
#define RING 16
#define MAX_SIZE 4096
#define LEAK_BYTES 4096
#define LEAK_PERIOD_NS 10000000ull
#define MAX_LEAKS 100000

/* noipa: each site its own function, never merged with its twins. */
#define CHURN_SITE(n)                                                   \
    __attribute__((noipa)) static void *churn_##n(size_t size)          \
    {                                                                   \
        return malloc(size);                                            \
    }
#define SITE_NAME(n) { churn_##n, "churn_" #n },
#define TEN(p, X) X(p##0) X(p##1) X(p##2) X(p##3) X(p##4) \
                  X(p##5) X(p##6) X(p##7) X(p##8) X(p##9)
#define ALL_SITES(X) TEN(00, X) TEN(01, X) TEN(02, X) TEN(03, X) TEN(04, X) \
                     TEN(05, X) TEN(06, X) TEN(07, X) TEN(08, X) TEN(09, X) \
                     TEN(10, X) TEN(11, X) TEN(12, X) TEN(13, X) TEN(14, X)

ALL_SITES(CHURN_SITE)

static const struct {
    void *(*alloc)(size_t);
    const char *name;
} sites[SITES] = { ALL_SITES(SITE_NAME) };

struct block {
    unsigned char *ptr;
    size_t size;
};

static struct block rings[SITES][RING];
static struct {
    uint64_t live, blocks, allocs, peak;
} truth[SITES];
static unsigned char *leaks[MAX_LEAKS];
static size_t nleaks;
static uint64_t total_allocs, total_frees;
static char out_buf[1 << 16];

__attribute__((noipa)) static void leak_tick(void)
{
    if (nleaks == MAX_LEAKS)
        exit(1);
    leaks[nleaks] = malloc(LEAK_BYTES);
    if (!leaks[nleaks])
        exit(1);
    memset(leaks[nleaks], 'l', LEAK_BYTES);
    nleaks++;
    total_allocs++;
}

static uint64_t now_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One allocation of every site: the oldest block of its ring goes. */
static void churn_round(uint64_t round)
{
    for (unsigned i = 0; i < SITES; i++) {
        struct block *b = &rings[i][round % RING];
        if (b->ptr) {
            free(b->ptr);
            truth[i].live -= b->size;
            truth[i].blocks--;
            total_frees++;
        }
        b->size = 1 + (size_t)((round * 2654435761u + i * 40503u) % MAX_SIZE);
        b->ptr = sites[i].alloc(b->size);
        if (!b->ptr)
            exit(1);
        b->ptr[b->size - 1] = (unsigned char)round;
        truth[i].live += b->size;
        if (truth[i].live > truth[i].peak)
            truth[i].peak = truth[i].live;
        truth[i].blocks++;
        truth[i].allocs++;
        total_allocs++;
    }
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 6.0;
    int leak = argc > 2 && strcmp(argv[2], "leak") == 0;
    uint64_t cpu_end, next_leak, round = 0;

    setvbuf(stdout, out_buf, _IOFBF, sizeof out_buf);
    cpu_end = now_ns(CLOCK_PROCESS_CPUTIME_ID) + (uint64_t)(seconds * 1e9);
    next_leak = now_ns(CLOCK_MONOTONIC) + LEAK_PERIOD_NS;
    while (now_ns(CLOCK_PROCESS_CPUTIME_ID) < cpu_end) {
        uint64_t now = now_ns(CLOCK_MONOTONIC);
        churn_round(round++);
        /* On schedule: a late tick catches up, so the rate is exact. */
        while (leak && now >= next_leak) {
            leak_tick();
            next_leak += LEAK_PERIOD_NS;
        }
    }
    printf("totals allocs %llu frees %llu\n",
           (unsigned long long)total_allocs, (unsigned long long)total_frees);
    for (unsigned i = 0; i < SITES; i++)
        printf("site %s live %llu blocks %llu allocs %llu peak %llu\n",
               sites[i].name, (unsigned long long)truth[i].live,
               (unsigned long long)truth[i].blocks,
               (unsigned long long)truth[i].allocs,
               (unsigned long long)truth[i].peak);
    if (leak)
        printf("leak live %llu blocks %llu period_ns %llu\n",
               (unsigned long long)(nleaks * LEAK_BYTES),
               (unsigned long long)nleaks,
               (unsigned long long)LEAK_PERIOD_NS);
    return 0;
}
