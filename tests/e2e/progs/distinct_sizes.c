/*
 * Millions of allocations of all different sizes: COUNT (default
 * 3,000,000) mallocs whose sizes walk every byte count from 1 B to 64 KiB
 * in a scrambled order, each freed LIVE (1000) allocations later, from one
 * call site. A tracer that kept anything per distinct size would grow with
 * them; mtrace's trace and memory must not.
 *
 * usage: distinct_sizes [COUNT]
 * Prints "allocs A frees F checksum C" (stdout has a static buffer: no
 * allocation of its own).
 */
#include <stdio.h>
#include <stdlib.h>

#define MAX_SIZE 65536u
#define LIVE 1000
/* Odd, so i * STEP mod 2^16 visits every residue once per 65,536 calls. */
#define STEP 40503u

static unsigned char *ring[LIVE];
static char out_buf[4096];

__attribute__((noipa)) static unsigned char *allocate(size_t size)
{
    return malloc(size);
}

int main(int argc, char **argv)
{
    unsigned long count = argc > 1 ? strtoul(argv[1], NULL, 10) : 3000000;
    unsigned long allocs = 0, frees = 0;
    unsigned sum = 0;

    setvbuf(stdout, out_buf, _IOFBF, sizeof out_buf);
    for (unsigned long i = 0; i < count; i++) {
        unsigned char **slot = &ring[i % LIVE];
        size_t size = 1 + (size_t)((i * STEP) % MAX_SIZE);
        if (*slot) {
            sum += **slot;
            free(*slot);
            frees++;
        }
        *slot = allocate(size);
        if (!*slot)
            return 1;
        /* Touch both ends, as a program filling its buffer would. */
        (*slot)[0] = (unsigned char)i;
        (*slot)[size - 1] = (unsigned char)size;
        allocs++;
    }
    for (unsigned i = 0; i < LIVE; i++) {
        if (ring[i]) {
            free(ring[i]);
            frees++;
        }
    }
    printf("allocs %lu frees %lu checksum %u\n", allocs, frees, sum);
    return 0;
}
