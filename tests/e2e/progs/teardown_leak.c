/*
 * A leak that the program releases in its teardown, like Node.js freeing
 * its Buffers at shutdown or C++ destructors running at exit: every 20 ms
 * `retain_request` keeps a 32 KiB block for the whole run, and just before
 * exit `release_all` frees every one of them. The memory grew steadily for
 * the whole run, so the site is a leak although nothing survives.
 *
 * usage: teardown_leak [APPENDS]   (default 100: about 2 s)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define APPEND_MS 20
#define BLOCK_BYTES (32 * 1024)
#define MAX_APPENDS 1000

static char *retained[MAX_APPENDS];
static int nretained;

__attribute__((noinline)) static void retain_request(void)
{
    char *block = malloc(BLOCK_BYTES);
    if (!block)
        exit(1);
    memset(block, 'r', BLOCK_BYTES);
    retained[nretained++] = block;
}

__attribute__((noinline)) static void release_all(void)
{
    for (int i = 0; i < nretained; i++)
        free(retained[i]);
}

/* Sleeps to the next tick of a fixed schedule, as a timer does: a late
 * wake-up (a loaded machine) shortens the next wait instead of shifting
 * every later tick. */
static void sleep_until_next_tick(struct timespec *deadline, long tick_ms)
{
    deadline->tv_nsec += tick_ms * 1000000L;
    while (deadline->tv_nsec >= 1000000000L) {
        deadline->tv_nsec -= 1000000000L;
        deadline->tv_sec++;
    }
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, deadline, NULL) != 0)
        ;
}

int main(int argc, char **argv)
{
    int appends = argc > 1 ? atoi(argv[1]) : 100;
    struct timespec deadline;

    if (appends < 1 || appends > MAX_APPENDS)
        return 2;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    for (int i = 0; i < appends; i++) {
        retain_request();
        sleep_until_next_tick(&deadline, APPEND_MS);
    }
    printf("retained %d blocks until exit\n", nretained);
    fflush(stdout);
    release_all();
    return 0;
}
