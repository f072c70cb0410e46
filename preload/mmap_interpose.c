/*
 * mmap_interpose.c - mmap, munmap, mremap and mprotect, which
 * libmtrace.so exports: with MTRACE_MMAP=1, anonymous mappings are traced
 * as blocks of their site (mmap_ranges.h); the program's own allocator's
 * mappings are noted for the reachability scan (allocator_maps.h). errno
 * is what the real call left.
 *
 * A mapping made PROT_NONE is a reservation of addresses, not memory: V8
 * and the JVM reserve gigabytes that way (node reported 529 MiB live at a
 * peak RSS of 64 MiB). Its ranges are kept aside, untraced, and a part of
 * them becomes a block of the site that makes it accessible, by mprotect
 * or by a mapping made over it; a PROT_NONE mapping made over a block
 * (a decommit) ends it. A block made PROT_NONE by mprotect stays counted.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "allocator_maps.h"
#include "range_set.h"
#include "entry.h"
#include "mmap_ranges.h"
#include "options.h"
#include "real_alloc.h"
#include "record.h"
#include "tracer.h"

/* Anonymous mappings, when MTRACE_MMAP=1: each counts like a block of the
 * site that mapped it, piece by piece as parts of it are unmapped
 * (mmap_ranges.h). An allocator's own mappings are not counted twice:
 * glibc's malloc maps through an internal call, and the calls of any
 * other are let through (real_alloc_owns_code). */

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4     /* Linux 5.7; glibc headers before 2.32 */
#endif

/* caller: the return address of the entry point's call. */
static inline bool mmap_traced(uintptr_t caller)
{
    return mt_opt.mmap && tracer_should_record() &&
           !real_alloc_owns_code(caller);
}

static uint64_t whole_pages(uint64_t len)
{
    uint64_t page = (uint64_t)getpagesize();
    return len > UINT64_MAX - (page - 1) ? UINT64_MAX & ~(page - 1)
                                         : (len + page - 1) & ~(page - 1);
}

/* The sink's arg: whether anything was counted. */
static void count_mapping_event(const struct mmap_event *event, void *arg)
{
    *(bool *)arg = true;
    switch (event->kind) {
    case MMAP_EV_ADDED:
        record_block_added(event->site, event->bytes);
        break;
    case MMAP_EV_SPLIT:
        record_block_split(event->site);
        break;
    case MMAP_EV_TRIMMED:
        record_bytes_released(event->site, event->bytes, false);
        break;
    case MMAP_EV_FREED:
        record_bytes_released(event->site, event->bytes, true);
        break;
    case MMAP_EV_GROWN:
        record_block_grown(event->site, event->bytes);
        break;
    }
}

/* The reservations, under mmap_ranges_lock. */
static struct range_set reserved;

/* The lock is held across the system call: no other thread may map an
 * address between the kernel freeing it and the index letting it go.
 * tracer_in_hook stays set meanwhile, so that a signal handler's mmap on
 * this thread passes through rather than wait for the lock. The system
 * call starts with the program's errno and its errno is what it returns
 * with: mapping_call_lock and mapping_call_end do both for each wrapper. */
static inline void mapping_call_lock(int program_errno)
{
    spin_lock(&mmap_ranges_lock);
    errno = program_errno;
}

static inline void mapping_call_end(bool counted, uint64_t now,
                                    int call_errno)
{
    spin_unlock(&mmap_ranges_lock);
    if (counted)
        record_mappings_changed(now);
    tracer_in_hook = 0;
    errno = call_errno;
}

static __attribute__((noinline)) void *
traced_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t offset,
            uintptr_t entry_slot)
{
    int saved_errno = errno;
    bool counted = false;
    struct mmap_sink sink = { count_mapping_event, &counted };
    uint32_t site = 0;
    uint64_t now;
    void *ptr;
    bool reservation = (flags & MAP_ANONYMOUS) && prot == PROT_NONE;

    tracer_in_hook = 1;
    /* Unwinding may wait for the loader's lock: never under ours. */
    if ((flags & MAP_ANONYMOUS) && !reservation)
        site = record_site_of_mapping(entry_slot);
    now = record_now_ns();
    mapping_call_lock(saved_errno);
    ptr = (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, offset);
    saved_errno = errno;
    if (ptr != MAP_FAILED) {
        struct mmap_piece piece = { (uintptr_t)ptr, len, now, site };
        /* Either way, what was mapped there before (MAP_FIXED) is gone. */
        if (site)
            mmap_ranges_map(&piece, whole_pages(len), &sink);
        else
            mmap_ranges_unmap((uintptr_t)ptr, whole_pages(len), &sink);
        range_set_remove(&reserved, (uintptr_t)ptr, whole_pages(len));
        if (reservation)
            range_set_add(&reserved, (uintptr_t)ptr, whole_pages(len));
    }
    mapping_call_end(counted, now, saved_errno);
    return ptr;
}

/* The program's own allocator maps memory for itself: for the
 * reachability scan, which must not read its caches as roots. Noted
 * whether or not the scan was asked for: the allocator maps its first
 * memory in the program's first malloc, before our options are read.
 * Not once the tracer is off (MTRACE_DISABLE): a pass-through does
 * nothing of its own. */
static inline bool allocator_mapping(uintptr_t caller)
{
    int state = atomic_load_explicit(&tracer_state, memory_order_relaxed);
    return (state == TRACER_ACTIVE || state == TRACER_UNSTARTED) &&
           real_alloc_owns_code(caller);
}

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd,
                  off_t offset)
{
    uintptr_t caller = (uintptr_t)__builtin_return_address(0);
    void *ptr;
    if (mmap_traced(caller))
        return traced_mmap(addr, len, prot, flags, fd, offset, ENTRY_SLOT());
    ptr = (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, offset);
    if (allocator_mapping(caller) && ptr != MAP_FAILED)
        allocator_maps_add((uintptr_t)ptr, whole_pages(len));
    return ptr;
}

EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd,
                    off_t offset) __attribute__((alias("mmap")));

static __attribute__((noinline)) int traced_munmap(void *addr, size_t len)
{
    int rc, saved_errno = errno;
    bool counted = false;
    struct mmap_sink sink = { count_mapping_event, &counted };
    uint64_t now;

    tracer_in_hook = 1;
    now = record_now_ns();
    mapping_call_lock(saved_errno);
    rc = (int)syscall(SYS_munmap, addr, len);
    saved_errno = errno;
    if (rc == 0) {
        mmap_ranges_unmap((uintptr_t)addr, whole_pages(len), &sink);
        range_set_remove(&reserved, (uintptr_t)addr, whole_pages(len));
    }
    mapping_call_end(counted, now, saved_errno);
    return rc;
}

EXPORT int munmap(void *addr, size_t len)
{
    uintptr_t caller = (uintptr_t)__builtin_return_address(0);
    int rc;
    if (mmap_traced(caller))
        return traced_munmap(addr, len);
    rc = (int)syscall(SYS_munmap, addr, len);
    if (allocator_mapping(caller) && rc == 0)
        allocator_maps_remove((uintptr_t)addr, whole_pages(len));
    return rc;
}

static __attribute__((noinline)) void *
traced_mremap(void *old, size_t old_len, size_t new_len, int flags,
              void *fixed)
{
    int saved_errno = errno;
    bool counted = false;
    struct mmap_sink sink = { count_mapping_event, &counted };
    uint64_t now;
    void *ptr;

    tracer_in_hook = 1;
    now = record_now_ns();
    mapping_call_lock(saved_errno);
    ptr = (void *)syscall(SYS_mremap, old, old_len, new_len, flags, fixed);
    saved_errno = errno;
    if (ptr != MAP_FAILED) {
        struct mmap_remap remap = {
            .old_addr = (uintptr_t)old, .new_addr = (uintptr_t)ptr,
            .old_len = old_len, .new_len = new_len,
            /* old_len 0 duplicates a shared mapping, leaving it be. */
            .keeps_old = (flags & MREMAP_DONTUNMAP) || old_len == 0,
            .page = (uint64_t)getpagesize(), .now_ns = now,
        };
        mmap_ranges_remap(&remap, &sink);
        /* A reservation moves, or grows, as a whole. */
        if (range_set_overlaps(&reserved, remap.old_addr,
                               whole_pages(old_len))) {
            if (!remap.keeps_old)
                range_set_remove(&reserved, remap.old_addr,
                                 whole_pages(old_len));
            range_set_add(&reserved, remap.new_addr, whole_pages(new_len));
        }
    }
    mapping_call_end(counted, now, saved_errno);
    return ptr;
}

EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
    void *fixed = NULL;
    va_list ap;

    if (flags & MREMAP_FIXED) {
        va_start(ap, flags);
        fixed = va_arg(ap, void *);
        va_end(ap);
    }
    uintptr_t caller = (uintptr_t)__builtin_return_address(0);
    void *ptr;
    if (mmap_traced(caller))
        return traced_mremap(old, old_len, new_len, flags, fixed);
    ptr = (void *)syscall(SYS_mremap, old, old_len, new_len, flags, fixed);
    if (allocator_mapping(caller) && ptr != MAP_FAILED) {
        if (!(flags & MREMAP_DONTUNMAP))
            allocator_maps_remove((uintptr_t)old, whole_pages(old_len));
        allocator_maps_add((uintptr_t)ptr, whole_pages(new_len));
    }
    return ptr;
}

/* The parts of [start, start + span) that were reserved become blocks of
 * `site`. Under mmap_ranges_lock. */
static void commit_reserved(uintptr_t start, uint64_t span, uint32_t site,
                            uint64_t now, const struct mmap_sink *sink)
{
    enum { PARTS = 16 };
    uintptr_t starts[PARTS];
    size_t lens[PARTS], n;
    do {
        n = range_set_parts(&reserved, start, span, starts, lens, PARTS);
        for (size_t i = 0; i < n && i < PARTS; i++) {
            struct mmap_piece piece = { starts[i], lens[i], now, site };
            mmap_ranges_map(&piece, lens[i], sink);
            range_set_remove(&reserved, starts[i], lens[i]);
        }
    } while (n > PARTS);
}

static __attribute__((noinline)) int
traced_mprotect(void *addr, size_t len, int prot, uintptr_t entry_slot)
{
    int rc, saved_errno = errno;
    bool counted = false, in_reservation;
    struct mmap_sink sink = { count_mapping_event, &counted };
    uint64_t now, span = whole_pages(len);
    uint32_t site;

    tracer_in_hook = 1;
    /* JITs flip their code's permissions often: outside a reservation
     * there is nothing to do but the call; unwind outside the lock. */
    spin_lock(&mmap_ranges_lock);
    in_reservation = range_set_overlaps(&reserved, (uintptr_t)addr, span);
    spin_unlock(&mmap_ranges_lock);
    if (!in_reservation) {
        tracer_in_hook = 0;
        errno = saved_errno;
        return (int)syscall(SYS_mprotect, addr, len, prot);
    }
    site = record_site_of_mapping(entry_slot);
    now = record_now_ns();
    mapping_call_lock(saved_errno);
    rc = (int)syscall(SYS_mprotect, addr, len, prot);
    saved_errno = errno;
    if (rc == 0 && site)
        commit_reserved((uintptr_t)addr, span, site, now, &sink);
    mapping_call_end(counted, now, saved_errno);
    return rc;
}

EXPORT int mprotect(void *addr, size_t len, int prot)
{
    if (prot != PROT_NONE &&
        mmap_traced((uintptr_t)__builtin_return_address(0)))
        return traced_mprotect(addr, len, prot, ENTRY_SLOT());
    return (int)syscall(SYS_mprotect, addr, len, prot);
}
