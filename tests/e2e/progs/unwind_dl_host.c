/* Loads two libraries in turn, argv[1] (alpha) and argv[2] (omega), 20
 * times, each unloaded before the other is loaded: the loader maps them
 * at the same address, where their allocating functions, at the same
 * offset, return from malloc to the same address with different frame
 * layouts (see unwind_dl_lib.c). A rule cached for one and used for the
 * other loses or invents a frame. Each round allocates 50 blocks through
 * its library and keeps the first: 10 survivors from alpha_alloc called by
 * via_alpha, 10 from omega_alloc called by via_omega. */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define ROUNDS 20

typedef void *(*alloc_fn)(size_t);

static void *kept[ROUNDS];

__attribute__((noinline)) static void *via_alpha(alloc_fn fn, size_t size)
{
    void *p = fn(size);
    __asm__ volatile("" : : "r"(p) : "memory");
    return p;
}

__attribute__((noinline)) static void *via_omega(alloc_fn fn, size_t size)
{
    void *p = fn(size);
    __asm__ volatile("" : : "r"(p) : "memory");
    return p;
}

int main(int argc, char **argv)
{
    uintptr_t previous = 0;
    int same_address = 0;

    if (argc < 3) {
        fprintf(stderr, "usage: %s ALPHA.so OMEGA.so\n", argv[0]);
        return 2;
    }
    for (int round = 0; round < ROUNDS; round++) {
        int alpha = round % 2 == 0;
        void *lib = dlopen(argv[alpha ? 1 : 2], RTLD_NOW);
        alloc_fn fn;
        if (!lib) {
            fprintf(stderr, "dlopen: %s\n", dlerror());
            return 1;
        }
        fn = (alloc_fn)dlsym(lib, alpha ? "alpha_alloc" : "omega_alloc");
        if (!fn) {
            fprintf(stderr, "dlsym: %s\n", dlerror());
            return 1;
        }
        same_address += (uintptr_t)fn == previous;
        previous = (uintptr_t)fn;
        for (int i = 0; i < 50; i++) {
            size_t size = 100 + (size_t)round;
            void *p = alpha ? via_alpha(fn, size) : via_omega(fn, size);
            if (i == 0)
                kept[round] = p;
            else
                free(p);
        }
        dlclose(lib);
    }
    printf("%d rounds, %d at the previous library's address\n", ROUNDS,
           same_address);
    return 0;
}
