/*
 * units.h - the human units of the command line and the reports: sizes
 * ("64K", "1.5M": K, M, G are powers of 1024) and durations ("500ms",
 * "1.5s", "1m"), parsed strictly and formatted for people.
 */
#ifndef MTRACE_UNITS_H
#define MTRACE_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* Each returns 0 and stores the value, or -1 and writes one sentence (no
 * newline) that says what is wrong with `text` into err. */
int units_parse_size(const char *text, uint64_t *bytes, char *err,
                     size_t errlen);
int units_parse_duration(const char *text, uint64_t *ns, char *err,
                         size_t errlen);

/* "512 B", "1.5 KiB", "12.0 MiB"; returns buf. */
#define UNITS_BUF 32
char *units_format_size(uint64_t bytes, char buf[UNITS_BUF]);
/* "15 ns", "120 us", "2.3 s", "4.0 min", "1.5 h"; returns buf. */
char *units_format_duration(uint64_t ns, char buf[UNITS_BUF]);

/* x rounded to the nearest integer, saturated to [0, UINT64_MAX] (NaN is
 * 0): a rate computed from a damaged trace may not fit, and a plain cast
 * of a double out of range is undefined. */
uint64_t units_round_u64(double x);

#endif
