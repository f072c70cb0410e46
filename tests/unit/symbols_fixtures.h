/* symbols_fixtures.h - fixtures for the symbolizer tests (test_symbols.c).
 * build_fixtures() compiles small C and C++ shared libraries and PIE and
 * non-PIE executables into test_tmpdir(); the tests take real return
 * addresses from them, record their module maps as the tracer would, and
 * check what analyzer/symbols.c makes of them. */
#ifndef MTRACE_TEST_SYMBOLS_FIXTURES_H
#define MTRACE_TEST_SYMBOLS_FIXTURES_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "symbols.h"

/* Fixture sources. "@name" markers let the tests find the line of each
 * call with marker_line(). The executable prints its own module (bias,
 * start, end) and a return address, as four hex numbers. */
extern const char c_library_source[];
extern const char cxx_library_source[];
extern const char executable_source[];

/* Set by build_fixtures(): whether every fixture compiled, and where. */
extern bool fixtures_built;
extern char c_library_path[PATH_MAX];     /* libfx.so */
extern char based_library_path[PATH_MAX]; /* libfx.so linked at 0x200000 */
extern char cxx_library_path[PATH_MAX];   /* libfx_cxx.so */
extern char pie_path[PATH_MAX];           /* executable, -pie */
extern char non_pie_path[PATH_MAX];       /* executable, -no-pie */

/* Compiles all fixtures into test_tmpdir(). Run it as an unchecked
 * fixture: Check forks every test, and compiling per test is slow. */
void build_fixtures(void);

/* The 1-based line of the first occurrence of marker in source. */
int marker_line(const char *source, const char *marker);

/* Writes text to path; false on any error. */
bool write_text_file(const char *path, const char *text);

/* What the tracer records for one loaded module. */
struct recorded_module {
    char path[PATH_MAX];
    uint64_t bias, start, end;
    uint8_t build_id[64];
    size_t build_id_len;
    struct sym_module module;
};

/* Records a module loaded in this process, found by its dlpi_name;
 * "" means the main program, recorded under /proc/self/exe. */
void record_loaded_module(const char *name, struct recorded_module *rec);

/* Fills in rec->module from rec's path, bias, range and build-id, with
 * file identity (size, mtime, device, inode) from the file as it is now. */
void describe_module(struct recorded_module *rec);

/* dlopen()s a fixture library; fails the test if fixtures did not build. */
void *open_fixture(const char *path);

/* Calls function (void *(void)) in an opened fixture, returning its
 * result: the return address the fixture captured. */
void *call_fixture(void *handle, const char *function);

/* Warnings go to a memory stream so the tests can count them. */
struct captured_warnings {
    FILE *stream;
    char *text; /* all warnings so far, after warning_lines() */
    size_t size;
};

void capture_warnings(struct captured_warnings *warnings);
/* Flushes the stream and counts the warning lines written so far. */
int warning_lines(struct captured_warnings *warnings);
void release_warnings(struct captured_warnings *warnings);

/* Asserts frame's function, file basename, line and inlined flag. */
void assert_frame(const struct sym_frame *frame, const char *function,
                  const char *file_basename, int line, bool inlined);

#endif
