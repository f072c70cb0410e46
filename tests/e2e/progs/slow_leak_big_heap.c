/*
 * A slow leak under a large, stable heap: 50 MiB of tables loaded at
 * start-up and kept (50 blocks of 1 MiB), and `remember_session` leaking
 * 4 KiB every 20 ms. The leak is 1/60 of the heap at the end, yet its own
 * series grows steadily: judged on its own, it is a leak; the tables are
 * start-up data.
 *
 * usage: slow_leak_big_heap [TICKS]   (default 100: about 2 s)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TABLES 50
#define TABLE_BYTES (1024 * 1024)
#define SESSION_BYTES 4096
#define TICK_MS 20
#define MAX_TICKS 1000

static char *tables[TABLES];
static char *sessions[MAX_TICKS];

__attribute__((noinline)) static void load_tables(void)
{
    for (int i = 0; i < TABLES; i++) {
        tables[i] = malloc(TABLE_BYTES);
        if (!tables[i])
            exit(1);
        /* Touch only the header: faulting in 50 MiB would make start-up
         * take longer than the first 5% of the run on a loaded machine. */
        memset(tables[i], 't', 64);
    }
}

__attribute__((noinline)) static void remember_session(int n)
{
    sessions[n] = malloc(SESSION_BYTES);
    if (!sessions[n])
        exit(1);
    memset(sessions[n], 's', SESSION_BYTES);
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
    int ticks = argc > 1 ? atoi(argv[1]) : 100;
    struct timespec deadline;
    unsigned long sum = 0;

    if (ticks < 1 || ticks > MAX_TICKS)
        return 2;
    load_tables();
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    for (int i = 0; i < ticks; i++) {
        remember_session(i);
        sum += (unsigned char)tables[i % TABLES][i];
        sleep_until_next_tick(&deadline, TICK_MS);
    }
    printf("%d sessions, checksum %lu\n", ticks, sum);
    return 0;
}
