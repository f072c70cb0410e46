/* wrapper_callers.c - every allocation through one wrapper (as cc1's
 * xmalloc, sqlite's sqlite3Malloc), called from CALLERS call sites at the
 * same stack depth, round after round: more chains meeting malloc at one
 * slot from one return address than a stack-cache set holds. With LIBRARY,
 * each round also opens and closes that library while holding it open
 * from the start: a dlclose that unloads nothing.
 * Usage: wrapper_callers ROUNDS [LIBRARY]. Prints the bytes it allocated. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#define CALLERS 24

static __attribute__((noinline)) void *wrapper_alloc(size_t size)
{
    void *p = malloc(size);
    if (!p)
        abort();
    return p;
}

#define CALLER(i)                                                          \
    static __attribute__((noinline)) size_t caller_##i(void)               \
    {                                                                      \
        char *p = wrapper_alloc(16 + (i));                                 \
        p[0] = (char)(i);                                                  \
        size_t got = (size_t)p[0] + 16;                                    \
        free(p);                                                           \
        return got;                                                        \
    }
CALLER(0) CALLER(1) CALLER(2) CALLER(3) CALLER(4) CALLER(5) CALLER(6)
CALLER(7) CALLER(8) CALLER(9) CALLER(10) CALLER(11) CALLER(12) CALLER(13)
CALLER(14) CALLER(15) CALLER(16) CALLER(17) CALLER(18) CALLER(19)
CALLER(20) CALLER(21) CALLER(22) CALLER(23)

static size_t (*const callers[CALLERS])(void) = {
    caller_0, caller_1, caller_2, caller_3, caller_4, caller_5, caller_6,
    caller_7, caller_8, caller_9, caller_10, caller_11, caller_12,
    caller_13, caller_14, caller_15, caller_16, caller_17, caller_18,
    caller_19, caller_20, caller_21, caller_22, caller_23,
};

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? atol(argv[1]) : 200;
    const char *library = argc > 2 ? argv[2] : NULL;
    size_t total = 0;
    if (library && !dlopen(library, RTLD_NOW)) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    for (long r = 0; r < rounds; r++) {
        if (library)
            dlclose(dlopen(library, RTLD_NOW));
        for (int i = 0; i < CALLERS; i++)
            total += callers[i]();
    }
    printf("%zu\n", total);
    return 0;
}
