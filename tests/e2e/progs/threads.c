/* 4 threads x 100000 malloc/free pairs from `worker`, and 1000 blocks that
 * `producer` threads allocate and the main thread frees. Exact totals. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define THREADS 4
#define PAIRS 100000
#define HANDOFF 1000

static void *handoff[THREADS][HANDOFF];

__attribute__((noinline)) static void *worker(void *arg)
{
    long id = (long)arg;
    for (int i = 0; i < PAIRS; i++) {
        volatile char *p = malloc(16 + (size_t)(i % 64));
        p[0] = 1;
        free((void *)p);
    }
    for (int i = 0; i < HANDOFF; i++)
        handoff[id][i] = malloc(8);
    return NULL;
}

int main(void)
{
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < THREADS; i++)
        for (int j = 0; j < HANDOFF; j++)
            free(handoff[i][j]);
    puts("done");
    return 0;
}
