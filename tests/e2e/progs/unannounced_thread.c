/* A thread the C library starts behind the tracer's back (a SIGEV_THREAD
 * timer's) frees 200 young blocks the main thread allocated, while the
 * main thread allocates nothing: every free must be seen (the nursery,
 * preload/nursery.h, is emptied by that thread's first call). */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BLOCKS 200

static void *blocks[BLOCKS];
static atomic_int done;

__attribute__((noinline)) static void *young_for_timer(void)
{
    return malloc(64);
}

static void on_timer(union sigval unused)
{
    (void)unused;
    if (atomic_exchange(&done, 1))
        return;
    for (int i = 0; i < BLOCKS; i++)
        free(blocks[i]);
}

int main(void)
{
    struct timespec pause = { 0, 1000000 };
    struct itimerspec every_ms = { { 0, 1000000 }, { 0, 1000000 } };
    struct sigevent sev;
    timer_t timer;

    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD;
    sev.sigev_notify_function = on_timer;
    if (timer_create(CLOCK_MONOTONIC, &sev, &timer) != 0)
        return 2;
    for (int i = 0; i < BLOCKS; i++)
        blocks[i] = young_for_timer();
    if (timer_settime(timer, 0, &every_ms, NULL) != 0)
        return 2;
    while (!atomic_load(&done))
        nanosleep(&pause, NULL);
    timer_delete(timer);
    puts("done");
    return 0;
}
