/*
 * interpose.c - the allocator entry points libmtrace.so exports. Each one
 * calls glibc's own implementation (__libc_malloc and friends, which need
 * no dlsym and so no bootstrap arena), then records the result. errno is
 * what the real call left, never what the tracer did.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "options.h"
#include "record.h"
#include "trace_format.h"
#include "tracer.h"

extern void *__libc_malloc(size_t size);
extern void __libc_free(void *ptr);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void *__libc_memalign(size_t align, size_t size);
extern void *__libc_valloc(size_t size);
extern void *__libc_pvalloc(size_t size);

#define EXPORT __attribute__((visibility("default")))

static inline void *after_alloc(void *ptr, size_t size, uint32_t kind,
                                uintptr_t entry_slot)
{
    int saved_errno = errno;
    tracer_in_hook = 1;
    record_alloc(ptr, size, kind, entry_slot);
    tracer_in_hook = 0;
    errno = saved_errno;
    return ptr;
}

/* A refused request (NULL for a non-zero size): counted, errno kept. */
static void after_failure(size_t size)
{
    int saved_errno = errno;
    tracer_in_hook = 1;
    record_failure(size);
    tracer_in_hook = 0;
    errno = saved_errno;
}

EXPORT void *malloc(size_t size)
{
    void *ptr = __libc_malloc(size);
    if (likely(ptr)) {
        if (tracer_should_record())
            after_alloc(ptr, size, MT_KIND_HEAP, ENTRY_SLOT());
    } else if (size && tracer_should_record()) {
        after_failure(size);
    }
    return ptr;
}

EXPORT void free(void *ptr)
{
    if (ptr && tracer_should_record()) {
        int saved_errno = errno;
        tracer_in_hook = 1;
        record_free(ptr);
        tracer_in_hook = 0;
        errno = saved_errno;
    }
    __libc_free(ptr);
}

EXPORT void *calloc(size_t n, size_t size)
{
    void *ptr = __libc_calloc(n, size);
    if (likely(ptr)) {
        if (tracer_should_record())
            after_alloc(ptr, n * size, MT_KIND_HEAP, ENTRY_SLOT());
    } else if (n && size && tracer_should_record()) {
        size_t bytes;
        /* n * size may overflow: that is why calloc refused it. */
        after_failure(__builtin_mul_overflow(n, size, &bytes) ? SIZE_MAX
                                                              : bytes);
    }
    return ptr;
}

static void *traced_realloc(void *old, size_t size, uintptr_t entry_slot)
{
    struct live_block block;
    bool detached;
    void *ptr;
    int saved_errno;

    if (!old) {
        ptr = __libc_realloc(NULL, size);
        if (!ptr && size)
            after_failure(size);
        return ptr ? after_alloc(ptr, size, MT_KIND_HEAP, entry_slot) : NULL;
    }
    saved_errno = errno;
    tracer_in_hook = 1;
    /* Out of the table before the real call: once the block is released,
     * another thread may get its address from malloc. */
    detached = record_detach(old, &block);
    tracer_in_hook = 0;
    errno = saved_errno;
    ptr = __libc_realloc(old, size);
    saved_errno = errno;
    tracer_in_hook = 1;
    if (ptr || size == 0) {
        /* Moved, resized, or realloc(p, 0), which frees p. */
        if (detached)
            record_release(&block);
        if (ptr)
            record_alloc(ptr, size, MT_KIND_HEAP, entry_slot);
    } else {
        if (detached)
            record_restore(&block);   /* failed: the old block is intact */
        record_failure(size);
    }
    tracer_in_hook = 0;
    errno = saved_errno;
    return ptr;
}

EXPORT void *realloc(void *old, size_t size)
{
    if (!tracer_should_record())
        return __libc_realloc(old, size);
    return traced_realloc(old, size, ENTRY_SLOT());
}

EXPORT void *reallocarray(void *old, size_t n, size_t size)
{
    size_t bytes;
    if (__builtin_mul_overflow(n, size, &bytes)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(old, bytes);
}

EXPORT void *memalign(size_t align, size_t size)
{
    void *ptr = __libc_memalign(align, size);
    if (likely(ptr)) {
        if (tracer_should_record())
            after_alloc(ptr, size, MT_KIND_HEAP, ENTRY_SLOT());
    } else if (size && tracer_should_record()) {
        after_failure(size);
    }
    return ptr;
}

EXPORT void *aligned_alloc(size_t align, size_t size)
{
    /* glibc 2.36's checks, so errors match an untraced run. */
    if (align == 0 || (align & (align - 1)) != 0) {
        errno = EINVAL;
        return NULL;
    }
    return memalign(align, size);
}

EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
    void *ptr;
    if (align % sizeof(void *) != 0 || align == 0 ||
        ((align / sizeof(void *)) & (align / sizeof(void *) - 1)) != 0)
        return EINVAL;
    ptr = __libc_memalign(align, size);
    if (!ptr) {
        if (size && tracer_should_record())
            after_failure(size);
        return ENOMEM;
    }
    *out = ptr;
    if (tracer_should_record())
        after_alloc(ptr, size, MT_KIND_HEAP, ENTRY_SLOT());
    return 0;
}

EXPORT void *valloc(size_t size)
{
    void *ptr = __libc_valloc(size);
    if (ptr && tracer_should_record())
        after_alloc(ptr, size, MT_KIND_HEAP, ENTRY_SLOT());
    return ptr;
}

EXPORT void *pvalloc(size_t size)
{
    void *ptr = __libc_pvalloc(size);
    if (ptr && tracer_should_record())
        after_alloc(ptr, size, MT_KIND_HEAP, ENTRY_SLOT());
    return ptr;
}

/* Anonymous mappings, when MTRACE_MMAP=1. glibc's malloc maps its large
 * blocks through an internal call, so they are not counted twice. */

static inline bool mmap_traced(void)
{
    return mt_opt.mmap && tracer_should_record();
}

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd,
                  off_t offset)
{
    void *ptr = (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, offset);
    if (ptr != MAP_FAILED && (flags & MAP_ANONYMOUS) && mmap_traced())
        after_alloc(ptr, len, MT_KIND_MMAP, ENTRY_SLOT());
    return ptr;
}

EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd,
                    off_t offset) __attribute__((alias("mmap")));

EXPORT int munmap(void *addr, size_t len)
{
    struct live_block block;
    bool detached = false;
    int rc, saved_errno;

    if (mmap_traced()) {
        saved_errno = errno;
        tracer_in_hook = 1;
        detached = record_detach(addr, &block);
        tracer_in_hook = 0;
        errno = saved_errno;
    }
    rc = (int)syscall(SYS_munmap, addr, len);
    if (!detached)
        return rc;
    saved_errno = errno;
    tracer_in_hook = 1;
    if (rc != 0) {
        record_restore(&block);
    } else {
        record_release(&block);
        /* Unmapping the head of a mapping leaves its tail mapped. */
        if (len < live_block_size(&block)) {
            size_t page = 4096, cut = (len + page - 1) & ~(page - 1);
            struct live_block tail = block;
            tail.ptr += cut;
            tail.size_site = (block.size_site & ~LIVE_SIZE_MAX) |
                             (live_block_size(&block) - cut);
            if (cut < live_block_size(&block))
                record_restore(&tail);
        }
    }
    tracer_in_hook = 0;
    errno = saved_errno;
    return rc;
}

EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
    struct live_block block;
    bool detached = false;
    void *fixed = NULL, *ptr;
    int saved_errno;
    va_list ap;

    if (flags & MREMAP_FIXED) {
        va_start(ap, flags);
        fixed = va_arg(ap, void *);
        va_end(ap);
    }
    if (mmap_traced()) {
        saved_errno = errno;
        tracer_in_hook = 1;
        detached = record_detach(old, &block);
        tracer_in_hook = 0;
        errno = saved_errno;
    }
    ptr = (void *)syscall(SYS_mremap, old, old_len, new_len, flags, fixed);
    if (!detached)
        return ptr;
    saved_errno = errno;
    tracer_in_hook = 1;
    if (ptr == MAP_FAILED) {
        record_restore(&block);
    } else {
        record_release(&block);
        record_alloc(ptr, new_len, MT_KIND_MMAP, ENTRY_SLOT());
    }
    tracer_in_hook = 0;
    errno = saved_errno;
    return ptr;
}
