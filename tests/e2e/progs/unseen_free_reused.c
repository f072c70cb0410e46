/* Frees the tracer cannot see (the C library's own __libc_free, which a
 * program that bypasses the interposed free would call), each followed by
 * a block at the same address: one small enough for a nursery slot, and
 * one of 17 MiB, too large for a slot, where a freed megabyte was. The
 * tracer counts each unseen free when its address comes back. Prints
 * whether each address came back. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

extern void __libc_free(void *ptr);

__attribute__((noinline)) static void *first_small(void)
{
    return malloc(48);
}

__attribute__((noinline)) static void *again_small(void)
{
    return malloc(48);
}

__attribute__((noinline)) static void *first_megabyte(void)
{
    return malloc(1u << 20);
}

__attribute__((noinline)) static void *again_large(void)
{
    return malloc(17u << 20);
}

int main(void)
{
    void *small, *small_again, *mib, *large;
    /* Blocks up to 32 MiB from the heap, not mmap: the 17 MiB block then
     * starts where the freed megabyte did, at the heap's top. */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    small = first_small();
    __libc_free(small);
    small_again = again_small();
    mib = first_megabyte();
    __libc_free(mib);
    large = again_large();
    printf("small %s\nlarge %s\n", small == small_again ? "same" : "moved",
           mib == large ? "same" : "moved");
    /* Both stay live: the report shows them, and only them. */
    return !small_again || !large;
}
