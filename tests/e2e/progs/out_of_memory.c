/* Runs into a 256 MiB address-space limit: `grow_until_refused` asks for
 * 1 MiB blocks until malloc says no, then the program reports roughly how
 * many it got and whether errno was ENOMEM. The output must be the same
 * with and without the tracer; the trace names the refused site. Then
 * `ask_absurdly` asks three times for SIZE_MAX / 2 bytes, refused too:
 * the sum of what was asked must not wrap around. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

static void *blocks[4096];

__attribute__((noinline)) static int grow_until_refused(void)
{
    int n = 0;
    while (n < 4096) {
        void *p = malloc(1 << 20);
        if (!p)
            break;
        blocks[n++] = p;
    }
    return n;
}

__attribute__((noinline)) static int ask_absurdly(void)
{
    int refused = 0;
    for (int i = 0; i < 3; i++) {
        /* volatile: the compiler may not assume malloc's answer. */
        void *volatile p = malloc(SIZE_MAX / 2);
        refused += p == NULL;
        free(p);
    }
    return refused;
}

int main(void)
{
    struct rlimit limit = { 256u << 20, 256u << 20 };
    int got, refused_errno;
    setrlimit(RLIMIT_AS, &limit);
    got = grow_until_refused();
    refused_errno = errno;
    for (int i = 0; i < got; i++)
        free(blocks[i]);
    printf("refused after %s blocks, errno %s; %d absurd requests refused\n",
           got > 100 && got < 256 ? "100-255" : "an unexpected number of",
           refused_errno == ENOMEM ? "ENOMEM" : "other", ask_absurdly());
    return 0;
}
