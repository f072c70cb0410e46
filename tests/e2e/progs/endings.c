/* Ends in the way argv[1] names, after keeping 4 blocks of 1000 bytes:
 * "exit" (status 0), "_exit" (status 7), "abort" (SIGABRT), "segv"
 * (SIGSEGV), "sleep" (allocates forever, for SIGKILL), "none" (never
 * allocates, returns 0), "return3" (main returns 3), "exit4" (exit(4)
 * from a function), "exit_minus1" (exit(-1): status 255), "errx5" (errx:
 * the C library calls exit(5)),
 * "quick_exit6" (quick_exit(6); its handler keeps one more block),
 * "quick_exit_from_handler USEC" (allocates until a timer's handler
 * calls quick_exit(9) USEC microseconds in, wherever the program is,
 * the tracer's own code included). */
#include <err.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* Not static: the compiler may drop mallocs whose result nobody can see. */
void *kept[100000];

__attribute__((noinline)) static void keep_four(void) { for (int i = 0; i < 4; i++) kept[i] = malloc(1000); }

__attribute__((noinline)) static void tick(int i)
{
    kept[i % 100000] = malloc(64);
}

__attribute__((noinline)) static void exit_from_a_function(int status)
{
    exit(status);
}

__attribute__((noinline)) static void keep_at_quick_exit(void)
{
    kept[4] = malloc(1000);
}

static void quick_exit_now(int sig)
{
    (void)sig;
    quick_exit(9);
}

__attribute__((noinline)) static int allocate_until_the_timer(long usec)
{
    struct itimerval when = { { 0, 0 }, { 0, usec } };
    signal(SIGALRM, quick_exit_now);
    setitimer(ITIMER_REAL, &when, NULL);
    for (unsigned i = 4;; i++) {
        free(kept[i % 100000]);
        kept[i % 100000] = malloc(16 + i % 4096);
    }
}

int main(int argc, char **argv)
{
    const char *how = argc > 1 ? argv[1] : "exit";
    if (strcmp(how, "none") == 0)
        return 0;
    keep_four();
    if (strcmp(how, "_exit") == 0)
        _exit(7);
    if (strcmp(how, "return3") == 0)
        return 3;
    if (strcmp(how, "exit4") == 0)
        exit_from_a_function(4);
    if (strcmp(how, "exit_minus1") == 0)
        exit_from_a_function(-1);
    if (strcmp(how, "errx5") == 0)
        errx(5, "ending as asked");
    if (strcmp(how, "quick_exit_from_handler") == 0 && argc > 2)
        return allocate_until_the_timer(atol(argv[2]));
    if (strcmp(how, "quick_exit6") == 0) {
        at_quick_exit(keep_at_quick_exit);
        quick_exit(6);
    }
    if (strcmp(how, "abort") == 0)
        abort();
    if (strcmp(how, "segv") == 0)
        return *(volatile int *)(argc - 2 + (long)0);   /* NULL deref */
    if (strcmp(how, "sleep") == 0) {
        struct timespec ms = { 0, 1000000 };
        for (int i = 4;; i++) {
            tick(i);
            nanosleep(&ms, NULL);
        }
    }
    return 0;
}
