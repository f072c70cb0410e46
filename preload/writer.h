/*
 * writer.h - the trace file: creation without ever overwriting or
 * following a planted symlink, a buffer that records are encoded into, and
 * write(2) of the whole buffer when a snapshot is complete. Every function
 * is called with the snapshot lock held (lifecycle.h), so the buffer needs
 * no lock of its own.
 */
#ifndef MTRACE_WRITER_H
#define MTRACE_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "trace_encode.h"

/* Creates the trace for this process from the MTRACE_OUT pattern (%p is the
 * pid): PATH, else PATH with .2, .3, ... before ".trace". Writes the file
 * header. -1 with one stderr line when it cannot. */
int writer_open(const char *pattern, pid_t pid);
bool writer_is_open(void);
const char *writer_path(void);

/* The buffer to encode into; writer_reserve flushes first unless `bytes`
 * fit. Both return NULL/-1 when the file is gone (then stop writing). */
struct trace_buf *writer_buf(void);
int writer_reserve(size_t bytes);
/* Writes the buffer out. 0, or -1 (reported once) when the file is lost. */
int writer_flush(void);

/* Records of `count` entries after a {count, reserved} header, split
 * into as many records as the buffer and MT_RECORD_MAX need. Entries are
 * entry_size bytes, or (add_sized) any size up to it. */
int writer_counted_begin(uint32_t type, size_t entry_size);
int writer_counted_add(const void *entry);
int writer_counted_add_sized(const void *entry, size_t size);
int writer_counted_end(void);

/* Bytes in the file so far, flushed or not; truncating back to such a
 * mark undoes what was written after it (a failed exec). */
uint64_t writer_mark(void);
int writer_truncate(uint64_t mark);

/* Points the writer at a new file, mtrace.<pid>.snapN.trace beside the
 * trace, that starts as a copy of everything flushed so far; until
 * writer_copy_end, records go there. -1 (with one stderr line) if the copy
 * cannot be made; the main trace is untouched either way. */
int writer_copy_begin(unsigned seq);
void writer_copy_end(void);

/* Flushes and closes; with `remove`, the file is unlinked instead. */
void writer_close(bool remove);
/* Forgets the file without flushing: a forked child's copy of the
 * parent's descriptor and buffer. */
void writer_forget(void);

#endif
