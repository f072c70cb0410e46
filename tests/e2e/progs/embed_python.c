/* embed_python.c - a program that loads CPython late, with dlopen, as
 * PyInstaller's bootloader and uwsgi do, and runs a script that keeps
 * 50,000 small objects; prints what the script printed. */
#include <dlfcn.h>
#include <stdio.h>

int main(void)
{
    void *py = dlopen("libpython3.11.so.1.0", RTLD_NOW | RTLD_GLOBAL);
    void (*init)(void);
    int (*run)(const char *);
    void (*fini)(void);

    if (!py) {
        fprintf(stderr, "embed_python: %s\n", dlerror());
        return 2;
    }
    *(void **)&init = dlsym(py, "Py_Initialize");
    *(void **)&run = dlsym(py, "PyRun_SimpleString");
    *(void **)&fini = dlsym(py, "Py_Finalize");
    if (!init || !run || !fini)
        return 3;
    init();
    if (run("keep = [(i, str(i)) for i in range(50000)]\n"
            "print(len(keep))\n") != 0)
        return 4;
    fini();
    return 0;
}
