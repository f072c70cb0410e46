/* A library the dl_host test loads and unloads: it keeps blocks that
 * outlive it, so their stacks point into a module no longer mapped. */
#include <stdlib.h>

void *plugin_kept[64];

__attribute__((noinline)) void plugin_alloc(int n, int offset)
{
    for (int i = 0; i < n; i++)
        plugin_kept[offset + i] = malloc(200);
}

void **plugin_blocks(void)
{
    return plugin_kept;
}
