/*
 * suppressions.c - see suppressions.h. Each pattern is kept twice: as the
 * user wrote it (for the report) and as a glob that must match the whole
 * string, where the anchors became the absence of `*` at that end
 * ("foo" -> "*foo*", "^foo" -> "foo*", "foo$" -> "*foo", "^foo$" -> "foo").
 *
 * Unlike LeakSanitizer, which skips the types it does not know, a line
 * that is not `leak:PATTERN` is an error with its line number: a `race:`
 * line in a file given to a leak tool is a mistake worth hearing about.
 */
#include "suppressions.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct suppression {
    char *pattern;   /* as written, after "leak:" */
    char *glob;      /* whole-string glob, `*` the only wildcard */
};

struct suppressions {
    struct suppression *items;
    size_t count, cap;
    /* Separate storage, so that matching through a const handle can count
     * hits: the patterns never change, the tallies do. */
    size_t *hits;
};

static const char leak_type[] = "leak";

/* Whole-string match, `*` matching any run (also empty); backtracks only
 * to the last star, which is enough for star-only globs. */
static bool glob_match(const char *glob, const char *s)
{
    const char *star = NULL, *resume = NULL;

    while (*s) {
        if (*glob == '*') {
            star = glob++;
            resume = s;
        } else if (*glob == *s) {
            glob++;
            s++;
        } else if (star) {
            glob = star + 1;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (*glob == '*')
        glob++;
    return *glob == '\0';
}

static char *make_glob(const char *pattern)
{
    size_t len = strlen(pattern);
    bool start_anchored = len > 0 && pattern[0] == '^';
    bool end_anchored = len > (size_t)start_anchored && pattern[len - 1] == '$';
    const char *body = pattern + start_anchored;
    size_t body_len = len - start_anchored - end_anchored;
    char *glob = malloc(body_len + 3);

    if (!glob)
        return NULL;
    snprintf(glob, body_len + 3, "%s%.*s%s", start_anchored ? "" : "*",
             (int)body_len, body, end_anchored ? "" : "*");
    return glob;
}

/* Trims spaces (and a CR from CRLF files) at both ends, in place. */
static char *trim(char *s)
{
    char *end = s + strlen(s);

    while (isspace((unsigned char)*s))
        s++;
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

static int append(struct suppressions *sup, const char *pattern)
{
    struct suppression item;

    if (sup->count == sup->cap) {
        size_t cap = sup->cap ? sup->cap * 2 : 8;
        struct suppression *items = reallocarray(sup->items, cap, sizeof *items);
        if (!items)
            return -1;
        sup->items = items;
        sup->cap = cap;
    }
    item.pattern = strdup(pattern);
    item.glob = make_glob(pattern);
    if (!item.pattern || !item.glob) {
        free(item.pattern);
        free(item.glob);
        return -1;
    }
    sup->items[sup->count++] = item;
    return 0;
}

/* One line: 0 when it is a comment, blank or a good pattern (appended),
 * else -1 with the message in err ("out of memory" included). */
static int parse_line(struct suppressions *sup, char *line, const char *path,
                      unsigned long lineno, char *err, size_t errlen)
{
    char *text = trim(line), *colon, *type, *pattern;

    if (*text == '\0' || *text == '#')
        return 0;
    colon = strchr(text, ':');
    if (!colon) {
        snprintf(err, errlen, "%s:%lu: expected leak:PATTERN, got '%.60s'",
                 path, lineno, text);
        return -1;
    }
    *colon = '\0';
    type = trim(text);
    pattern = trim(colon + 1);
    if (strcmp(type, leak_type) != 0) {
        snprintf(err, errlen, "%s:%lu: unknown suppression type '%.40s' "
                 "(only leak: is supported)", path, lineno, type);
        return -1;
    }
    if (*pattern == '\0') {
        snprintf(err, errlen, "%s:%lu: empty pattern after leak:", path,
                 lineno);
        return -1;
    }
    if (append(sup, pattern) != 0) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    return 0;
}

struct suppressions *suppressions_load(const char *path, char *err,
                                       size_t errlen)
{
    struct suppressions *sup;
    FILE *file;
    char *line = NULL;
    size_t linecap = 0;
    unsigned long lineno = 0;
    int failed = 0;

    file = fopen(path, "r");
    if (!file) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    sup = calloc(1, sizeof *sup);
    if (!sup) {
        snprintf(err, errlen, "%s: out of memory", path);
        fclose(file);
        return NULL;
    }
    errno = 0;
    while (!failed && getline(&line, &linecap, file) >= 0)
        failed = parse_line(sup, line, path, ++lineno, err, errlen);
    if (!failed && ferror(file)) {
        snprintf(err, errlen, "%s: cannot read: %s", path,
                 strerror(errno ? errno : EIO));
        failed = 1;
    }
    free(line);
    fclose(file);
    if (!failed) {
        sup->hits = calloc(sup->count ? sup->count : 1, sizeof *sup->hits);
        if (!sup->hits) {
            snprintf(err, errlen, "%s: out of memory", path);
            failed = 1;
        }
    }
    if (failed) {
        suppressions_free(sup);
        return NULL;
    }
    return sup;
}

/* The first pattern (in file order) that matches s, or SIZE_MAX. */
static size_t match_string(const struct suppressions *sup, const char *s)
{
    size_t i;

    if (!s)
        return SIZE_MAX;
    for (i = 0; i < sup->count; i++)
        if (glob_match(sup->items[i].glob, s))
            return i;
    return SIZE_MAX;
}

/* Frame by frame from the innermost, as LeakSanitizer does: the module,
 * then the function, then the source file. */
const char *suppressions_match(const struct suppressions *sup,
                               const struct sym_frame *frames, size_t n)
{
    size_t f, hit;

    if (!sup)
        return NULL;
    for (f = 0; f < n; f++) {
        hit = match_string(sup, frames[f].module);
        if (hit == SIZE_MAX)
            hit = match_string(sup, frames[f].function);
        if (hit == SIZE_MAX)
            hit = match_string(sup, frames[f].file);
        if (hit != SIZE_MAX) {
            sup->hits[hit]++;
            return sup->items[hit].pattern;
        }
    }
    return NULL;
}

size_t suppressions_count(const struct suppressions *sup)
{
    return sup ? sup->count : 0;
}

const char *suppressions_pattern(const struct suppressions *sup, size_t i)
{
    return sup && i < sup->count ? sup->items[i].pattern : NULL;
}

size_t suppressions_hits(const struct suppressions *sup, size_t i)
{
    return sup && i < sup->count ? sup->hits[i] : 0;
}

void suppressions_free(struct suppressions *sup)
{
    size_t i;

    if (!sup)
        return;
    for (i = 0; i < sup->count; i++) {
        free(sup->items[i].pattern);
        free(sup->items[i].glob);
    }
    free(sup->items);
    free(sup->hits);
    free(sup);
}
