/*
 * html_write.h - text from a trace (program paths, function and file
 * names: untrusted, not guaranteed UTF-8) written safely into HTML, as
 * element content or as a quoted attribute value.
 */
#ifndef MTRACE_HTML_WRITE_H
#define MTRACE_HTML_WRITE_H

#include <stddef.h>
#include <stdio.h>

/* &, <, >, " and ' become character references; bytes that are not valid
 * UTF-8 and control characters other than tab and newline become U+FFFD.
 * NULL writes nothing. */
void html_text(FILE *out, const char *s);
/* At most `max` characters (code points) of s; a cut one ends in "..". */
void html_text_cut(FILE *out, const char *s, size_t max);

#endif
