/* Run with MTRACE_MMAP=1: memory reserved inaccessible, then committed a
 * part at a time, as V8 and the JVM do with their heaps. A reservation of
 * 64 MiB (reserve); 1 MiB committed by mprotect three times (commit), one
 * of them again (no change), one decommitted by a PROT_NONE mapping made
 * over it (decommit); 1 MiB committed by a mapping made over the
 * reservation (commit_by_mapping). A second reservation of 8 MiB grown to
 * 16 MiB by mremap, wherever it moves, of which commit makes 1 MiB more
 * accessible; a heap block's page made read-only and back (no mapping).
 * Live at exit: commit's 3 MiB in 3 blocks (3 MiB at its peak: one was
 * decommitted before the last), commit_by_mapping's 1 MiB; the
 * reservations' untouched 74 MiB are no memory. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define MIB (1 << 20)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)

__attribute__((noinline)) static char *reserve(size_t mib)
{
    char *p = mmap(NULL, mib * MIB, PROT_NONE, ANON, -1, 0);
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
    /* MiB into the first reservation, then one into the second. */
    static const int commit_at[] = { 0, 4, 8, 0, -12 };
    char *heap = reserve(64), *other = reserve(8), *page = NULL;
    if (!heap || !other)
        return 1;
    other = mremap(other, 8 * MIB, 16 * MIB, MREMAP_MAYMOVE);
    if (other == MAP_FAILED)
        return 1;
    for (int i = 0; i < 5; i++) {   /* one call site: one site */
        if (i == 4 && decommit(heap + 4 * MIB))
            return 1;
        if (commit(commit_at[i] < 0 ? other - commit_at[i] * MIB
                                    : heap + commit_at[i] * MIB))
            return 1;
    }
    if (commit_by_mapping(heap + 16 * MIB) ||
        posix_memalign((void **)&page, 4096, 4096) != 0 ||
        mprotect(page, 4096, PROT_READ) != 0 ||
        mprotect(page, 4096, PROT_READ | PROT_WRITE) != 0)
        return 1;
    page[0] = 1;
    puts("committed 3 MiB of 64");
    return 0;
}
