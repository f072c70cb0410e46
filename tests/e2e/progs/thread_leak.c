/*
 * A leak in one of four threads: three workers churn (allocate, use and
 * free per job), the fourth, `audit_thread`, keeps an 8 KiB entry every
 * 20 ms in a log that is never trimmed. Only audit_append leaks. The
 * workers stop when the auditor is done, so that the leak grows for the
 * whole run however the threads are scheduled.
 *
 * usage: thread_leak [TICKS]   (default 100: about 2 s)
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WORKERS 3
#define TICK_MS 20
#define AUDIT_BYTES (8 * 1024)
#define MAX_TICKS 1000

static int ticks;
static atomic_bool audit_done;
static char *audit_log[MAX_TICKS];

__attribute__((noinline)) static unsigned do_job(int job)
{
    unsigned sum = 0;
    for (int i = 0; i < 50; i++) {
        size_t size = 256 + (size_t)((job * 31 + i * 17) % 4096);
        unsigned char *scratch = malloc(size);
        if (!scratch)
            exit(1);
        memset(scratch, i, size);
        sum += scratch[size - 1];
        free(scratch);
    }
    return sum;
}

static void *worker_thread(void *arg)
{
    struct timespec pause = { 0, TICK_MS * 1000000L / 2 };
    unsigned *sum = arg;

    for (int t = 0; !atomic_load(&audit_done); t++) {
        *sum += do_job(t);
        nanosleep(&pause, NULL);
    }
    return NULL;
}

__attribute__((noinline)) static void audit_append(int n)
{
    audit_log[n] = malloc(AUDIT_BYTES);
    if (!audit_log[n])
        exit(1);
    memset(audit_log[n], 'a', AUDIT_BYTES);
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

static void *audit_thread(void *arg)
{
    struct timespec deadline;

    (void)arg;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    for (int t = 0; t < ticks; t++) {
        audit_append(t);
        sleep_until_next_tick(&deadline, TICK_MS);
    }
    atomic_store(&audit_done, true);
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t workers[WORKERS], auditor;
    unsigned sums[WORKERS] = { 0 }, total = 0;

    ticks = argc > 1 ? atoi(argv[1]) : 100;
    if (ticks < 1 || ticks > MAX_TICKS)
        return 2;
    for (int i = 0; i < WORKERS; i++)
        if (pthread_create(&workers[i], NULL, worker_thread, &sums[i]) != 0)
            return 1;
    if (pthread_create(&auditor, NULL, audit_thread, NULL) != 0)
        return 1;
    for (int i = 0; i < WORKERS; i++) {
        pthread_join(workers[i], NULL);
        total += sums[i];
    }
    pthread_join(auditor, NULL);
    printf("%d audit entries, checksum %u\n", ticks, total);
    return 0;
}
