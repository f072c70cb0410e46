/* Blocks the program made unreadable, for the reachability scan at exit
 * (run with MTRACE_MMAP=1 MTRACE_REACHABILITY=1): a PROT_NONE mapping and
 * a heap block whose second page is protected, both reached from roots.
 * Pointers in the readable part of each still count; one block is lost.
 *   map_readable      a 64 KiB mapping holding the only pointer to ...
 *   keep_in_mapping   ... a 100-byte block: reachable
 *   map_unreadable    a 1 MiB mapping made PROT_NONE: reachable, never
 *                     read
 *   guarded_block     8 KiB, second page PROT_NONE; its first page holds
 *                     the only pointer to ...
 *   keep_in_guarded   ... a 40-byte block: reachable
 *   lose_one          64 bytes, pointer dropped: unreachable */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

void *roots[3];

__attribute__((noinline)) static void *map_readable(void)
{
    return mmap(NULL, 65536, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

__attribute__((noinline)) static void *keep_in_mapping(void)
{
    return malloc(100);
}

/* Mapped readable, then protected: a block (a mapping made PROT_NONE is
 * a reservation, not traced until part of it is made accessible). */
__attribute__((noinline)) static void *map_unreadable(void)
{
    void *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED || mprotect(p, 1 << 20, PROT_NONE) != 0)
        return MAP_FAILED;
    return p;
}

__attribute__((noinline)) static void *guarded_block(void)
{
    void *p = NULL;
    return posix_memalign(&p, 4096, 8192) == 0 ? p : NULL;
}

__attribute__((noinline)) static void *keep_in_guarded(void)
{
    return malloc(40);
}

__attribute__((noinline)) static void lose_one(void)
{
    /* volatile: the compiler may drop a block nobody reads. */
    void *volatile p = malloc(64);
    p = NULL;
    (void)p;
}

int main(void)
{
    void **mapping = map_readable(), **guarded = guarded_block();
    if (mapping == MAP_FAILED || !guarded)
        return 1;
    mapping[5] = keep_in_mapping();
    roots[0] = mapping;
    roots[1] = map_unreadable();
    guarded[7] = keep_in_guarded();
    if (mprotect((char *)guarded + 4096, 4096, PROT_NONE) != 0)
        return 1;
    roots[2] = guarded;
    lose_one();
    puts("done");
    return 0;
}
