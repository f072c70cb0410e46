/* Call stacks of the shapes the tracer's own unwinder must walk or hand
 * to libunwind: allocations from signal handlers (above the kernel's
 * signal frame, on the thread's stack and on an alternate one), from
 * frames addressed from rbp because of alloca or a variable-length
 * array, and from deep recursion. Prints totals that do not depend on
 * the tracer. */
#include <alloca.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUNDS 600
#define KEPT_MAX (ROUNDS * 2)

/* Not static: blocks only stored here must not be optimized away. */
void *kept[KEPT_MAX];
int kept_count;
static volatile long checksum;

static void keep(void *p)
{
    if (kept_count < KEPT_MAX)
        kept[kept_count++] = p;
    else
        free(p);
}

/* Called synchronously through raise(), never inside malloc: allocating
 * here is safe. */
static void on_alarm(int signo)
{
    char *p = malloc(48);
    p[0] = (char)signo;
    checksum += p[0];
    keep(p);
}

static void on_usr1(int signo)
{
    char *p = malloc(80);
    p[0] = (char)signo;
    checksum += p[0];
    free(p);
}

__attribute__((noinline)) static long with_vla(int n)
{
    char buf[n];
    char *p;
    memset(buf, n & 0x7f, (size_t)n);
    p = malloc((size_t)n);
    memcpy(p, buf, (size_t)n);
    if (n % 7 == 0)
        raise(SIGALRM);   /* a handler frame above an rbp-based one */
    checksum += p[n - 1];
    free(p);
    return buf[n / 2];
}

__attribute__((noinline)) static long with_alloca(int n)
{
    char *buf = alloca((size_t)n);
    char *p;
    memset(buf, 1, (size_t)n);
    p = malloc((size_t)n * 2);
    p[0] = buf[n - 1];
    checksum += p[0];
    if (n % 5 == 0)
        keep(p);
    else
        free(p);
    return buf[0];
}

__attribute__((noinline)) static long recurse(int depth)
{
    char pad[depth % 3 + 1];
    long below;
    pad[0] = (char)depth;
    if (depth == 0) {
        char *p = malloc(24);
        p[0] = 1;
        below = p[0];
        keep(p);
        return below;
    }
    if (depth % 37 == 0)
        below = with_vla(depth % 50 + 8) + recurse(depth - 1);
    else
        below = recurse(depth - 1);
    return below + pad[0] % 2;
}

int main(void)
{
    struct sigaction alarm_action, usr1_action;
    stack_t alt;
    long total = 0;

    memset(&alarm_action, 0, sizeof alarm_action);
    alarm_action.sa_handler = on_alarm;
    sigaction(SIGALRM, &alarm_action, NULL);
    alt.ss_sp = malloc(1 << 16);
    alt.ss_size = 1 << 16;
    alt.ss_flags = 0;
    sigaltstack(&alt, NULL);
    memset(&usr1_action, 0, sizeof usr1_action);
    usr1_action.sa_handler = on_usr1;
    usr1_action.sa_flags = SA_ONSTACK;
    sigaction(SIGUSR1, &usr1_action, NULL);

    for (int round = 0; round < ROUNDS; round++) {
        total += with_vla(16 + round % 64);
        total += with_alloca(8 + round % 40);
        total += recurse(round % 160);
        if (round % 10 == 0)
            raise(SIGALRM);
        if (round % 10 == 5)
            raise(SIGUSR1);
    }
    printf("total %ld, checksum %ld, kept %d\n", total, checksum, kept_count);
    return 0;
}
