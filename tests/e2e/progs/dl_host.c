/* Loads argv[1] (dl_plugin) 10 times; each time the plugin allocates 3
 * blocks; the host keeps the first round's blocks and frees the rest, then
 * unloads the plugin before the next snapshot. Survivors: 3 x 200 bytes
 * from plugin_alloc, in a module that is gone at exit. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

void *kept[3];

int main(int argc, char **argv)
{
    for (int round = 0; round < 10; round++) {
        void *lib = dlopen(argv[1], RTLD_NOW);
        void (*plugin_alloc)(int, int);
        void **(*plugin_blocks)(void);
        if (!lib || argc < 2) {
            fprintf(stderr, "dlopen: %s\n", dlerror());
            return 1;
        }
        plugin_alloc = (void (*)(int, int))dlsym(lib, "plugin_alloc");
        plugin_blocks = (void **(*)(void))dlsym(lib, "plugin_blocks");
        plugin_alloc(3, 0);
        for (int i = 0; i < 3; i++) {
            if (round == 0)
                kept[i] = plugin_blocks()[i];
            else
                free(plugin_blocks()[i]);
        }
        dlclose(lib);
    }
    puts("unloaded");
    return 0;
}
