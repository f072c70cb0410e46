/*
 * symbols.h - offline symbolization of recorded return addresses with
 * elfutils' libdwfl, from the module map a trace recorded (trace_format.h
 * struct mt_module). One symbolizer per module map generation.
 */
#ifndef MTRACE_SYMBOLS_H
#define MTRACE_SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* One module as the trace recorded it. Strings and bytes are borrowed for
 * the duration of symbolizer_new only (the symbolizer copies them). */
struct sym_module {
    const char *path;
    uint64_t bias, start, end;
    const uint8_t *build_id;
    size_t build_id_len;
    uint64_t dev, ino, size;
    int64_t mtime_ns;
};

/* One (possibly inlined) frame. Strings are owned by the symbolizer and
 * live as long as it does; NULL when unknown. */
struct sym_frame {
    const char *function;   /* demangled (C++) */
    const char *file;       /* source file, as DWARF names it */
    int line;               /* 0 when unknown */
    const char *module;     /* module path, NULL when no module holds it */
    uint64_t address;       /* the recorded return address */
    uint64_t module_offset; /* address - module bias */
    bool inlined;           /* inlined into the frame that follows it */
};

struct symbolizer;

/* Never fails for missing or changed files: it warns once per such module
 * on `warn` (may be NULL) and resolves its addresses as module+offset.
 * Returns NULL only when out of memory. */
struct symbolizer *symbolizer_new(const struct sym_module *modules, size_t n,
                                  FILE *warn);

/* Resolves a return address (looked up at address - 1, the call itself).
 * Writes up to `max` frames, innermost (most deeply inlined) first, and
 * returns how many (at least 1 when max >= 1). Results are cached. */
size_t symbolizer_resolve(struct symbolizer *sym, uint64_t address,
                          struct sym_frame *out, size_t max);

void symbolizer_free(struct symbolizer *sym);

#endif
