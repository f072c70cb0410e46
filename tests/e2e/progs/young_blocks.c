/* The nursery's ground truth (preload/nursery.h): blocks that die young,
 * blocks that outlive it, a phase that makes it rest and one that wakes
 * it, blocks too large for a slot, young blocks freed by a thread created
 * after them, and a fork child freeing young blocks it inherited. Prints
 * its pid and its child's. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define KEPT 100000
#define LEAKED 100
#define SHORT_PAIRS 200000
#define RING 100000
#define RING_TURNS 100000
#define HANDED 50
#define FORKED 20
#define HUGE 4
#define HUGE_SIZE (17u << 20)      /* above a slot's 16 MiB */

static void *kept[KEPT], *ring[RING], *handed[HANDED], *forked[FORKED],
    *huge[HUGE];

__attribute__((noinline)) static void *keep_long(void) { return malloc(48); }
__attribute__((noinline)) static void *churn_short(void) { return malloc(32); }
__attribute__((noinline)) static void *churn_long(void) { return malloc(64); }
__attribute__((noinline)) static void *young_handoff(void) { return malloc(24); }
__attribute__((noinline)) static void *before_fork(void) { return malloc(40); }
__attribute__((noinline)) static void *too_large(void)
{
    return malloc(HUGE_SIZE);
}

static void short_lived(void)
{
    for (int i = 0; i < SHORT_PAIRS; i++) {
        volatile char *p = churn_short();
        p[0] = 1;
        free((void *)p);
    }
}

static void *free_handed(void *arg)
{
    (void)arg;
    for (int i = 0; i < HANDED; i++)
        free(handed[i]);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pid_t child;
    int status;

    for (int i = 0; i < KEPT; i++)
        kept[i] = keep_long();
    short_lived();
    /* The ring spans several times the nursery's megabyte of slots, so
     * its blocks push each other out: the nursery rests (already while
     * the ring is built, as that only allocates, and again whenever it
     * wakes here), and wakes for the short-lived blocks after. */
    for (int i = 0; i < RING; i++)
        ring[i] = churn_long();
    for (int i = 0; i < RING_TURNS; i++) {
        free(ring[i % RING]);
        ring[i % RING] = churn_long();
    }
    short_lived();

    for (int i = 0; i < HUGE; i++)
        huge[i] = too_large();
    for (int i = 0; i < HUGE; i += 2)
        free(huge[i]);

    for (int i = 0; i < FORKED; i++)
        forked[i] = before_fork();
    fflush(stdout);
    child = fork();
    if (child == 0) {
        for (int i = 0; i < FORKED / 2; i++)
            free(forked[i]);
        printf("child %d\n", (int)getpid());
        exit(0);
    }
    waitpid(child, &status, 0);
    for (int i = 0; i < FORKED; i++)
        free(forked[i]);

    for (int i = 0; i < HANDED; i++)
        handed[i] = young_handoff();
    pthread_create(&t, NULL, free_handed, NULL);
    pthread_join(t, NULL);

    for (int i = 1; i < HUGE; i += 2)
        free(huge[i]);
    for (int i = 0; i < RING; i++)
        free(ring[i]);
    for (int i = LEAKED; i < KEPT; i++)
        free(kept[i]);
    printf("parent %d\n", (int)getpid());
    return 0;
}
