/*
 * reachability.h - the optional conservative scan at exit
 * (MTRACE_REACHABILITY=1): which survivors no chain of pointers reaches
 * from the program's roots, valgrind's "definitely lost" plus "indirectly
 * lost". Roots are every readable and writable mapping except the heap
 * itself and the tracer's arena: module data and bss, thread stacks and
 * their TLS, the program's own mappings; the calling thread's stack only
 * above its stack pointer, and its registers. A pointer anywhere into a
 * block keeps it reachable. libmtrace.so's own data and bss are scanned
 * as any module's, so nothing there may look like a pointer into a block
 * (the nursery keeps its words complemented: nursery.h).
 */
#ifndef MTRACE_REACHABILITY_H
#define MTRACE_REACHABILITY_H

#include <stdint.h>

/* Writes the SURVIVORS records with MT_SURV_UNREACHABLE set where the scan
 * found no pointer. Returns how many were written, or -1 when the scan
 * could not run (then nothing was written). Snapshot lock held. */
int64_t reachability_write_survivors(void);

#endif
