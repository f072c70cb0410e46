/*
 * thread_create.h - our pthread_create, which libmtrace.so exports: the
 * process's counters go atomic, and the nursery's blocks to the live
 * table, before its second thread exists (counter.h, nursery.h).
 */
#ifndef MTRACE_THREAD_CREATE_H
#define MTRACE_THREAD_CREATE_H

/* Looks up the C library's pthread_create now (at start, where dlsym is
 * safe); a call before that looks it up itself. */
void thread_create_resolve(void);

#endif
