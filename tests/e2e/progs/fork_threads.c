/* Forks 100 times while 4 threads keep allocating and freeing: neither the
 * parent nor any child may deadlock on a lock another thread held at fork
 * time. Each child allocates a little and exits with status 0. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static atomic_int stop;

__attribute__((noinline)) static void *churn(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        void *volatile p = malloc(64);
        free(p);
    }
    return NULL;
}

int main(void)
{
    pthread_t t[4];
    int failures = 0;
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, churn, NULL);
    for (int round = 0; round < 100; round++) {
        pid_t pid = fork();
        if (pid == 0) {
            void *volatile p = malloc(100);
            free(p);
            _exit(0);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            failures++;
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    printf("%d failures\n", failures);
    return failures != 0;
}
