/*
 * lifecycle.h - what lifecycle.c (start, end, fork, exec, dlclose)
 * offers the rest of the tracer.
 */
#ifndef MTRACE_LIFECYCLE_H
#define MTRACE_LIFECYCLE_H

/* Ends the trace of a process that exits (exit_status.c calls it once
 * every destructor has run). */
void lifecycle_end_at_exit(void);

/* The C library's dlclose, past ours: for a handle the tracer opened
 * itself, whose closing is no unload of the program's to follow. */
int lifecycle_dlclose_untracked(void *handle);

#endif
