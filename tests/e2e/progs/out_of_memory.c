/* Runs into a 256 MiB address-space limit: `grow_until_refused` asks for
 * 1 MiB blocks until malloc says no, then the program reports roughly how
 * many it got and whether errno was ENOMEM. The output must be the same
 * with and without the tracer; the trace names the refused site. */
#include <errno.h>
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

int main(void)
{
    struct rlimit limit = { 256u << 20, 256u << 20 };
    int got, refused_errno;
    setrlimit(RLIMIT_AS, &limit);
    got = grow_until_refused();
    refused_errno = errno;
    for (int i = 0; i < got; i++)
        free(blocks[i]);
    printf("refused after %s blocks, errno %s\n",
           got > 100 && got < 256 ? "100-255" : "an unexpected number of",
           refused_errno == ENOMEM ? "ENOMEM" : "other");
    return 0;
}
