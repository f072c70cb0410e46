/* arena.c - see arena.h. */
#include "arena.h"

#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Pieces at least this big get a mapping of their own. */
#define ARENA_LARGE (64 * 1024)
#define ARENA_CHUNK (1024 * 1024)

spinlock_t arena_lock;
static uint8_t *bump_next, *bump_end;

static size_t page_round(size_t size)
{
    size_t page = 4096;
    return (size + page - 1) & ~(page - 1);
}

void *arena_map(size_t size)
{
    /* The raw syscall: libmtrace.so exports its own mmap. */
    void *p = (void *)syscall(SYS_mmap, NULL, page_round(size),
                              PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void arena_unmap(void *ptr, size_t size)
{
    if (ptr)
        syscall(SYS_munmap, ptr, page_round(size));
}

void *arena_alloc(size_t size)
{
    void *p = NULL;
    size = (size + 15) & ~(size_t)15;
    if (size >= ARENA_LARGE)
        return arena_map(size);
    spin_lock(&arena_lock);
    if ((size_t)(bump_end - bump_next) < size) {
        uint8_t *chunk = arena_map(ARENA_CHUNK);
        if (chunk) {
            bump_next = chunk;
            bump_end = chunk + ARENA_CHUNK;
        }
    }
    if ((size_t)(bump_end - bump_next) >= size) {
        p = bump_next;
        bump_next += size;
    }
    spin_unlock(&arena_lock);
    return p;
}

void arena_free(void *ptr, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    if (size >= ARENA_LARGE)
        arena_unmap(ptr, size);
}
