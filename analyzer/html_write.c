/* html_write.c - see html_write.h. */
#include "html_write.h"

#include <string.h>

#include "json_write.h"

void html_text_cut(FILE *out, const char *s, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n, i = 0, chars = 0;

    if (!s)
        return;
    n = strlen(s);
    while (i < n) {
        unsigned char c = p[i];
        size_t len;

        if (chars == max) {
            fputs("..", out);
            return;
        }
        chars++;
        switch (c) {
        case '&': fputs("&amp;", out); i++; continue;
        case '<': fputs("&lt;", out); i++; continue;
        case '>': fputs("&gt;", out); i++; continue;
        case '"': fputs("&quot;", out); i++; continue;
        case '\'': fputs("&#39;", out); i++; continue;
        case '\t': case '\n': putc(c, out); i++; continue;
        }
        len = c < 0x20 || c == 0x7f ? 0 : utf8_sequence_length(p + i, n - i);
        if (len == 0) {
            fputs("\xef\xbf\xbd", out);     /* U+FFFD */
            i++;
            continue;
        }
        fwrite(p + i, 1, len, out);
        i += len;
    }
}

void html_text(FILE *out, const char *s)
{
    html_text_cut(out, s, (size_t)-1);
}
