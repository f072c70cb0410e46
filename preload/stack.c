/* stack.c - see stack.h. */
#define UNW_LOCAL_ONLY
#include "stack.h"

#include <dlfcn.h>
#include <libunwind.h>
#include <link.h>
#include <stdatomic.h>
#include <string.h>

#include "log.h"
#include "options.h"
#include "trace_format.h"
#include "unwind.h"
#include "unwind_pipe.h"

/* Frames of the tracer itself: at most malloc -> record -> capture, but
 * the compiler may inline or not; we cut by address, not by count. */
#define STACK_OWN_FRAMES_MAX 8

static struct code_range own_text;

static _Atomic uint64_t checked_walks, checked_hits, mismatched_walks,
    mismatched_hits, fallback_walks;

static int find_code(struct dl_phdr_info *info, size_t size, void *data)
{
    struct code_range *range = data;
    uintptr_t addr = range->start;
    (void)size;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t start = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) &&
            addr >= start && addr < start + ph->p_memsz) {
            range->start = start;
            range->end = start + ph->p_memsz;
            return 1;
        }
    }
    return 0;
}

bool code_range_of(uintptr_t addr, struct code_range *out)
{
    struct code_range range = { addr, 0 };
    if (!dl_iterate_phdr(find_code, &range))
        return false;
    *out = range;
    return true;
}

void stack_init(void)
{
    code_range_of((uintptr_t)stack_init, &own_text);
    /* Before libunwind's first use, which opens its pipe. */
    unwind_pipe_init((uintptr_t)unw_set_caching_policy);
    unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
}

size_t stack_capture_slow(uintptr_t *frames, size_t depth)
{
    void *raw[MT_MAX_FRAMES + STACK_OWN_FRAMES_MAX];
    int n, skip = 0;
    size_t kept;

    /* Its pipe's numbers taken by the program: no stack rather than a
     * byte read from the program's file. */
    if (!unwind_pipe_ready())
        return 0;
    n = unw_backtrace(raw, (int)(depth + STACK_OWN_FRAMES_MAX));
    while (skip < n && (uintptr_t)raw[skip] >= own_text.start &&
           (uintptr_t)raw[skip] < own_text.end)
        skip++;
    kept = n > skip ? (size_t)(n - skip) : 0;
    if (kept > depth)
        kept = depth;
    memcpy(frames, raw + skip, kept * sizeof *frames);
    return kept;
}

size_t stack_capture(uintptr_t entry_slot, uintptr_t *frames,
                     uintptr_t *slots, struct unwind_reads *reads,
                     bool *have_slots, size_t depth)
{
    int n = unwind_with_reads(entry_slot, frames, slots, depth,
                              own_text.start, own_text.end, reads);
    if (n >= 0) {
        *have_slots = true;
        if (mt_opt.check_unwind)
            stack_check(frames, (size_t)n, depth, false);
        return (size_t)n;
    }
    *have_slots = false;
    if (mt_opt.check_unwind)
        atomic_fetch_add(&fallback_walks, 1);
    return stack_capture_slow(frames, depth);
}

void stack_check(const uintptr_t *frames, size_t n, size_t depth,
                 bool from_cache)
{
    uintptr_t truth[MT_MAX_FRAMES];
    size_t m = stack_capture_slow(truth, depth);
    bool same = m == n && memcmp(truth, frames, n * sizeof *frames) == 0;

    atomic_fetch_add(from_cache ? &checked_hits : &checked_walks, 1);
    if (!same)
        atomic_fetch_add(from_cache ? &mismatched_hits : &mismatched_walks, 1);
}

void stack_check_report(void)
{
    if (!mt_opt.check_unwind)
        return;
    mt_log("unwind check: %llu walks, %llu differ from libunwind; "
           "%llu cache hits, %llu differ; %llu stacks left to libunwind",
           (unsigned long long)atomic_load(&checked_walks),
           (unsigned long long)atomic_load(&mismatched_walks),
           (unsigned long long)atomic_load(&checked_hits),
           (unsigned long long)atomic_load(&mismatched_hits),
           (unsigned long long)atomic_load(&fallback_walks));
}
