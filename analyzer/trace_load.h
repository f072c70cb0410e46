/*
 * trace_load.h - reads a whole trace into a model: one streaming pass over
 * the records, then a second pass over the SURVIVORS region only, once END
 * has given the end time that their ages are measured against (so no
 * survivor is ever held in memory). A trace cut short gets estimated ages.
 */
#ifndef MTRACE_TRACE_LOAD_H
#define MTRACE_TRACE_LOAD_H

#include <stddef.h>

#include "model.h"

/* Returns 0, or -1 with one line (no newline, without the path) in err:
 * the reason the file is not a trace, is too new, or is damaged. */
int trace_load(const char *path, struct model *m, char *err, size_t errlen);

/* The same over a trace held in memory (reader_open_memory). */
int trace_load_memory(const void *data, size_t size, struct model *m,
                      char *err, size_t errlen);

#endif
