/* procfs.c - see procfs.h. */
#include "procfs.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

bool procfs_read_self(const char *name, char *text, size_t size)
{
    char path[64];
    ssize_t n;
    int fd;

    if (size < 2 ||
        snprintf(path, sizeof path, "/proc/self/%s", name) >= (int)sizeof path)
        return false;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    n = read(fd, text, size - 1);
    close(fd);
    if (n <= 0)
        return false;
    text[n] = '\0';
    return true;
}
