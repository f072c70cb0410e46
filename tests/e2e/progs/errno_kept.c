/* errno_kept.c - errno must read the same after every successful call of
 * the malloc family as before it, whatever the tracer did inside: walked
 * a new stack, grew its tables, wrote a snapshot. With "full", files may
 * grow no further (RLIMIT_FSIZE, SIGXFSZ ignored), so that the tracer's
 * writes fail inside those calls. Each call is made with errno set to a
 * value no allocator sets.
 * Usage: errno_kept ROUNDS [full]. Prints how many calls it checked and
 * how many changed errno. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define SENTINEL EDOM
#define HELD 4096

static unsigned long checked, changed;

static void expect_kept(void)
{
    checked++;
    if (errno != SENTINEL)
        changed++;
}

/* A call chain of its own per depth: each depth is a new site, walked
 * the first time. */
static __attribute__((noinline)) void *alloc_at_depth(int depth, size_t size)
{
    void *p;
    if (depth > 0) {
        p = alloc_at_depth(depth - 1, size);
        __asm__ volatile("" ::: "memory");   /* no tail call */
        return p;
    }
    errno = SENTINEL;
    p = malloc(size);
    expect_kept();
    return p;
}

static void pause_a_millisecond(void)
{
    struct timespec ms = { 0, 1000000 };
    nanosleep(&ms, NULL);
}

int main(int argc, char **argv)
{
    static void *held[HELD];
    int rounds = argc > 1 ? atoi(argv[1]) : 20;

    if (argc > 2 && strcmp(argv[2], "full") == 0) {
        struct rlimit no_growth = { 0, 0 };
        signal(SIGXFSZ, SIG_IGN);
        if (setrlimit(RLIMIT_FSIZE, &no_growth) != 0)
            return 2;
    }

    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < HELD; i++) {
            void *p;
            held[i] = alloc_at_depth(i % 40, 16 + (size_t)(i % 200));
            errno = SENTINEL;
            p = calloc(3, 40);
            expect_kept();
            errno = SENTINEL;
            p = realloc(p, 4000);
            expect_kept();
            errno = SENTINEL;
            p = realloc(p, 8);
            expect_kept();
            errno = SENTINEL;
            free(p);
            expect_kept();
            errno = SENTINEL;
            if (posix_memalign(&p, 64, 100) == 0) {
                expect_kept();
                errno = SENTINEL;
                free(p);
                expect_kept();
            }
        }
        /* A snapshot falls due while the next round allocates. */
        pause_a_millisecond();
        for (int i = 0; i < HELD; i++) {
            errno = SENTINEL;
            free(held[i]);
            expect_kept();
        }
    }
    printf("%lu calls checked, %lu changed errno\n", checked, changed);
    return changed != 0;
}
