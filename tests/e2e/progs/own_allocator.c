/* Linked with jemalloc (-ljemalloc), whose malloc_usable_size the tracer
 * does not interpose: every block must stay jemalloc's. Each entry point
 * once per round, 200 rounds, every block measured and freed; 8 blocks of
 * 1 MiB, for which jemalloc maps memory of its own, held at once, then
 * freed; one block of 1000 bytes kept from keep_one. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *kept;

__attribute__((noinline)) static void keep_one(void)
{
    kept = malloc(1000);
}

int main(void)
{
    void *big[8];
    size_t usable = 0;
    for (int k = 0; k < 8; k++)
        if (!(big[k] = malloc(1 << 20)))
            return 1;
    for (int i = 0; i < 200; i++) {
        void *blocks[7], *aligned = NULL;
        size_t n = 16 + (size_t)i * 8;
        size_t asked[7] = { n, 4 * n, 2 * n, n, n, 256, n };
        blocks[0] = malloc(n);
        blocks[1] = calloc(4, n);
        blocks[2] = realloc(malloc(n), 2 * n);
        blocks[3] = memalign(64, n);
        blocks[4] = posix_memalign(&aligned, 128, n) == 0 ? aligned : NULL;
        blocks[5] = aligned_alloc(256, 256);
        blocks[6] = valloc(n);
        for (int b = 0; b < 7; b++) {
            if (!blocks[b])
                return 1;
            usable += malloc_usable_size(blocks[b]) >= asked[b] ? 1 : 0;
            free(blocks[b]);
        }
    }
    for (int k = 0; k < 8; k++)
        free(big[k]);
    keep_one();
    printf("own allocator: %zu of 1400 blocks as big as asked\n", usable);
    return 0;
}
