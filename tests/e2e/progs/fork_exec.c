/* Parent keeps 3 blocks; a forked child keeps 5 more and exits; a second
 * child execs this program with "exec-child", which keeps 2 of its own. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Not static: the compiler may drop allocations nobody can see. */
void *kept[16];

__attribute__((noinline)) static void parent_keeps(void) { for (int i = 0; i < 3; i++) kept[i] = malloc(300); }
__attribute__((noinline)) static void child_keeps(void) { for (int i = 0; i < 5; i++) kept[3 + i] = malloc(500); }
__attribute__((noinline)) static void exec_child_keeps(void) { for (int i = 0; i < 2; i++) kept[i] = malloc(700); }

int main(int argc, char **argv)
{
    pid_t a, b;
    int status;

    if (argc > 1 && strcmp(argv[1], "exec-child") == 0) {
        exec_child_keeps();
        printf("exec child %d\n", (int)getpid());
        return 0;
    }
    parent_keeps();
    fflush(stdout);
    a = fork();
    if (a == 0) {
        child_keeps();
        printf("fork child %d\n", (int)getpid());
        exit(0);
    }
    waitpid(a, &status, 0);
    fflush(stdout);
    b = fork();
    if (b == 0) {
        execl(argv[0], argv[0], "exec-child", (char *)NULL);
        _exit(127);
    }
    waitpid(b, &status, 0);
    printf("parent %d\n", (int)getpid());
    return WEXITSTATUS(status);
}
