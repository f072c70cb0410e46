/* fd_high.h - descriptors of ours kept above the numbers programs use. */
#ifndef MTRACE_FD_HIGH_H
#define MTRACE_FD_HIGH_H

#include <fcntl.h>
#include <stdbool.h>
#include <unistd.h>

/* Programs use low descriptors (and some close them all, then open their
 * files again from 3): ours go from here up, when the limit allows. */
#define FD_HIGH_MIN 500

/* fd moved to the lowest free number from FD_HIGH_MIN, close-on-exec as
 * asked; fd itself when it is there already or cannot move. */
static inline int fd_move_high(int fd, bool cloexec)
{
    int high;
    if (fd >= FD_HIGH_MIN)
        return fd;
    high = fcntl(fd, cloexec ? F_DUPFD_CLOEXEC : F_DUPFD, FD_HIGH_MIN);
    if (high < 0)
        return fd;
    close(fd);
    return high;
}

#endif
