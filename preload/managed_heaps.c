/* managed_heaps.c - see managed_heaps.h. */
#include "managed_heaps.h"

#include <stdlib.h>
#include <string.h>

#include "trace_format.h"

bool managed_heaps_malloc_chosen(const char *pythonmalloc)
{
    /* Of CPython's allocator names only these two send objects to malloc;
     * any other keeps pools (pymalloc, or mimalloc in 3.13), and none, or
     * an empty value, means the default, pymalloc. */
    return pythonmalloc && (strcmp(pythonmalloc, "malloc") == 0 ||
                            strcmp(pythonmalloc, "malloc_debug") == 0);
}

uint32_t managed_heaps_flags(void)
{
    return managed_heaps_malloc_chosen(getenv("PYTHONMALLOC"))
               ? MT_PROC_PYTHONMALLOC_MALLOC : 0;
}
