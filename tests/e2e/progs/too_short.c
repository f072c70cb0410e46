/*
 * A program that runs about 50 ms, keeping a 1 KiB block every 5 ms: it
 * never frees them, but with a 100 ms snapshot interval the recording is
 * far too short to tell growth from a few start-up steps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BLOCKS 10
#define BLOCK_BYTES 1024

static char *kept[BLOCKS];

__attribute__((noinline)) static void keep_block(int n)
{
    kept[n] = malloc(BLOCK_BYTES);
    if (!kept[n])
        exit(1);
    memset(kept[n], 'k', BLOCK_BYTES);
}

int main(void)
{
    struct timespec pause = { 0, 5 * 1000000L };

    for (int i = 0; i < BLOCKS; i++) {
        keep_block(i);
        nanosleep(&pause, NULL);
    }
    printf("kept %d blocks\n", BLOCKS);
    return 0;
}
