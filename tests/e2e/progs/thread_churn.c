/* Thousands of short-lived threads, one after another, each allocating
 * from the same call chain: the tracer's per-thread memory (its stack
 * cache) must be handed from each exiting thread to the next, not kept
 * for each. Every thread keeps one block of the ten it allocates.
 * "thread_churn N small": the threads get the smallest stack allowed,
 * which the tracer's static TLS comes out of. */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PER_THREAD 10

static void *kept[100000];

__attribute__((noinline)) static void *leaf(size_t n) { return malloc(n); }
__attribute__((noinline)) static void *middle(size_t n) { return leaf(n); }

static void *thread_body(void *arg)
{
    void *blocks[PER_THREAD];
    long index = (long)arg;
    for (int i = 0; i < PER_THREAD; i++)
        blocks[i] = middle(32 + (size_t)i);
    for (int i = 1; i < PER_THREAD; i++)
        free(blocks[i]);
    kept[index] = blocks[0];
    return NULL;
}

int main(int argc, char **argv)
{
    long threads = argc > 1 ? atol(argv[1]) : 1000;
    pthread_attr_t attr;
    if (threads < 1 || threads > 100000)
        return 2;
    pthread_attr_init(&attr);
    if (argc > 2 && strcmp(argv[2], "small") == 0 &&
        pthread_attr_setstacksize(&attr, PTHREAD_STACK_MIN) != 0)
        return 3;
    for (long t = 0; t < threads; t++) {
        pthread_t id;
        if (pthread_create(&id, &attr, thread_body, (void *)t) != 0)
            return 1;
        pthread_join(id, NULL);
    }
    printf("threads %ld kept %ld\n", threads, threads);
    return 0;
}
