/* unwind_pipe.c - see unwind_pipe.h. */
#include "unwind_pipe.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fd_high.h"
#include "stack.h"
#include "tracer.h"


/* Written once, before any thread but the first runs. */
static struct code_range libunwind_text;

/* The pair libunwind holds, as its last pipe2 returned it, and what each
 * end is (a descriptor's number says nothing once it was closed). Under
 * libunwind's own serialization of its pipe use: none; two threads that
 * repair the pipe at once both find the numbers free or both find it. */
static int pipe_fds[2] = { -1, -1 };
static struct stat pipe_ends[2];

void unwind_pipe_init(uintptr_t libunwind_code)
{
    code_range_of(libunwind_code, &libunwind_text);
}

/* Whose call this is: the return address is in the caller's code, which
 * called through its PLT (libunwind.so.8 imports pipe2). Exact, and
 * without a flag that a signal handler's own pipe2 could find raised. */
static inline int called_from_libunwind(uintptr_t return_address)
{
    return return_address >= libunwind_text.start &&
           return_address < libunwind_text.end;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

EXPORT int pipe2(int fds[2], int flags)
{
    /* The C library's pipe2 is this system call and nothing more. */
    int rc = (int)syscall(SYS_pipe2, fds, flags);
    if (rc == 0 &&
        called_from_libunwind((uintptr_t)__builtin_return_address(0))) {
        int saved_errno = errno;
        for (int i = 0; i < 2; i++) {
            fds[i] = fd_move_high(fds[i], flags & O_CLOEXEC);
            pipe_fds[i] = fds[i];
            fstat(fds[i], &pipe_ends[i]);
        }
        errno = saved_errno;
    }
    return rc;
}

/* A fresh pipe's end onto the free number `at`, and only if it is still
 * free: F_DUPFD takes the lowest free number from `at` up, so any other
 * answer means the program took `at` meanwhile (dup2 would close its
 * file). */
static bool put_end_at(int fresh, int at, struct stat *end)
{
    int got = fcntl(fresh, F_DUPFD_CLOEXEC, at);
    if (got == at)
        return fstat(at, end) == 0;
    if (got >= 0)
        close(got);
    return false;
}

bool unwind_pipe_ready(void)
{
    int saved_errno = errno, fresh[2];
    bool closed[2], ready = true;

    if (pipe_fds[0] < 0)
        return true;           /* not opened (yet): nothing to protect */
    for (int i = 0; i < 2; i++) {
        struct stat now;
        closed[i] = fstat(pipe_fds[i], &now) != 0;
        if (!closed[i] && !same_file(&now, &pipe_ends[i]))
            ready = false;     /* the program's now */
    }
    if (ready && (closed[0] || closed[1])) {
        /* Both ends from one pipe: the end still open goes too. */
        for (int i = 0; i < 2; i++)
            if (!closed[i])
                close(pipe_fds[i]);
        ready = syscall(SYS_pipe2, fresh, O_NONBLOCK | O_CLOEXEC) == 0;
        if (ready) {
            ready = put_end_at(fresh[0], pipe_fds[0], &pipe_ends[0]) &&
                    put_end_at(fresh[1], pipe_fds[1], &pipe_ends[1]);
            close(fresh[0]);
            close(fresh[1]);
        }
    }
    errno = saved_errno;
    return ready;
}
