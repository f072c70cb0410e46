/* test_symbols.c - the symbolizer: shared libraries, PIE and non-PIE
 * executables, inlined frames, C++ names, missing and changed modules.
 * Fixtures (symbols_fixtures.c) are compiled with gcc/g++ into test_tmpdir()
 * once, and real return addresses are taken from them, as the tracer would
 * record. */
#include "suites.h"
#include "symbols.h"
#include "symbols_fixtures.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static void check_shared_library(const char *path)
{
    struct recorded_module lib;
    struct captured_warnings warnings;
    struct sym_frame frames[8];
    void *handle = open_fixture(path);
    uint64_t ra = (uint64_t)(uintptr_t)call_fixture(handle, "fx_plain");
    struct symbolizer *sym;

    record_loaded_module(path, &lib);
    ck_assert_uint_gt(lib.build_id_len, 0);
    capture_warnings(&warnings);
    sym = symbolizer_new(&lib.module, 1, warnings.stream);
    ck_assert_ptr_nonnull(sym);
    ck_assert_uint_eq(symbolizer_resolve(sym, ra, frames, 8), 1);
    assert_frame(&frames[0], "fx_plain", "fx.c",
                 marker_line(c_library_source, "@plain_call"), false);
    ck_assert_str_eq(frames[0].module, path);
    ck_assert_uint_eq(frames[0].address, ra);
    ck_assert_uint_eq(frames[0].module_offset, ra - lib.bias);
    ck_assert_int_eq(warning_lines(&warnings), 0);
    symbolizer_free(sym);
    release_warnings(&warnings);
    dlclose(handle);
}

START_TEST(test_shared_library_function_and_line)
{
    check_shared_library(c_library_path);
}
END_TEST

/* Linked to run at 0x200000, like a prelinked library: the load bias is
 * then not where the first segment starts. */
START_TEST(test_shared_library_with_nonzero_base)
{
    check_shared_library(based_library_path);
}
END_TEST

START_TEST(test_inlined_frames_innermost_first)
{
    struct recorded_module lib;
    struct sym_frame frames[8];
    void *handle = open_fixture(c_library_path);
    uint64_t outer_ra = (uint64_t)(uintptr_t)call_fixture(handle, "fx_outer");
    uint64_t deep_ra = (uint64_t)(uintptr_t)call_fixture(handle, "fx_deep");
    struct symbolizer *sym;

    record_loaded_module(c_library_path, &lib);
    sym = symbolizer_new(&lib.module, 1, NULL);
    ck_assert_uint_eq(symbolizer_resolve(sym, outer_ra, frames, 8), 2);
    assert_frame(&frames[0], "fx_inner", "fx.c",
                 marker_line(c_library_source, "@inner_call"), true);
    assert_frame(&frames[1], "fx_outer", "fx.c",
                 marker_line(c_library_source, "@outer_call"), false);
    ck_assert_uint_eq(frames[1].address, outer_ra);
    ck_assert_str_eq(frames[1].module, c_library_path);

    ck_assert_uint_eq(symbolizer_resolve(sym, deep_ra, frames, 8), 3);
    assert_frame(&frames[0], "fx_inner", "fx.c",
                 marker_line(c_library_source, "@inner_call"), true);
    assert_frame(&frames[1], "fx_middle", "fx.c",
                 marker_line(c_library_source, "@middle_call"), true);
    assert_frame(&frames[2], "fx_deep", "fx.c",
                 marker_line(c_library_source, "@deep_call"), false);
    symbolizer_free(sym);
    dlclose(handle);
}
END_TEST

START_TEST(test_max_limits_frames_and_cache_keeps_strings)
{
    struct recorded_module lib;
    struct sym_frame first[8], again[8];
    void *handle = open_fixture(c_library_path);
    uint64_t deep_ra = (uint64_t)(uintptr_t)call_fixture(handle, "fx_deep");
    struct symbolizer *sym;

    record_loaded_module(c_library_path, &lib);
    sym = symbolizer_new(&lib.module, 1, NULL);
    ck_assert_uint_eq(symbolizer_resolve(sym, deep_ra, first, 0), 0);
    ck_assert_uint_eq(symbolizer_resolve(sym, deep_ra, first, 1), 1);
    ck_assert_str_eq(first[0].function, "fx_inner");
    ck_assert_uint_eq(symbolizer_resolve(sym, deep_ra, first, 8), 3);
    ck_assert_uint_eq(symbolizer_resolve(sym, deep_ra, again, 8), 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_ptr_eq(first[i].function, again[i].function);
        ck_assert_ptr_eq(first[i].file, again[i].file);
        ck_assert_int_eq(first[i].line, again[i].line);
    }
    symbolizer_free(sym);
    dlclose(handle);
}
END_TEST

START_TEST(test_cxx_names_demangled)
{
    struct recorded_module lib;
    struct sym_frame frames[8];
    void *handle = open_fixture(cxx_library_path);
    void *(*grow)(int) = (void *(*)(int))dlsym(handle, "fx_cxx_grow");
    void *(*twice)(int) = (void *(*)(int))dlsym(handle, "fx_cxx_twice");
    uint64_t grow_ra, twice_ra;
    struct symbolizer *sym;

    ck_assert(grow && twice);
    grow_ra = (uint64_t)(uintptr_t)grow(3);
    twice_ra = (uint64_t)(uintptr_t)twice(3);
    record_loaded_module(cxx_library_path, &lib);
    sym = symbolizer_new(&lib.module, 1, NULL);
    ck_assert_uint_eq(symbolizer_resolve(sym, grow_ra, frames, 8), 1);
    assert_frame(&frames[0], "ns::widget::grow(int)", "fx_cxx.cc",
                 marker_line(cxx_library_source, "@grow_call"), false);
    ck_assert_uint_eq(symbolizer_resolve(sym, twice_ra, frames, 8), 2);
    assert_frame(&frames[0], "ns::twice(int)", "fx_cxx.cc",
                 marker_line(cxx_library_source, "@twice_call"), true);
    assert_frame(&frames[1], "fx_cxx_twice", "fx_cxx.cc",
                 marker_line(cxx_library_source, "@cxx_twice_call"), false);
    symbolizer_free(sym);
    dlclose(handle);
}
END_TEST

/* Runs an executable fixture and symbolizes the return address it prints,
 * with no build-id recorded, so file identity is size and mtime. */
static void check_executable(const char *path, bool expect_pie)
{
    struct recorded_module exe = { 0 };
    struct captured_warnings warnings;
    struct sym_frame frames[8];
    char command[PATH_MAX + 8];
    unsigned long bias, start, end, ra;
    struct symbolizer *sym;
    FILE *output;
    int fields;

    ck_assert_msg(fixtures_built, "fixtures did not compile");
    snprintf(command, sizeof command, "'%s'", path);
    output = popen(command, "r");
    ck_assert_ptr_nonnull(output);
    fields = fscanf(output, "%lx %lx %lx %lx", &bias, &start, &end, &ra);
    ck_assert_int_eq(pclose(output), 0);
    ck_assert_int_eq(fields, 4);
    ck_assert(expect_pie ? bias != 0 : bias == 0);
    snprintf(exe.path, sizeof exe.path, "%s", path);
    exe.bias = bias;
    exe.start = start;
    exe.end = end;
    describe_module(&exe);

    capture_warnings(&warnings);
    sym = symbolizer_new(&exe.module, 1, warnings.stream);
    ck_assert_uint_eq(symbolizer_resolve(sym, ra, frames, 8), 1);
    assert_frame(&frames[0], "fx_exe_caller", "fx_exe.c",
                 marker_line(executable_source, "@exe_call"), false);
    ck_assert_uint_eq(frames[0].module_offset, ra - bias);
    ck_assert_int_eq(warning_lines(&warnings), 0);
    symbolizer_free(sym);
    release_warnings(&warnings);
}

START_TEST(test_pie_executable)
{
    check_executable(pie_path, true);
}
END_TEST

START_TEST(test_non_pie_executable)
{
    check_executable(non_pie_path, false);
}
END_TEST

static volatile int self_sink;

__attribute__((noipa)) static void *capture_return_address(void)
{
    return __builtin_return_address(0);
}

__attribute__((noipa)) static void *call_from_known_line(int *line)
{
    void *ra = capture_return_address(); *line = __LINE__;
    self_sink++;
    return ra;
}

START_TEST(test_unit_test_binary_itself)
{
    struct recorded_module self;
    struct sym_frame frames[8];
    int line = 0;
    uint64_t ra = (uint64_t)(uintptr_t)call_from_known_line(&line);
    struct symbolizer *sym;

    record_loaded_module("", &self);
    sym = symbolizer_new(&self.module, 1, NULL);
    ck_assert_uint_eq(symbolizer_resolve(sym, ra, frames, 8), 1);
    assert_frame(&frames[0], "call_from_known_line", "test_symbols.c", line,
                 false);
    ck_assert_str_eq(frames[0].module, self.path);
    symbolizer_free(sym);
}
END_TEST

START_TEST(test_missing_module_warns_once)
{
    const struct sym_module modules[] = {
        { .path = "/nonexistent/mtrace/libgone.so", .bias = 0x10000000,
          .start = 0x10000000, .end = 0x10010000 },
        { .path = "/nonexistent/mtrace/libother.so", .bias = 0x20000000,
          .start = 0x20000000, .end = 0x20010000 },
    };
    struct captured_warnings warnings;
    struct sym_frame frame;
    struct symbolizer *sym;

    capture_warnings(&warnings);
    sym = symbolizer_new(modules, 2, warnings.stream);
    ck_assert_ptr_nonnull(sym);
    ck_assert_int_eq(warning_lines(&warnings), 0);
    ck_assert_uint_eq(symbolizer_resolve(sym, 0x10000123, &frame, 1), 1);
    ck_assert_ptr_null(frame.function);
    ck_assert_ptr_null(frame.file);
    ck_assert_str_eq(frame.module, "/nonexistent/mtrace/libgone.so");
    ck_assert_uint_eq(frame.module_offset, 0x123);
    ck_assert_int_eq(warning_lines(&warnings), 1);
    ck_assert_ptr_nonnull(strstr(warnings.text,
                                 "module /nonexistent/mtrace/libgone.so is missing"));
    ck_assert_ptr_nonnull(strstr(warnings.text, "module+offset"));
    ck_assert_uint_eq(symbolizer_resolve(sym, 0x10000456, &frame, 1), 1);
    ck_assert_uint_eq(frame.module_offset, 0x456);
    ck_assert_int_eq(warning_lines(&warnings), 1);
    symbolizer_resolve(sym, 0x20000010, &frame, 1);
    ck_assert_int_eq(warning_lines(&warnings), 2);
    symbolizer_free(sym);
    release_warnings(&warnings);
}
END_TEST

static void check_changed(struct recorded_module *lib, uint64_t ra)
{
    struct captured_warnings warnings;
    struct sym_frame frame;
    struct symbolizer *sym;
    char expected[PATH_MAX + 64];

    capture_warnings(&warnings);
    sym = symbolizer_new(&lib->module, 1, warnings.stream);
    ck_assert_uint_eq(symbolizer_resolve(sym, ra, &frame, 1), 1);
    ck_assert_ptr_null(frame.function);
    ck_assert_int_eq(frame.line, 0);
    ck_assert_str_eq(frame.module, lib->path);
    ck_assert_uint_eq(frame.module_offset, ra - lib->bias);
    symbolizer_resolve(sym, ra + 1, &frame, 1);
    ck_assert_int_eq(warning_lines(&warnings), 1);
    snprintf(expected, sizeof expected, "module %s is changed since the recording",
             lib->path);
    ck_assert_ptr_nonnull(strstr(warnings.text, expected));
    symbolizer_free(sym);
    release_warnings(&warnings);
}

START_TEST(test_changed_build_id)
{
    struct recorded_module lib;
    void *handle = open_fixture(c_library_path);
    uint64_t ra = (uint64_t)(uintptr_t)call_fixture(handle, "fx_plain");

    record_loaded_module(c_library_path, &lib);
    ck_assert_uint_gt(lib.build_id_len, 0);
    lib.build_id[0] ^= 0xff;
    check_changed(&lib, ra);
    dlclose(handle);
}
END_TEST

START_TEST(test_changed_mtime_without_build_id)
{
    struct recorded_module lib;
    void *handle = open_fixture(c_library_path);
    uint64_t ra = (uint64_t)(uintptr_t)call_fixture(handle, "fx_plain");

    record_loaded_module(c_library_path, &lib);
    lib.module.build_id_len = 0;
    lib.module.mtime_ns += 1;
    check_changed(&lib, ra);
    dlclose(handle);
}
END_TEST

START_TEST(test_not_an_elf_file)
{
    char path[PATH_MAX];
    struct sym_module module = { .path = path, .bias = 0x30000000,
                                 .start = 0x30000000, .end = 0x30001000 };
    struct captured_warnings warnings;
    struct sym_frame frame;
    struct symbolizer *sym;

    snprintf(path, sizeof path, "%s/not-elf.so", test_tmpdir());
    ck_assert(write_text_file(path, "just text\n"));
    capture_warnings(&warnings);
    sym = symbolizer_new(&module, 1, warnings.stream);
    ck_assert_uint_eq(symbolizer_resolve(sym, 0x30000010, &frame, 1), 1);
    ck_assert_ptr_null(frame.function);
    ck_assert_str_eq(frame.module, path);
    ck_assert_int_eq(warning_lines(&warnings), 1);
    ck_assert_ptr_nonnull(strstr(warnings.text, "is not an ELF file"));
    symbolizer_free(sym);
    release_warnings(&warnings);
}
END_TEST

START_TEST(test_pseudo_modules_silent)
{
    const struct sym_module modules[] = {
        { .path = "[vdso]", .bias = 0x7000, .start = 0x7000, .end = 0x8000 },
        { .path = "linux-vdso.so.1", .bias = 0x9000, .start = 0x9000,
          .end = 0xa000 },
    };
    struct captured_warnings warnings;
    struct sym_frame frame;
    struct symbolizer *sym;

    capture_warnings(&warnings);
    sym = symbolizer_new(modules, 2, warnings.stream);
    ck_assert_uint_eq(symbolizer_resolve(sym, 0x7123, &frame, 1), 1);
    ck_assert_str_eq(frame.module, "[vdso]");
    ck_assert_uint_eq(frame.module_offset, 0x123);
    ck_assert_ptr_null(frame.function);
    ck_assert_uint_eq(symbolizer_resolve(sym, 0x9042, &frame, 1), 1);
    ck_assert_str_eq(frame.module, "linux-vdso.so.1");
    ck_assert_uint_eq(frame.module_offset, 0x42);
    ck_assert_int_eq(warning_lines(&warnings), 0);
    symbolizer_free(sym);
    release_warnings(&warnings);
}
END_TEST

START_TEST(test_address_outside_every_module)
{
    const struct sym_module module = { .path = "[vdso]", .bias = 0x7000,
                                       .start = 0x7000, .end = 0x8000 };
    const uint64_t outside[] = { 0, 1, 0x6fff, 0x8001, UINT64_MAX };
    struct sym_frame frame;
    struct symbolizer *sym = symbolizer_new(&module, 1, NULL);

    for (size_t i = 0; i < sizeof outside / sizeof *outside; i++) {
        ck_assert_uint_eq(symbolizer_resolve(sym, outside[i], &frame, 1), 1);
        ck_assert_ptr_null(frame.module);
        ck_assert_ptr_null(frame.function);
        ck_assert_ptr_null(frame.file);
        ck_assert_uint_eq(frame.address, outside[i]);
    }
    /* The lookup is at address - 1, so a return address just past the
     * end still belongs to the module that made the call. */
    symbolizer_resolve(sym, 0x8000, &frame, 1);
    ck_assert_str_eq(frame.module, "[vdso]");
    symbolizer_free(sym);
}
END_TEST

Suite *symbols_suite(void)
{
    Suite *suite = suite_create("symbols");
    TCase *tc = tcase_create("symbols");

    tcase_add_unchecked_fixture(tc, build_fixtures, NULL);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_shared_library_function_and_line);
    tcase_add_test(tc, test_shared_library_with_nonzero_base);
    tcase_add_test(tc, test_inlined_frames_innermost_first);
    tcase_add_test(tc, test_max_limits_frames_and_cache_keeps_strings);
    tcase_add_test(tc, test_cxx_names_demangled);
    tcase_add_test(tc, test_pie_executable);
    tcase_add_test(tc, test_non_pie_executable);
    tcase_add_test(tc, test_unit_test_binary_itself);
    tcase_add_test(tc, test_missing_module_warns_once);
    tcase_add_test(tc, test_changed_build_id);
    tcase_add_test(tc, test_changed_mtime_without_build_id);
    tcase_add_test(tc, test_not_an_elf_file);
    tcase_add_test(tc, test_pseudo_modules_silent);
    tcase_add_test(tc, test_address_outside_every_module);
    suite_add_tcase(suite, tc);
    return suite;
}
