/* json_write.c - see json_write.h. */
#include "json_write.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (n bytes available), or 0 when
 * the bytes there are not one: overlong forms, surrogates and code points
 * above U+10FFFF are invalid too (RFC 3629). */
size_t utf8_sequence_length(const unsigned char *s, size_t n)
{
    size_t len;
    uint32_t cp;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2;
        cp = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
        cp = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        return 0;
    return len;
}

/* html_safe: also '<', '>' and '&' as \u escapes, so that the string can
 * stand inside an HTML <script> element: no "</script>" or "<!--" can
 * end or change it there, whatever the trace's names hold. */
static void write_string(FILE *out, const char *s, size_t n, bool html_safe)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    putc('"', out);
    while (i < n) {
        unsigned char c = p[i];
        size_t len;

        switch (c) {
        case '"': fputs("\\\"", out); i++; continue;
        case '\\': fputs("\\\\", out); i++; continue;
        case '\n': fputs("\\n", out); i++; continue;
        case '\r': fputs("\\r", out); i++; continue;
        case '\t': fputs("\\t", out); i++; continue;
        case '\b': fputs("\\b", out); i++; continue;
        case '\f': fputs("\\f", out); i++; continue;
        }
        if (c < 0x20 || (html_safe && (c == '<' || c == '>' || c == '&'))) {
            fprintf(out, "\\u%04x", c);
            i++;
            continue;
        }
        len = utf8_sequence_length(p + i, n - i);
        if (len == 0) {
            fputs("\\ufffd", out);
            i++;
            continue;
        }
        fwrite(p + i, 1, len, out);
        i += len;
    }
    putc('"', out);
}

void json_string_n(FILE *out, const char *s, size_t n)
{
    write_string(out, s, n, false);
}

void json_string(FILE *out, const char *s)
{
    if (!s)
        fputs("null", out);
    else
        write_string(out, s, strlen(s), false);
}

void json_string_script(FILE *out, const char *s)
{
    if (!s)
        fputs("null", out);
    else
        write_string(out, s, strlen(s), true);
}

void json_double(FILE *out, double v)
{
    if (!isfinite(v))
        v = 0.0;
    fprintf(out, "%.17g", v);
}

void json_u64(FILE *out, uint64_t v)
{
    fprintf(out, "%llu", (unsigned long long)v);
}

void json_bool(FILE *out, int v)
{
    fputs(v ? "true" : "false", out);
}
