/*
 * live_blocks.c - the memory workload of `make bench`.
 *
 *     live_blocks COUNT
 *
 * Allocates COUNT small blocks (16 to 64 bytes) from four call sites,
 * keeps every one of them live at once, then frees them. The peak RSS of
 * a traced run minus a native one, divided by COUNT, is what the tracer
 * costs per live block: the benchmark's memory target (at most 32 bytes a
 * block plus the site table, which four sites make negligible).
 *
 * Prints "peak_live=COUNT" (the benchmark reads it) and a checksum of the
 * data written into the blocks, so that nothing is optimized away.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline, noclone))

NOINLINE static unsigned char *from_a(size_t n) { return malloc(n); }
NOINLINE static unsigned char *from_b(size_t n) { return malloc(n); }
NOINLINE static unsigned char *from_c(size_t n) { return calloc(1, n); }
NOINLINE static unsigned char *from_d(size_t n) { return malloc(n); }

int main(int argc, char **argv)
{
    size_t count = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    unsigned char **blocks = malloc(count * sizeof *blocks);
    uint64_t sum = 0;

    if (!blocks)
        return 1;
    for (size_t i = 0; i < count; i++) {
        size_t n = 16 + (i % 4) * 16;
        switch (i % 4) {
        case 0: blocks[i] = from_a(n); break;
        case 1: blocks[i] = from_b(n); break;
        case 2: blocks[i] = from_c(n); break;
        default: blocks[i] = from_d(n); break;
        }
        if (!blocks[i])
            return 1;
        blocks[i][0] = (unsigned char)i;
        blocks[i][n - 1] = (unsigned char)(i >> 8);
    }
    for (size_t i = 0; i < count; i++) {
        sum = sum * 31 + blocks[i][0] + blocks[i][16 + (i % 4) * 16 - 1];
        free(blocks[i]);
    }
    free(blocks);
    printf("live-blocks peak_live=%zu checksum=%016" PRIx64 "\n", count, sum);
    return 0;
}
