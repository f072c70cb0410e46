/* Programs that make life hard for a tracer, chosen by argv[1]:
 *   threads16 SECONDS  16 threads allocate, hand blocks to each other, free
 *   spawn              posix_spawn and vfork+exec children (/bin/true)
 *   segv_handler       its own SIGSEGV handler recovers from a fault
 *   close_all          closes every descriptor, then writes its own file
 *   no_files           closes every descriptor and forbids new files
 *   first_fd           prints the number its first open() gets
 *   reopen_files A B   closes all but stdio, opens A and B, allocates
 *                      from code without unwind tables (which libunwind
 *                      walks), writes A and B
 *   reopen_many A B    the same, with 500 descriptors open first, so that
 *                      A and B get the numbers the tracer moved
 *                      libunwind's pipe to
 * Each prints a result line the test compares with the untraced run. */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAILBOX 64
static _Atomic(void *) mailbox[MAILBOX];
static atomic_int stop;
static atomic_long handed_over;

__attribute__((noinline)) static void *hammer(void *arg)
{
    unsigned seed = (unsigned)(long)arg;
    while (!atomic_load(&stop)) {
        unsigned slot = rand_r(&seed) % MAILBOX;
        void *mine = malloc(16 + rand_r(&seed) % 2048);
        /* Swap with whatever another thread left: frees cross threads. */
        void *theirs = atomic_exchange(&mailbox[slot], mine);
        if (theirs)
            atomic_fetch_add(&handed_over, 1);
        free(theirs);
    }
    return NULL;
}

static int threads16(double seconds)
{
    pthread_t t[16];
    struct timespec pause = { (time_t)seconds,
                              (long)((seconds - (time_t)seconds) * 1e9) };
    for (long i = 0; i < 16; i++)
        pthread_create(&t[i], NULL, hammer, (void *)(i + 1));
    nanosleep(&pause, NULL);
    atomic_store(&stop, 1);
    for (int i = 0; i < 16; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < MAILBOX; i++)
        free(atomic_exchange(&mailbox[i], NULL));
    printf("threads16 %s\n", atomic_load(&handed_over) > 0 ? "ok" : "idle");
    return 0;
}

static int spawn_children(void)
{
    char *argv[] = { "true", NULL };
    volatile int ok = 0;
    for (volatile int i = 0; i < 5; i++) {
        pid_t pid;
        int status;
        if (posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ) == 0 &&
            waitpid(pid, &status, 0) == pid && WIFEXITED(status))
            ok++;
        pid = vfork();
        if (pid == 0) {
            execve("/bin/true", argv, environ);
            _exit(127);
        }
        if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
            WEXITSTATUS(status) == 0)
            ok++;
        char *volatile p = malloc(100);
        free(p);
    }
    printf("spawned %d of 10\n", ok);
    return 0;
}

static sigjmp_buf recover;

static void on_segv(int signo)
{
    (void)signo;
    siglongjmp(recover, 1);
}

static int segv_handler(void)
{
    struct sigaction sa;
    volatile int recovered = 0;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_segv;
    sigaction(SIGSEGV, &sa, NULL);
    for (volatile int i = 0; i < 3; i++) {
        char *volatile keep = malloc(64);
        if (sigsetjmp(recover, 1) == 0)
            *(volatile int *)(uintptr_t)(16 + i) = 1;
        else
            recovered++;
        free(keep);
    }
    printf("recovered %d\n", recovered);
    return 0;
}

static void close_everything(void)
{
    for (int fd = 0; fd < 4096; fd++)
        if (fd != STDOUT_FILENO)
            close(fd);
}

/* Allocates through several snapshot intervals, so the tracer must write
 * while the program owns every low descriptor number. */
static void allocate_for_a_while(void)
{
    struct timespec ms = { 0, 1000000 };
    for (int i = 0; i < 400; i++) {
        /* volatile: the compiler may drop a malloc/free pair it can see. */
        char *volatile p = malloc(100 + (size_t)i);
        free(p);
        nanosleep(&ms, NULL);
    }
}

static int close_all(const char *path)
{
    char text[64];
    int fd, n;
    close_everything();
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    allocate_for_a_while();
    n = snprintf(text, sizeof text, "the program's own data\n");
    if (fd < 0 || write(fd, text, (size_t)n) != n)
        return 1;
    allocate_for_a_while();
    close(fd);
    printf("close_all done\n");
    return 0;
}

static int first_fd(void)
{
    printf("first open: %d\n", open("/dev/null", O_RDONLY));
    return 0;
}

/* Code without unwind tables, as hand-written assembly often is: only
 * libunwind walks past it, by the frame-pointer chain, checking each
 * address through its pipe. */
void *allocate_without_cfi(size_t size);
__asm__(".text\n"
        ".globl allocate_without_cfi\n"
        ".type allocate_without_cfi, @function\n"
        "allocate_without_cfi:\n"
        "    push %rbp\n"
        "    mov %rsp, %rbp\n"
        "    call malloc@PLT\n"
        "    pop %rbp\n"
        "    ret\n"
        ".size allocate_without_cfi, .-allocate_without_cfi\n");

static int reopen_files(const char *a, const char *b, int fill_to)
{
    static const char text[] = "the program's own data\n";
    static void *kept[50];
    int fa, fb, n = (int)sizeof text - 1;
    /* As a daemon does, keeping its standard streams: its files then get
     * the numbers libunwind's pipe had. */
    for (int fd = 3; fd < 4096; fd++)
        close(fd);
    while (fill_to > 3 && open("/dev/null", O_RDONLY) < fill_to - 1)
        ;
    fa = open(a, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    fb = open(b, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    for (int i = 0; i < 50; i++)
        kept[i] = allocate_without_cfi((size_t)i + 1);
    if (fa < 0 || fb < 0 || write(fa, text, (size_t)n) != n ||
        write(fb, text, (size_t)n) != n)
        return 1;
    printf("reopen_files done: %d and %d, %s\n", fa, fb,
           kept[49] ? "allocated" : "no memory");
    return 0;
}

static int no_files(void)
{
    struct rlimit none = { 0, 0 };
    close_everything();
    setrlimit(RLIMIT_NOFILE, &none);
    allocate_for_a_while();
    printf("no_files done\n");
    return 0;
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "";
    if (strcmp(what, "threads16") == 0)
        return threads16(argc > 2 ? atof(argv[2]) : 1.0);
    if (strcmp(what, "spawn") == 0)
        return spawn_children();
    if (strcmp(what, "segv_handler") == 0)
        return segv_handler();
    if (strcmp(what, "close_all") == 0 && argc > 2)
        return close_all(argv[2]);
    if (strcmp(what, "no_files") == 0)
        return no_files();
    if (strcmp(what, "first_fd") == 0)
        return first_fd();
    if (strcmp(what, "reopen_files") == 0 && argc > 3)
        return reopen_files(argv[2], argv[3], 0);
    if (strcmp(what, "reopen_many") == 0 && argc > 3)
        return reopen_files(argv[2], argv[3], 500);
    fprintf(stderr, "usage: hostile threads16|spawn|segv_handler|"
                    "close_all FILE|no_files|first_fd|reopen_files A B|"
                    "reopen_many A B\n");
    return 2;
}
