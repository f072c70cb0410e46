/* A library that keeps blocks the program asks it for, and frees them in
 * its destructor, as caches and registries do: libteardown.so, used by
 * teardown_main.c. keep_in_library(n) keeps n blocks of 100 bytes. Its
 * constructor, which ld.so runs before the tracer's, makes 4 blocks of 30
 * bytes that the destructor frees and leaks 2 of 70 (leak_at_load). */
#include <stdlib.h>

static void *kept[64], *loaded[4];
static int kept_count;
void *leaked_at_load[2];

__attribute__((noinline)) static void leak_at_load(void)
{
    for (int i = 0; i < 2; i++)
        leaked_at_load[i] = malloc(70);
}

__attribute__((constructor)) static void load(void)
{
    for (int i = 0; i < 4; i++)
        loaded[i] = malloc(30);
    leak_at_load();
}

void keep_in_library(int n)
{
    for (int i = 0; i < n && kept_count < 64; i++)
        kept[kept_count++] = malloc(100);
}

__attribute__((destructor)) static void release_kept(void)
{
    while (kept_count > 0)
        free(kept[--kept_count]);
    for (int i = 0; i < 4; i++)
        free(loaded[i]);
}
