/* Anonymous mappings cut into pieces: munmap of a head, a tail, a middle,
 * of ranges across several mappings or none, MAP_FIXED over part of a
 * mapping, mremap shrinking, growing and moving, fork. `mmap_pieces CASE`
 * runs one case; tests_mmap.py knows each one's exact live bytes, blocks,
 * allocations and frees. Every traced mapping is made by map_traced,
 * map_fixed or map_other (their names are the sites' frames[0]); address
 * space is reserved untraced, by the raw system call. No stdio, no
 * malloc: the mappings are the only memory the tracer counts. Between
 * steps a pause lets a snapshot (MTRACE_INTERVAL_MS=1) see every state. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MB ((size_t)1 << 20)
/* Loop counts the compiler cannot see: an unrolled loop would make each
 * iteration's call a site of its own. */
static volatile int two = 2, four = 4;
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)

__attribute__((noreturn)) static void fail(const char *what)
{
    write(2, what, strlen(what));
    write(2, "\n", 1);
    _exit(1);
}

static void step(void)
{
    usleep(5000);
}

__attribute__((noinline)) char *map_traced(size_t len)
{
    char *p = mmap(NULL, len, RW, ANON, -1, 0);
    if (p == MAP_FAILED)
        fail("map_traced");
    step();
    return p;
}

__attribute__((noinline)) char *map_other(size_t len)
{
    char *p = mmap(NULL, len, RW, ANON, -1, 0);
    if (p == MAP_FAILED)
        fail("map_other");
    step();
    return p;
}

__attribute__((noinline)) char *map_fixed(char *at, size_t len)
{
    if (mmap(at, len, RW, ANON | MAP_FIXED, -1, 0) != at)
        fail("map_fixed");
    step();
    return at;
}

/* Not seen by the tracer: address space to place mappings in. */
static char *reserve_untraced(size_t len)
{
    char *p = (char *)syscall(SYS_mmap, NULL, len, PROT_NONE, ANON, -1, 0);
    if (p == MAP_FAILED)
        fail("reserve");
    return p;
}

static void unmap(void *at, size_t len)
{
    if (munmap(at, len) != 0)
        fail("munmap");
    step();
}

static char *remap(void *old, size_t old_len, size_t new_len, int flags,
                   void *to)
{
    char *p = mremap(old, old_len, new_len, flags, to);
    if (p == MAP_FAILED)
        fail("mremap");
    step();
    return p;
}

static void head_trim(void)
{
    char *p = map_traced(4 * MB);
    unmap(p, MB);
}

static void tail_trim(void)
{
    char *p = map_traced(4 * MB);
    unmap(p + 3 * MB, MB);
}

static void head_and_tail(void)
{
    char *p = map_traced(4 * MB);
    unmap(p, MB);
    unmap(p + 3 * MB, MB);
}

/* The counters once went below zero here. */
static void head_then_rest(void)
{
    char *p = map_traced(4 * MB);
    unmap(p, MB);
    unmap(p + MB, 3 * MB);
}

static void tail_then_head(void)
{
    char *p = map_traced(4 * MB);
    unmap(p + MB, 3 * MB);
    unmap(p, MB);
}

static void punch(void)
{
    char *p = map_traced(4 * MB);
    unmap(p + MB, MB);
}

static void punch_then_all(void)
{
    char *p = map_traced(4 * MB);
    unmap(p + MB, MB);
    unmap(p, 4 * MB);
}

/* Two adjacent mappings; one munmap takes the tail of the first and the
 * head of the second. */
static void span_two(void)
{
    char *r = reserve_untraced(4 * MB);
    for (int i = 0; i < two; i++)
        map_fixed(r + i * 2 * MB, 2 * MB);
    unmap(r + MB, 2 * MB);
}

static void span_two_all(void)
{
    char *r = reserve_untraced(4 * MB);
    for (int i = 0; i < two; i++)
        map_fixed(r + i * 2 * MB, 2 * MB);
    unmap(r, 4 * MB);
}

/* One munmap over three whole mappings, the gaps between them and the
 * head of a fourth. */
static void several(void)
{
    static const size_t at[] = { 0, 2 * MB, 4 * MB, 6 * MB };
    static const size_t len[] = { MB, MB, MB, 2 * MB };
    char *r = reserve_untraced(8 * MB);
    for (int i = 0; i < four; i++)
        map_fixed(r + at[i], len[i]);
    unmap(r, 7 * MB);
}

static void fixed_middle(void)
{
    char *p = map_traced(4 * MB);
    map_fixed(p + MB, 2 * MB);
}

static void fixed_middle_all(void)
{
    char *p = map_traced(4 * MB);
    map_fixed(p + MB, 2 * MB);
    unmap(p, 4 * MB);
}

static void remap_shrink(void)
{
    char *p = map_traced(4 * MB);
    if (remap(p, 4 * MB, MB, 0, NULL) != p)
        fail("shrunk in place");
}

/* munmap of the size the mapping had before it shrank. */
static void remap_shrink_all(void)
{
    char *p = map_traced(4 * MB);
    remap(p, 4 * MB, MB, 0, NULL);
    unmap(p, 4 * MB);
}

static void remap_grow_move(void)
{
    char *p = map_traced(MB), *to;
    p = remap(p, MB, 8 * MB, MREMAP_MAYMOVE, NULL);
    to = reserve_untraced(8 * MB);
    if (remap(p, 8 * MB, 8 * MB, MREMAP_MAYMOVE | MREMAP_FIXED, to) != to)
        fail("moved");
    remap(to, 8 * MB, 2 * MB, 0, NULL);
}

/* Moved over the head of another traced mapping, which loses it. */
static void remap_over_traced(void)
{
    char *p = map_traced(2 * MB), *other = map_other(8 * MB);
    if (remap(p, 2 * MB, 2 * MB, MREMAP_MAYMOVE | MREMAP_FIXED, other) !=
        other)
        fail("moved over");
}

/* Ranges the tracer never saw mapped: only the traced part counts. */
static void untraced(void)
{
    char *r = reserve_untraced(4 * MB), *u = reserve_untraced(2 * MB);
    map_fixed(r + MB, MB);
    unmap(r, 4 * MB);
    unmap(u, 2 * MB);
    map_traced(MB);
}

/* Sizes are what the program asked for: 5000 bytes, less the first page. */
static void sub_page(void)
{
    char *p = map_traced(5000);
    unmap(p, 4096);
}

/* The child unmaps the head of the mapping it inherited. */
static void forked(void)
{
    char *p = map_traced(4 * MB);
    int status;
    pid_t child = fork();
    if (child < 0)
        fail("fork");
    if (child == 0) {
        unmap(p, MB);
        _exit(0);
    }
    if (waitpid(child, &status, 0) != child || status != 0)
        fail("child");
}

static void *churn(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3000; i++) {
        char *p = mmap(NULL, 4 * MB, RW, ANON, -1, 0);
        if (p == MAP_FAILED)
            fail("churn");
        munmap(p + MB, MB);
        munmap(p, 4 * MB);
    }
    return NULL;
}

/* Forks while another thread maps and unmaps: no child may find the
 * tracer's lock of the pieces held. */
static void fork_busy(void)
{
    pthread_t thread;
    char *kept = map_traced(MB);
    if (pthread_create(&thread, NULL, churn, NULL) != 0)
        fail("thread");
    for (int i = 0; i < 20; i++) {
        int status;
        pid_t child = fork();
        if (child < 0)
            fail("fork");
        if (child == 0) {
            unmap(kept, MB);
            _exit(0);
        }
        if (waitpid(child, &status, 0) != child || status != 0)
            fail("child");
    }
    pthread_join(thread, NULL);
}

static const struct {
    const char *name;
    void (*run)(void);
} cases[] = {
    { "head_trim", head_trim },
    { "tail_trim", tail_trim },
    { "head_and_tail", head_and_tail },
    { "head_then_rest", head_then_rest },
    { "tail_then_head", tail_then_head },
    { "punch", punch },
    { "punch_then_all", punch_then_all },
    { "span_two", span_two },
    { "span_two_all", span_two_all },
    { "several", several },
    { "fixed_middle", fixed_middle },
    { "fixed_middle_all", fixed_middle_all },
    { "remap_shrink", remap_shrink },
    { "remap_shrink_all", remap_shrink_all },
    { "remap_grow_move", remap_grow_move },
    { "remap_over_traced", remap_over_traced },
    { "untraced", untraced },
    { "sub_page", sub_page },
    { "forked", forked },
    { "fork_busy", fork_busy },
};

int main(int argc, char **argv)
{
    for (size_t i = 0; argc == 2 && i < sizeof cases / sizeof *cases; i++)
        if (strcmp(argv[1], cases[i].name) == 0) {
            cases[i].run();
            return 0;
        }
    fail("usage: mmap_pieces CASE");
}
