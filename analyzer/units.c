/* units.c - see units.h. */
#include "units.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* A decimal number split into exact integers, so that "1.5G" is computed
 * without floating-point rounding: whole + frac_digits / 10^frac_len. */
struct decimal {
    uint64_t whole;
    uint64_t frac_digits;
    uint64_t frac_scale;    /* 10^frac_len */
    const char *suffix;     /* first character after the number */
};

/* Fractions beyond this many digits add nothing a byte or a nanosecond
 * count can hold, and would overflow frac_scale. */
#define DECIMAL_MAX_FRAC_DIGITS 9

static int parse_decimal(const char *text, struct decimal *d, char *err,
                         size_t errlen)
{
    const char *p = text;
    bool any_digit = false;

    d->whole = 0;
    d->frac_digits = 0;
    d->frac_scale = 1;
    if (*p == '-') {
        snprintf(err, errlen, "'%s' is negative", text);
        return -1;
    }
    while (isdigit((unsigned char)*p)) {
        unsigned digit = (unsigned)(*p - '0');
        if (d->whole > (UINT64_MAX - digit) / 10) {
            snprintf(err, errlen, "'%s' is too large", text);
            return -1;
        }
        d->whole = d->whole * 10 + digit;
        any_digit = true;
        p++;
    }
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) {
            if (d->frac_scale < 1000000000ull) {
                d->frac_digits = d->frac_digits * 10 + (uint64_t)(*p - '0');
                d->frac_scale *= 10;
            }
            any_digit = true;
            p++;
        }
    }
    if (!any_digit) {
        snprintf(err, errlen, "'%s' is not a number", text);
        return -1;
    }
    d->suffix = p;
    return 0;
}

/* whole * unit + frac * unit, rounded to the nearest integer; -1 on
 * overflow. frac_digits < frac_scale <= 10^9 and unit < 2^64. */
static int decimal_scale(const struct decimal *d, uint64_t unit,
                         uint64_t *out)
{
    unsigned __int128 frac, total;

    if (unit != 0 && d->whole > UINT64_MAX / unit)
        return -1;
    frac = ((unsigned __int128)d->frac_digits * unit + d->frac_scale / 2) /
           d->frac_scale;
    total = (unsigned __int128)d->whole * unit + frac;
    if (total > UINT64_MAX)
        return -1;
    *out = (uint64_t)total;
    return 0;
}

int units_parse_size(const char *text, uint64_t *bytes, char *err,
                     size_t errlen)
{
    static const struct { const char *name; uint64_t unit; } suffixes[] = {
        { "", 1 }, { "B", 1 },
        { "K", 1ull << 10 }, { "KB", 1ull << 10 }, { "KiB", 1ull << 10 },
        { "M", 1ull << 20 }, { "MB", 1ull << 20 }, { "MiB", 1ull << 20 },
        { "G", 1ull << 30 }, { "GB", 1ull << 30 }, { "GiB", 1ull << 30 },
    };
    struct decimal d;
    size_t i;

    if (!text || !*text) {
        snprintf(err, errlen, "an empty size is not a size");
        return -1;
    }
    if (parse_decimal(text, &d, err, errlen) < 0)
        return -1;
    for (i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        if (strcasecmp(d.suffix, suffixes[i].name) != 0)
            continue;
        if (suffixes[i].unit == 1 && d.frac_digits != 0) {
            snprintf(err, errlen, "'%s' is not a whole number of bytes",
                     text);
            return -1;
        }
        if (decimal_scale(&d, suffixes[i].unit, bytes) < 0) {
            snprintf(err, errlen, "'%s' is too large", text);
            return -1;
        }
        return 0;
    }
    snprintf(err, errlen,
             "'%s' has an unknown unit (use bytes or K, M, G: e.g. 64K, 1.5M)",
             text);
    return -1;
}

int units_parse_duration(const char *text, uint64_t *ns, char *err,
                         size_t errlen)
{
    static const struct { const char *name; uint64_t unit; } suffixes[] = {
        { "ns", 1 }, { "us", 1000 }, { "ms", 1000000 },
        { "s", 1000000000ull }, { "m", 60000000000ull },
        { "min", 60000000000ull }, { "h", 3600000000000ull },
    };
    struct decimal d;
    size_t i;

    if (!text || !*text) {
        snprintf(err, errlen, "an empty duration is not a duration");
        return -1;
    }
    if (parse_decimal(text, &d, err, errlen) < 0)
        return -1;
    if (!*d.suffix) {
        snprintf(err, errlen,
                 "'%s' needs a unit: ns, us, ms, s, m or h (e.g. 500ms, 2s)",
                 text);
        return -1;
    }
    for (i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        if (strcmp(d.suffix, suffixes[i].name) != 0)
            continue;
        if (decimal_scale(&d, suffixes[i].unit, ns) < 0) {
            snprintf(err, errlen, "'%s' is too long", text);
            return -1;
        }
        return 0;
    }
    snprintf(err, errlen,
             "'%s' has an unknown unit (use ns, us, ms, s, m or h: e.g. 500ms)",
             text);
    return -1;
}

char *units_format_size(uint64_t bytes, char buf[UNITS_BUF])
{
    static const char *const names[] = { "KiB", "MiB", "GiB", "TiB", "PiB",
                                         "EiB" };
    double value = (double)bytes;
    size_t i = 0;

    if (bytes < 1024) {
        snprintf(buf, UNITS_BUF, "%llu B", (unsigned long long)bytes);
        return buf;
    }
    value /= 1024.0;
    /* Rounding to one decimal can reach 1024.0: move up a unit then. */
    while (value >= 1023.95 && i + 1 < sizeof names / sizeof names[0]) {
        value /= 1024.0;
        i++;
    }
    snprintf(buf, UNITS_BUF, "%.1f %s", value, names[i]);
    return buf;
}

char *units_format_duration(uint64_t ns, char buf[UNITS_BUF])
{
    double v = (double)ns;

    if (ns < 1000)
        snprintf(buf, UNITS_BUF, "%llu ns", (unsigned long long)ns);
    else if (ns < 1000000)
        snprintf(buf, UNITS_BUF, "%.0f us", v / 1e3);
    else if (ns < 1000000000ull)
        snprintf(buf, UNITS_BUF, "%.0f ms", v / 1e6);
    else if (ns < 60000000000ull)
        snprintf(buf, UNITS_BUF, "%.1f s", v / 1e9);
    else if (ns < 3600000000000ull)
        snprintf(buf, UNITS_BUF, "%.1f min", v / 6e10);
    else
        snprintf(buf, UNITS_BUF, "%.1f h", v / 3.6e12);
    return buf;
}

uint64_t units_round_u64(double x)
{
    x += 0.5;
    if (!(x >= 1.0))                /* also NaN */
        return 0;
    if (x >= 0x1p64)
        return UINT64_MAX;
    return (uint64_t)x;
}
