/* Every allocator entry point from its own named function, with a known
 * number of survivors each. The e2e runner asserts the exact per-site
 * counts; keep the numbers here and in run.py in step. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEEP 64
/* Not static: the compiler may drop mallocs whose result nobody can see. */
void *kept[KEEP * 16];
int nkept;

static void keep(void *p)
{
    if (!p)
        abort();
    kept[nkept++] = p;
}

__attribute__((noinline)) void use_malloc(void) { for (int i = 0; i < 7; i++) keep(malloc(100)); }
__attribute__((noinline)) void use_calloc(void) { for (int i = 0; i < 5; i++) keep(calloc(3, 16)); }
__attribute__((noinline)) void use_realloc_grow(void)
{
    /* realloc(NULL) acts as malloc; growing moves or resizes the block:
     * the site that survives is the last realloc's. */
    void *p = realloc(NULL, 10);
    p = realloc(p, 5000);
    keep(p);
}
__attribute__((noinline)) void use_realloc_shrink(void)
{
    void *p = malloc(4000);
    keep(realloc(p, 40));
}
__attribute__((noinline)) void use_realloc_zero(void)
{
    void *p = malloc(123);
    /* glibc frees p and returns NULL: nothing survives. */
    if (realloc(p, 0) != NULL)
        abort();
}
__attribute__((noinline)) void use_reallocarray(void) { keep(reallocarray(NULL, 4, 25)); }
__attribute__((noinline)) void use_posix_memalign(void)
{
    void *p = NULL;
    for (int i = 0; i < 3; i++) {
        if (posix_memalign(&p, 64, 200) != 0)
            abort();
        keep(p);
    }
    if (posix_memalign(&p, 3, 10) == 0)   /* EINVAL, as without mtrace */
        abort();
}
__attribute__((noinline)) void use_aligned_alloc(void) { for (int i = 0; i < 2; i++) keep(aligned_alloc(128, 256)); }
__attribute__((noinline)) void use_memalign(void) { keep(memalign(32, 96)); }
__attribute__((noinline)) void use_valloc(void) { keep(valloc(1000)); }
__attribute__((noinline)) void use_pvalloc(void) { keep(pvalloc(1000)); }
__attribute__((noinline)) void use_strdup(void) { keep(strdup("twelve bytes")); }
__attribute__((noinline)) void churn(void)
{
    for (int i = 0; i < 1000; i++) {
        /* volatile: the compiler may drop a malloc/free pair it can see. */
        char *volatile p = malloc(32 + (size_t)(i % 7));
        p[0] = (char)i;
        free(p);
    }
}
__attribute__((noinline)) void use_large(void) { keep(malloc(200000)); }

int main(void)
{
    use_malloc();
    use_calloc();
    use_realloc_grow();
    use_realloc_shrink();
    use_realloc_zero();
    use_reallocarray();
    use_posix_memalign();
    use_aligned_alloc();
    use_memalign();
    use_valloc();
    use_pvalloc();
    use_strdup();
    churn();
    use_large();
    if (malloc_usable_size(kept[0]) < 100)
        return 1;
    printf("kept %d blocks\n", nkept);
    return 0;
}
