/*
 * suppressions.h - LeakSanitizer-format suppression files (`leak:PATTERN`
 * lines, `#` comments), matched against a site's symbolized frames.
 */
#ifndef MTRACE_SUPPRESSIONS_H
#define MTRACE_SUPPRESSIONS_H

#include <stddef.h>

#include "symbols.h"

struct suppressions;

/* Loads FILE. On error returns NULL and writes one line (no newline)
 * naming the file and, for a bad line, its number into err. */
struct suppressions *suppressions_load(const char *path, char *err,
                                       size_t errlen);

/* The pattern that suppresses this stack, or NULL. A pattern matches a
 * frame's function, source file or module path, as LeakSanitizer does:
 * substring match, `*` matches any run of characters, a leading `^` or a
 * trailing `$` anchor the match. */
const char *suppressions_match(const struct suppressions *sup,
                               const struct sym_frame *frames, size_t n);

/* How many times each pattern matched, for the report. */
size_t suppressions_count(const struct suppressions *sup);
const char *suppressions_pattern(const struct suppressions *sup, size_t i);
size_t suppressions_hits(const struct suppressions *sup, size_t i);

void suppressions_free(struct suppressions *sup);

#endif
