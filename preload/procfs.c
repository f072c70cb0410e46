/* procfs.c - see procfs.h. */
#include "procfs.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

long procfs_thread_count(void)
{
    char buf[1024];
    const char *p;
    if (!procfs_read_self("stat", buf, sizeof buf))
        return 0;
    /* Field 20. The command name may hold spaces and parentheses: count
     * fields after its last ')'. Field 3 follows it. */
    p = strrchr(buf, ')');
    for (int field = 2; p && field < 20; field++)
        p = strchr(p + 1, ' ');
    return p ? strtol(p + 1, NULL, 10) : 0;
}
