/* unwind_pipe.c - see unwind_pipe.h. */
#include "unwind_pipe.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fd_high.h"
#include "stack.h"

#define EXPORT __attribute__((visibility("default")))

/* Written once, before any thread but the first runs. */
static struct code_range libunwind_text;

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

EXPORT int pipe2(int fds[2], int flags)
{
    /* The C library's pipe2 is this system call and nothing more. */
    int rc = (int)syscall(SYS_pipe2, fds, flags);
    if (rc == 0 &&
        called_from_libunwind((uintptr_t)__builtin_return_address(0))) {
        int saved_errno = errno;
        fds[0] = fd_move_high(fds[0], flags & O_CLOEXEC);
        fds[1] = fd_move_high(fds[1], flags & O_CLOEXEC);
        errno = saved_errno;
    }
    return rc;
}
