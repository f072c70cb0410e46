/* A library that keeps blocks the program asks it for, and frees them in
 * its destructor, as caches and registries do: libteardown.so, used by
 * teardown_main.c. keep_in_library(n) keeps n blocks of 100 bytes. */
#include <stdlib.h>

static void *kept[64];
static int kept_count;

void keep_in_library(int n)
{
    for (int i = 0; i < n && kept_count < 64; i++)
        kept[kept_count++] = malloc(100);
}

__attribute__((destructor)) static void release_kept(void)
{
    while (kept_count > 0)
        free(kept[--kept_count]);
}
