/* A C program, without the C++ runtime, that loads argv[1]
 * (libcxx_extension.so, libcounting_new.so) RTLD_LOCAL and has it keep 12
 * things; prints what extension_work returns. */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    void *lib = argc == 2 ? dlopen(argv[1], RTLD_NOW | RTLD_LOCAL) : NULL;
    int (*work)(int);
    if (!lib) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    work = (int (*)(int))dlsym(lib, "extension_work");
    printf("extension kept %d\n", work(12));
    return 0;
}
