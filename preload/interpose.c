/*
 * interpose.c - the malloc family, which libmtrace.so exports (operator
 * new and delete: cxx_new.c; mmap: mmap_interpose.c). Each one calls the
 * program's allocator (real_alloc.h: glibc's, or the one it is linked
 * with), then records the result. errno is what the real call left,
 * never what the tracer did.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include "entry.h"
#include "options.h"
#include "real_alloc.h"
#include "record.h"
#include "trace_format.h"
#include "tracer.h"

EXPORT void *malloc(size_t size)
{
    void *ptr = REAL_ALLOC(malloc)(size);
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
    if (ptr && tracer_should_record())
        before_free(ptr);
    REAL_ALLOC(free)(ptr);
}

extern __typeof__(free) traced_free
    __attribute__((alias("free"), visibility("hidden"), copy(free)));

EXPORT void *calloc(size_t n, size_t size)
{
    void *ptr = REAL_ALLOC(calloc)(n, size);
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
    int *errno_ptr, saved_errno;

    if (!old) {
        ptr = REAL_ALLOC(realloc)(NULL, size);
        if (!ptr && size)
            after_failure(size);
        return ptr ? after_alloc(ptr, size, MT_KIND_HEAP, entry_slot) : NULL;
    }
    errno_ptr = errno_slot();
    saved_errno = *errno_ptr;
    tracer_in_hook = 1;
    /* Out of the table before the real call: once the block is released,
     * another thread may get its address from malloc. */
    detached = record_detach(old, &block);
    tracer_in_hook = 0;
    *errno_ptr = saved_errno;
    ptr = REAL_ALLOC(realloc)(old, size);
    saved_errno = *errno_ptr;
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
    *errno_ptr = saved_errno;
    return ptr;
}

EXPORT void *realloc(void *old, size_t size)
{
    if (!tracer_should_record())
        return REAL_ALLOC(realloc)(old, size);
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
    void *ptr = REAL_ALLOC(memalign)(align, size);
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
    ptr = REAL_ALLOC(memalign)(align, size);
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
    void *ptr = REAL_ALLOC(valloc)(size);
    if (ptr && tracer_should_record())
        after_alloc(ptr, size, MT_KIND_HEAP, ENTRY_SLOT());
    return ptr;
}

EXPORT void *pvalloc(size_t size)
{
    void *ptr = REAL_ALLOC(pvalloc)(size);
    if (ptr && tracer_should_record())
        after_alloc(ptr, size, MT_KIND_HEAP, ENTRY_SLOT());
    return ptr;
}
