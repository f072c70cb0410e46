/* real_alloc.c - see real_alloc.h. */
#include "real_alloc.h"

#include <dlfcn.h>
#include <errno.h>
#include <gnu/libc-version.h>
#include <link.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "stack.h"

extern void *__libc_malloc(size_t size);
extern void __libc_free(void *ptr);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void *__libc_memalign(size_t align, size_t size);
extern void *__libc_valloc(size_t size);
extern void *__libc_pvalloc(size_t size);

static bool resolve_real_alloc(void);
static void *resolving_malloc(size_t size);

/* The code of an allocator other than glibc's: empty when glibc's. */
static struct code_range foreign_code;

bool real_alloc_owns_code(uintptr_t addr)
{
    return addr >= foreign_code.start && addr < foreign_code.end;
}

void real_alloc_resolve(void)
{
    if (REAL_ALLOC(malloc) == resolving_malloc)
        resolve_real_alloc();
}

static void *resolving_malloc(size_t size)
{
    return resolve_real_alloc() ? real_alloc.malloc(size)
                                : __libc_malloc(size);
}

static void resolving_free(void *ptr)
{
    if (resolve_real_alloc())
        real_alloc.free(ptr);
    else
        __libc_free(ptr);
}

static void *resolving_calloc(size_t n, size_t size)
{
    return resolve_real_alloc() ? real_alloc.calloc(n, size)
                                : __libc_calloc(n, size);
}

static void *resolving_realloc(void *ptr, size_t size)
{
    return resolve_real_alloc() ? real_alloc.realloc(ptr, size)
                                : __libc_realloc(ptr, size);
}

static void *resolving_memalign(size_t align, size_t size)
{
    return resolve_real_alloc() ? real_alloc.memalign(align, size)
                                : __libc_memalign(align, size);
}

static void *resolving_valloc(size_t size)
{
    return resolve_real_alloc() ? real_alloc.valloc(size)
                                : __libc_valloc(size);
}

static void *resolving_pvalloc(size_t size)
{
    return resolve_real_alloc() ? real_alloc.pvalloc(size)
                                : __libc_pvalloc(size);
}

struct real_alloc real_alloc = {
    resolving_malloc,   resolving_free,   resolving_calloc, resolving_realloc,
    resolving_memalign, resolving_valloc, resolving_pvalloc,
};

/* For an allocator without them: what glibc's do, on its memalign. */
static void *valloc_from_memalign(size_t size)
{
    return real_alloc.memalign((size_t)sysconf(_SC_PAGESIZE), size);
}

static void *pvalloc_from_memalign(size_t size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), rounded;
    if (__builtin_add_overflow(size, page - 1, &rounded)) {
        errno = ENOMEM;
        return NULL;
    }
    rounded &= ~(page - 1);
    return real_alloc.memalign(page, rounded ? rounded : page);
}

static void *next_definition(const char *name)
{
    return dlsym(RTLD_NEXT, name);
}

static bool same_object(void *a, void *b)
{
    Dl_info ia, ib;
    return dladdr(a, &ia) && dladdr(b, &ib) && ia.dli_fbase == ib.dli_fbase;
}

/* Not by comparing with __libc_malloc: tcmalloc defines that name too,
 * for glibc's own internal callers, and ours then binds to it. */
static bool in_glibc(void *fn)
{
    return same_object(fn, (void *)gnu_get_libc_version);
}

#define PUBLISH(field, value) \
    __atomic_store_n(&real_alloc.field, (value), __ATOMIC_RELAXED)

/* False while this thread resolves: the nested call goes to glibc. Two
 * threads that both resolve find the same functions. */
static bool resolve_real_alloc(void)
{
    static __thread int resolving;
    void *(*malloc_fn)(size_t);
    void (*free_fn)(void *);
    void *(*calloc_fn)(size_t, size_t);
    void *(*realloc_fn)(void *, size_t);
    void *(*memalign_fn)(size_t, size_t);
    void *(*valloc_fn)(size_t);
    void *(*pvalloc_fn)(size_t);

    int saved_errno = errno;   /* free() and friends keep errno */

    if (resolving)
        return false;
    resolving = 1;
    malloc_fn = (void *(*)(size_t))next_definition("malloc");
    free_fn = (void (*)(void *))next_definition("free");
    calloc_fn = (void *(*)(size_t, size_t))next_definition("calloc");
    realloc_fn = (void *(*)(void *, size_t))next_definition("realloc");
    memalign_fn = (void *(*)(size_t, size_t))next_definition("memalign");
    valloc_fn = (void *(*)(size_t))next_definition("valloc");
    pvalloc_fn = (void *(*)(size_t))next_definition("pvalloc");
    if (!malloc_fn || !free_fn || !calloc_fn || !realloc_fn || !memalign_fn) {
        /* Nothing else to go to: glibc's, as before this existed. */
        malloc_fn = __libc_malloc;
        free_fn = __libc_free;
        calloc_fn = __libc_calloc;
        realloc_fn = __libc_realloc;
        memalign_fn = __libc_memalign;
        valloc_fn = __libc_valloc;
        pvalloc_fn = __libc_pvalloc;
    }
    if (!in_glibc((void *)malloc_fn))
        code_range_of((uintptr_t)malloc_fn, &foreign_code);
    if (!valloc_fn || !same_object((void *)valloc_fn, (void *)malloc_fn))
        valloc_fn = valloc_from_memalign;
    if (!pvalloc_fn || !same_object((void *)pvalloc_fn, (void *)malloc_fn))
        pvalloc_fn = pvalloc_from_memalign;
    PUBLISH(memalign, memalign_fn);
    PUBLISH(valloc, valloc_fn);
    PUBLISH(pvalloc, pvalloc_fn);
    PUBLISH(calloc, calloc_fn);
    PUBLISH(realloc, realloc_fn);
    PUBLISH(free, free_fn);
    PUBLISH(malloc, malloc_fn);
    resolving = 0;
    errno = saved_errno;
    return true;
}

/* dlsym's answer for a program built without -fpie that takes malloc's
 * address is its own PLT entry, the canonical address, which is no
 * definition: a definition is a symbol by that name, in a section. */
const char *real_alloc_shadowed_by(void)
{
    Dl_info ours, theirs, exe;
    const ElfW(Sym) *sym = NULL;
    void *called = dlsym(RTLD_DEFAULT, "malloc");
    if (!called || !dladdr((void *)real_alloc_shadowed_by, &ours) ||
        !dladdr1(called, &theirs, (void **)&sym, RTLD_DL_SYMENT) ||
        ours.dli_fbase == theirs.dli_fbase || !sym || !theirs.dli_sname ||
        strcmp(theirs.dli_sname, "malloc") != 0 || sym->st_shndx == SHN_UNDEF)
        return NULL;
    /* dladdr names the executable by argv[0]: "" says which it is. */
    if (dladdr((void *)getauxval(AT_ENTRY), &exe) &&
        exe.dli_fbase == theirs.dli_fbase)
        return "";
    return theirs.dli_fname ? theirs.dli_fname : "";
}
