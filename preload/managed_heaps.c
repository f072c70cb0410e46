/* managed_heaps.c - see managed_heaps.h. */
#include "managed_heaps.h"

#include <link.h>
#include <stdlib.h>
#include <string.h>

#include "trace_format.h"

bool managed_heaps_pools_chosen(const char *pythonmalloc)
{
    /* Of CPython's allocator names only these two send objects to malloc;
     * any other keeps pools (pymalloc, or mimalloc in the free-threaded
     * builds), and none, or an empty value, means the default, pymalloc. */
    return !pythonmalloc || (strcmp(pythonmalloc, "malloc") != 0 &&
                             strcmp(pythonmalloc, "malloc_debug") != 0);
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

struct runtimes {
    bool python, node;
};

static void note_runtime(const char *path, struct runtimes *found)
{
    const char *name = base_name(path);
    found->python |= starts_with(name, "libpython");
    found->node |= starts_with(name, "libnode.so");
}

static int each_module(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    if (info->dlpi_name)
        note_runtime(info->dlpi_name, arg);
    return 0;
}

uint32_t managed_heaps_flags(const char *exe_path)
{
    /* By name: looking a runtime's function up (dlsym) would leave the
     * program a dlerror() of ours where it is not there. */
    const char *exe = base_name(exe_path);
    struct runtimes found = {
        .python = starts_with(exe, "python"),
        .node = strcmp(exe, "node") == 0 || strcmp(exe, "nodejs") == 0,
    };
    uint32_t flags = 0;

    dl_iterate_phdr(each_module, &found);
    if (found.python && managed_heaps_pools_chosen(getenv("PYTHONMALLOC")))
        flags |= MT_PROC_OBJECT_POOLS;
    if (found.node)
        flags |= MT_PROC_JS_HEAP;
    return flags;
}
