/* monitor.c - see monitor.h. Formats into a stack buffer: never malloc. */
#include "monitor.h"

#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <libunwind.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "live.h"
#include "record.h"
#include "sites.h"

/* The analyzer's defaults, so the line and the report agree. */
#define MONITOR_YOUNG_NS 1000000000ull
#define MONITOR_LARGE_BYTES 131072ull

struct bucket_sums {
    uint64_t now_ns;
    uint64_t young, old, large;
};

static void add_to_bucket(const struct live_block *block, void *arg)
{
    struct bucket_sums *sums = arg;
    uint64_t size = live_block_size(block);
    if (size >= MONITOR_LARGE_BYTES)
        sums->large += size;
    else if (sums->now_ns - block->birth_ns < MONITOR_YOUNG_NS)
        sums->young += size;
    else
        sums->old += size;
}

static const char *human_size(uint64_t bytes, char *out, size_t cap)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    double value = (double)bytes;
    unsigned unit = 0;
    while (value >= 1024 && unit + 1 < sizeof units / sizeof *units) {
        value /= 1024;
        unit++;
    }
    if (unit == 0)
        snprintf(out, cap, "%llu B", (unsigned long long)bytes);
    else
        snprintf(out, cap, "%.1f %s", value, units[unit]);
    return out;
}

/* "function+0x12 [module]": libunwind reads the object's full symbol
 * table (static functions too, which dladdr's dynamic table lacks); else
 * "[module]+0x1234", enough to find the site in the report afterwards. */
static void describe_frame(uintptr_t address, char *out, size_t cap)
{
    unw_addr_space_t space = unw_local_addr_space;
    unw_accessors_t *access = unw_get_accessors(space);
    unw_word_t offset = 0;
    char name[128];
    Dl_info info;
    const char *module = "?";

    if (dladdr((void *)(address - 1), &info) && info.dli_fname) {
        module = strrchr(info.dli_fname, '/');
        module = module ? module + 1 : info.dli_fname;
    }
    if (access && access->get_proc_name &&
        access->get_proc_name(space, address - 1, name, sizeof name, &offset,
                              NULL) == 0)
        snprintf(out, cap, "%s+0x%lx [%s]", name, (unsigned long)offset + 1,
                 module);
    else if (*module != '?')
        snprintf(out, cap, "[%s]+0x%lx", module,
                 (unsigned long)(address - (uintptr_t)info.dli_fbase));
    else
        snprintf(out, cap, "0x%lx", (unsigned long)address);
}

static uint64_t last_live_bytes;

void monitor_line(uint64_t now_ns, uint64_t live_bytes,
                  const struct site *top_site, int64_t top_growth)
{
    struct bucket_sums sums = { .now_ns = now_ns };
    char line[512], live[32], change[32], young[32], old[32], large[32];
    char growth[32], where[256] = "none";
    int64_t delta = (int64_t)(live_bytes - last_live_bytes);
    int n;

    record_for_each_live(add_to_bucket, &sums, false);
    if (top_site && top_growth > 0) {
        if (top_site->nframes > 0)
            describe_frame(top_site->frames[0], where, sizeof where);
        n = (int)strlen(where);
        snprintf(where + n, sizeof where - (size_t)n, " site #%u (+%s)",
                 top_site->id, human_size((uint64_t)top_growth, growth,
                                          sizeof growth));
    }
    n = snprintf(line, sizeof line,
                 "mtrace[%d]: %.2f s live %s (%c%s) young %s old %s large %s"
                 " top growth %s\n",
                 (int)getpid(), (double)now_ns / 1e9,
                 human_size(live_bytes, live, sizeof live),
                 delta < 0 ? '-' : '+',
                 human_size(delta < 0 ? (uint64_t)-delta : (uint64_t)delta,
                            change, sizeof change),
                 human_size(sums.young, young, sizeof young),
                 human_size(sums.old, old, sizeof old),
                 human_size(sums.large, large, sizeof large), where);
    last_live_bytes = live_bytes;
    if (n > 0 && write(STDERR_FILENO, line,
                       (size_t)n < sizeof line ? (size_t)n : sizeof line - 1) < 0)
        return;
}
