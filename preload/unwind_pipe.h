/*
 * unwind_pipe.h - keeps libunwind's pipe out of the program's descriptors.
 *
 * libunwind 1.6 checks the addresses it is unsure of (frame-chain steps,
 * signal frames) by writing them into a pipe. It opens the pipe on first
 * use, at our start, and opens it again whenever a read from it fails,
 * closing both old numbers first. At the lowest free numbers, 3 and 4, the
 * pipe shifts every descriptor the program opens after it; and a program
 * that closes all its descriptors and opens its files again gets them at 3
 * and 4, which libunwind's next check closes under it (a daemon's log
 * silently lost). So libmtrace.so's pipe2 moves the pair libunwind asks
 * for up where the trace's descriptor is (fd_high.h); any other caller
 * gets the system call unchanged.
 *
 * Up there the numbers are rarely the program's, but a program that
 * closed everything may open that many files again: before each walk of
 * libunwind's, unwind_pipe_ready checks that its numbers are still its
 * pipe, and puts a pipe back on them when they are free.
 */
#ifndef MTRACE_UNWIND_PIPE_H
#define MTRACE_UNWIND_PIPE_H

#include <stdbool.h>
#include <stdint.h>

/* Once, before libunwind's first use: libunwind is the object whose code
 * holds libunwind_code. */
void unwind_pipe_init(uintptr_t libunwind_code);

/* Whether libunwind may walk now: false when the numbers of its pipe are
 * another object's (libunwind would read or write the program's file).
 * errno is kept. */
bool unwind_pipe_ready(void);

#endif
