/*
 * procfs.h - reading one of the process's small /proc files without
 * stdio, whose FILE locks and buffers belong to the program.
 */
#ifndef MTRACE_PROCFS_H
#define MTRACE_PROCFS_H

#include <stdbool.h>
#include <stddef.h>

/* /proc/self/NAME's first size - 1 bytes, NUL-terminated, into text;
 * false when it cannot be read or is empty. */
bool procfs_read_self(const char *name, char *text, size_t size);

/* Threads of this process, from /proc/self/stat; 0 when it cannot be
 * read. */
long procfs_thread_count(void);

#endif
