/* Roots in large mappings touched in one page only, for the
 * reachability scan (MTRACE_REACHABILITY=1), which reads large private
 * mappings only where pages were touched:
 *   keep_far      the only pointer to it sits 512 MiB into a 1 GiB
 *                 private mapping: reachable
 *   keep_shared   the only pointer to it is in a 1 MiB shared mapping:
 *                 reachable
 *   lose_one      pointer dropped: unreachable */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

__attribute__((noinline)) static void *keep_far(void) { return malloc(80); }
__attribute__((noinline)) static void *keep_shared(void) { return malloc(48); }

__attribute__((noinline)) static void lose_one(void)
{
    /* volatile: the compiler may drop a block nobody reads. */
    void *volatile p = malloc(64);
    p = NULL;
    (void)p;
}

int main(void)
{
    size_t big = (size_t)1 << 30;
    char *reserved = mmap(NULL, big, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    char *shared = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (reserved == MAP_FAILED || shared == MAP_FAILED)
        return 1;
    *(void **)(reserved + big / 2 + 104) = keep_far();
    *(void **)(shared + 4096 * 100 + 8) = keep_shared();
    lose_one();
    puts("done");
    return 0;
}
