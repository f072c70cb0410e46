/* many_chains.c - more call chains than a thread's stack cache holds, as
 * in a compiler: 32 functions each call one allocation wrapper from 32
 * call sites of their own, 1,024 chains meeting malloc at one slot from
 * one return address, round after round.
 * Usage: many_chains ROUNDS. Prints the bytes it allocated. */
#include <stdio.h>
#include <stdlib.h>

#define SITES 32

static volatile size_t sink;

static __attribute__((noinline)) size_t wrapper_alloc(size_t size)
{
    char *p = malloc(size);
    if (!p)
        abort();
    p[0] = (char)size;
    sink += (size_t)p[0];
    free(p);
    return size;
}

/* A size of its own per call site, and a store after it, so that no two
 * calls can be merged into one. */
#define SITE(k)                                                            \
    case k:                                                                \
        got = wrapper_alloc(16 + (k) * 8);                                 \
        sink = (k);                                                        \
        break;

#define SITES_OF(j)                                                        \
    static __attribute__((noinline)) size_t callers_##j(int k)             \
    {                                                                      \
        size_t got = 0;                                                    \
        switch (k) {                                                       \
            SITE(0) SITE(1) SITE(2) SITE(3) SITE(4) SITE(5) SITE(6)        \
            SITE(7) SITE(8) SITE(9) SITE(10) SITE(11) SITE(12) SITE(13)    \
            SITE(14) SITE(15) SITE(16) SITE(17) SITE(18) SITE(19)          \
            SITE(20) SITE(21) SITE(22) SITE(23) SITE(24) SITE(25)          \
            SITE(26) SITE(27) SITE(28) SITE(29) SITE(30) SITE(31)          \
        }                                                                  \
        return got;                                                        \
    }
SITES_OF(0) SITES_OF(1) SITES_OF(2) SITES_OF(3) SITES_OF(4) SITES_OF(5)
SITES_OF(6) SITES_OF(7) SITES_OF(8) SITES_OF(9) SITES_OF(10) SITES_OF(11)
SITES_OF(12) SITES_OF(13) SITES_OF(14) SITES_OF(15) SITES_OF(16)
SITES_OF(17) SITES_OF(18) SITES_OF(19) SITES_OF(20) SITES_OF(21)
SITES_OF(22) SITES_OF(23) SITES_OF(24) SITES_OF(25) SITES_OF(26)
SITES_OF(27) SITES_OF(28) SITES_OF(29) SITES_OF(30) SITES_OF(31)

static size_t (*const callers[])(int) = {
    callers_0, callers_1, callers_2, callers_3, callers_4, callers_5,
    callers_6, callers_7, callers_8, callers_9, callers_10, callers_11,
    callers_12, callers_13, callers_14, callers_15, callers_16, callers_17,
    callers_18, callers_19, callers_20, callers_21, callers_22, callers_23,
    callers_24, callers_25, callers_26, callers_27, callers_28, callers_29,
    callers_30, callers_31,
};

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? atol(argv[1]) : 20;
    size_t total = 0;
    for (long r = 0; r < rounds; r++)
        for (int j = 0; j < (int)(sizeof callers / sizeof callers[0]); j++)
            for (int k = 0; k < SITES; k++)
                total += callers[j](k);
    printf("%zu\n", total);
    return 0;
}
