/* log.c - see log.h. Formats into a stack buffer: stdio's FILE locks and
 * buffers belong to the program. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

void mt_log(const char *fmt, ...)
{
    char line[512] = "mtrace: ";
    size_t prefix = sizeof "mtrace: " - 1, len;
    int saved_errno = errno, n;
    va_list ap;

    va_start(ap, fmt);
    n = vsnprintf(line + prefix, sizeof line - prefix - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    len = prefix + ((size_t)n < sizeof line - prefix - 1 ? (size_t)n
                                                          : sizeof line - prefix - 2);
    line[len++] = '\n';
    while (len > 0) {
        ssize_t w = write(STDERR_FILENO, line, len);
        if (w < 0 && errno == EINTR)
            continue;
        break;
    }
    errno = saved_errno;
}
