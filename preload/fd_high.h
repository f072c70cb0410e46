/* fd_high.h - descriptors of ours kept above the numbers programs use. */
#ifndef MTRACE_FD_HIGH_H
#define MTRACE_FD_HIGH_H

#include <fcntl.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <unistd.h>

/* Programs use low descriptors (and some close them all, then open their
 * files again from 3): ours go from here up, when the limit allows. */
#define FD_HIGH_MIN 500

/* Where ours start: FD_HIGH_MIN, or three quarters up a lower limit
 * (prlimit --nofile=64: 48), still above the numbers opened first. */
static inline int fd_high_floor(void)
{
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 &&
        limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur <= FD_HIGH_MIN + 16)
        return (int)(limit.rlim_cur / 4 * 3);
    return FD_HIGH_MIN;
}

/* fd moved to the lowest free number from fd_high_floor(), close-on-exec
 * as asked; fd itself when it is there already or cannot move. */
static inline int fd_move_high(int fd, bool cloexec)
{
    int high, floor = fd_high_floor();
    if (fd >= floor)
        return fd;
    high = fcntl(fd, cloexec ? F_DUPFD_CLOEXEC : F_DUPFD, floor);
    if (high < 0)
        return fd;
    close(fd);
    return high;
}

#endif
