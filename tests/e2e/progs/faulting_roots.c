/* Memory that faults when the reachability scan reads it at exit
 * (MTRACE_REACHABILITY=1): a shared file mapping whose file was then
 * truncated, and a shared anonymous mapping grown by mremap past its
 * object (as Python's mmap.resize leaves it): reading either raises
 * SIGBUS. The scan must skip them and still judge the blocks:
 *   keep_global   reachable from a global
 *   lose_one      pointer dropped: unreachable */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

void *kept;

__attribute__((noinline)) static void keep_global(void) { kept = malloc(72); }

__attribute__((noinline)) static void lose_one(void)
{
    /* volatile: the compiler may drop a block nobody reads. */
    void *volatile p = malloc(64);
    p = NULL;
    (void)p;
}

int main(void)
{
    int fd = open("truncated.bin", O_RDWR | O_CREAT | O_TRUNC, 0600);
    char *file, *grown;
    if (fd < 0 || ftruncate(fd, 1 << 16) != 0)
        return 1;
    file = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    grown = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (file == MAP_FAILED || grown == MAP_FAILED)
        return 1;
    file[0] = 1;
    grown[0] = 1;
    if (ftruncate(fd, 0) != 0)       /* the mapping now lies past the end */
        return 1;
    grown = mremap(grown, 1 << 16, 1 << 20, MREMAP_MAYMOVE);
    if (grown == MAP_FAILED)
        return 1;
    keep_global();
    lose_one();
    puts("done");
    return 0;
}
