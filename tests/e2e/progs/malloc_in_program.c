/* Defines malloc and its family in the executable, which the dynamic
 * linker finds before any preloaded library: no call reaches the tracer,
 * which must say so once and change nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern void *__libc_malloc(size_t size);
extern void __libc_free(void *ptr);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);

static unsigned long calls;

void *malloc(size_t size)
{
    calls++;
    return __libc_malloc(size);
}

void free(void *ptr)
{
    __libc_free(ptr);
}

void *calloc(size_t n, size_t size)
{
    calls++;
    return __libc_calloc(n, size);
}

void *realloc(void *ptr, size_t size)
{
    calls++;
    return __libc_realloc(ptr, size);
}

int main(void)
{
    char *text = strdup("its own malloc");
    unsigned long seen;
    for (int i = 0; i < 100; i++) {
        /* volatile: the compiler may drop a malloc/free pair it sees. */
        void *volatile p = malloc(100);
        free(p);
    }
    seen = calls;
    printf("%s: %lu calls\n", text, seen);
    free(text);
    return 0;
}
