/* Run with MTRACE_MMAP=1: memory reserved inaccessible, then committed a
 * part at a time, as V8 and the JVM do with their heaps. A reservation of
 * 64 MiB (reserve); 1 MiB committed by mprotect three times (commit), one
 * of them again (no change), one decommitted by a PROT_NONE mapping made
 * over it (decommit); 1 MiB committed by a mapping made over the
 * reservation (commit_by_mapping). Live at exit: commit's 2 MiB in 2
 * blocks (3 MiB at its peak), commit_by_mapping's 1 MiB; the
 * reservation's untouched 59 MiB are no memory. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define MIB (1 << 20)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)

__attribute__((noinline)) static char *reserve(void)
{
    char *p = mmap(NULL, 64 * MIB, PROT_NONE, ANON, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

__attribute__((noinline)) static int commit(char *at)
{
    if (mprotect(at, MIB, PROT_READ | PROT_WRITE) != 0)
        return -1;
    memset(at, 1, MIB);
    return 0;
}

__attribute__((noinline)) static int decommit(char *at)
{
    return mmap(at, MIB, PROT_NONE, ANON | MAP_FIXED, -1, 0) == at ? 0 : -1;
}

__attribute__((noinline)) static int commit_by_mapping(char *at)
{
    if (mmap(at, MIB, PROT_READ | PROT_WRITE, ANON | MAP_FIXED, -1, 0) != at)
        return -1;
    memset(at, 2, MIB);
    return 0;
}

int main(void)
{
    static const int commit_at[] = { 0, 4, 8, 0 };   /* MiB in */
    char *heap = reserve();
    if (!heap)
        return 1;
    for (int i = 0; i < 4; i++)    /* one call site: one site */
        if (commit(heap + commit_at[i] * MIB))
            return 1;
    if (decommit(heap + 4 * MIB) || commit_by_mapping(heap + 16 * MIB))
        return 1;
    puts("committed 3 MiB of 64");
    return 0;
}
