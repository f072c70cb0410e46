/*
 * json_write.h - the JSON primitives the reports need: strings escaped for
 * any bytes (a trace's paths and names are not guaranteed UTF-8), and
 * numbers that are always valid JSON.
 */
#ifndef MTRACE_JSON_WRITE_H
#define MTRACE_JSON_WRITE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A quoted string; NULL writes null. Control characters, quotes and
 * backslashes are escaped; bytes that are not valid UTF-8 become U+FFFD. */
void json_string(FILE *out, const char *s);
void json_string_n(FILE *out, const char *s, size_t n);
/* The same, safe inside an HTML <script> element: '<', '>' and '&' are
 * written as \u escapes too. */
void json_string_script(FILE *out, const char *s);
/* A finite double with round-trip precision; NaN or infinity writes 0. */
void json_double(FILE *out, double v);
void json_u64(FILE *out, uint64_t v);
void json_bool(FILE *out, int v);

/* Length of the valid UTF-8 sequence at s (n > 0 bytes available), or 0
 * when the bytes there are not one (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF). */
size_t utf8_sequence_length(const unsigned char *s, size_t n);

#endif
