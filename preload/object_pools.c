/* object_pools.c - see object_pools.h. */
#include "object_pools.h"

#include <link.h>
#include <stdlib.h>
#include <string.h>

bool object_pools_chosen(const char *pythonmalloc)
{
    /* Of CPython's allocator names only these two send objects to malloc;
     * any other keeps pools (pymalloc, or mimalloc in the free-threaded
     * builds), and none, or an empty value, means the default, pymalloc. */
    return !pythonmalloc || (strcmp(pythonmalloc, "malloc") != 0 &&
                             strcmp(pythonmalloc, "malloc_debug") != 0);
}

static bool named_python(const char *path, const char *prefix)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    return strncmp(base, prefix, strlen(prefix)) == 0;
}

static int find_libpython(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    *(bool *)arg = info->dlpi_name && named_python(info->dlpi_name,
                                                   "libpython");
    return *(bool *)arg;
}

bool object_pools_in_use(const char *exe_path)
{
    /* By name: looking a CPython function up (dlsym) would leave the
     * program a dlerror() of ours when it is not there. */
    bool python = named_python(exe_path, "python");
    if (!python)
        dl_iterate_phdr(find_libpython, &python);
    return python && object_pools_chosen(getenv("PYTHONMALLOC"));
}
