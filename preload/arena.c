/* arena.c - see arena.h. */
#include "arena.h"

#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Pieces at least this big get a mapping of their own. */
#define ARENA_LARGE (64 * 1024)
#define ARENA_CHUNK (1024 * 1024)

#define ARENA_REGISTRY 4096

spinlock_t arena_lock;
static uint8_t *bump_next, *bump_end;

static struct { uintptr_t start; size_t len; } registry[ARENA_REGISTRY];
static size_t registry_used;
static bool registry_overflowed;

static size_t page_round(size_t size)
{
    size_t page = 4096;
    return (size + page - 1) & ~(page - 1);
}

/* Mappings are made and dropped rarely (table growth), so a plain array
 * under the lock will do. Callers may already hold arena_lock. */
static void registry_add(uintptr_t start, size_t len)
{
    if (registry_used == ARENA_REGISTRY) {
        registry_overflowed = true;
        return;
    }
    registry[registry_used].start = start;
    registry[registry_used].len = len;
    registry_used++;
}

static void registry_remove(uintptr_t start)
{
    for (size_t i = 0; i < registry_used; i++)
        if (registry[i].start == start) {
            registry[i] = registry[--registry_used];
            return;
        }
}

static void *map_pages(size_t size)
{
    /* The raw syscall: libmtrace.so exports its own mmap. */
    void *p = (void *)syscall(SYS_mmap, NULL, page_round(size),
                              PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void *arena_map(size_t size)
{
    void *p = map_pages(size);
    if (p) {
        spin_lock(&arena_lock);
        registry_add((uintptr_t)p, page_round(size));
        spin_unlock(&arena_lock);
    }
    return p;
}

void arena_unmap(void *ptr, size_t size)
{
    if (!ptr)
        return;
    spin_lock(&arena_lock);
    registry_remove((uintptr_t)ptr);
    spin_unlock(&arena_lock);
    syscall(SYS_munmap, ptr, page_round(size));
}

bool arena_for_each_mapping(void (*fn)(uintptr_t start, size_t len, void *),
                            void *arg)
{
    for (size_t i = 0; i < registry_used; i++)
        fn(registry[i].start, registry[i].len, arg);
    return !registry_overflowed;
}

void *arena_alloc(size_t size)
{
    return arena_alloc_aligned(size, 16);
}

void *arena_alloc_aligned(size_t size, size_t align)
{
    void *p = NULL;
    size = (size + align - 1) & ~(align - 1);
    if (size >= ARENA_LARGE)
        return arena_map(size);
    spin_lock(&arena_lock);
    /* Chunks are page-aligned: a gap only ever follows smaller pieces. */
    bump_next = (uint8_t *)(((uintptr_t)bump_next + align - 1) &
                            ~(uintptr_t)(align - 1));
    if (bump_next > bump_end)
        bump_next = bump_end;
    if ((size_t)(bump_end - bump_next) < size) {
        uint8_t *chunk = map_pages(ARENA_CHUNK);
        if (chunk) {
            registry_add((uintptr_t)chunk, ARENA_CHUNK);
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
