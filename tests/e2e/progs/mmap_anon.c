/* 3 anonymous mappings of 64 KiB kept from map_some, one mapped and
 * unmapped; with MTRACE_MMAP=1 they appear as an mmap site. */
#include <stdio.h>
#include <sys/mman.h>

/* Not static: the compiler may drop allocations nobody can see. */
void *kept[3];

__attribute__((noinline)) static void map_some(void)
{
    for (int i = 0; i < 3; i++) {
        kept[i] = mmap(NULL, 65536, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (kept[i] == MAP_FAILED)
            return;
    }
    void *gone = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(gone, 8192);
}

int main(void)
{
    map_some();
    puts("mapped");
    return 0;
}
