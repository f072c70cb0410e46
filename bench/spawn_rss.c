/*
 * spawn_rss.c - runs a command and reports its exact peak RSS.
 *
 *     spawn_rss RESULT_FILE COMMAND [ARG]...
 *
 * Runs COMMAND as a child, waits for it, writes "STATUS MAXRSS_KIB\n" to
 * RESULT_FILE (STATUS as waitpid returns it) and exits with the child's
 * exit code (128 + the signal if it was killed).
 *
 * Why not wait4 straight from the benchmark: Linux keeps a process's peak
 * RSS across exec, and a process that Python spawns starts as a copy (or,
 * with posix_spawn, a vfork) of the Python interpreter, so its ru_maxrss
 * can never be below the interpreter's ~20 MB. A child forked from this
 * small program starts from this program's few hundred KiB; its ru_maxrss
 * is then the command's own (for a command that starts children, the
 * largest of it and the children it waited for).
 */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    struct rusage usage;
    int status;
    pid_t pid;
    FILE *result;

    if (argc < 3) {
        fprintf(stderr, "usage: spawn_rss RESULT_FILE COMMAND [ARG]...\n");
        return 125;
    }
    pid = fork();
    if (pid < 0) {
        perror("spawn_rss: fork");
        return 125;
    }
    if (pid == 0) {
        execv(argv[2], argv + 2);
        perror("spawn_rss: exec");
        _exit(127);
    }
    if (wait4(pid, &status, 0, &usage) < 0) {
        perror("spawn_rss: wait4");
        return 125;
    }
    result = fopen(argv[1], "w");
    if (!result || fprintf(result, "%d %ld\n", status, usage.ru_maxrss) < 0 ||
        fclose(result) != 0) {
        perror("spawn_rss: result file");
        return 125;
    }
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}
