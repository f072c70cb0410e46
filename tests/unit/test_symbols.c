/* test_symbols.c - the symbolizer: shared libraries, PIE and non-PIE
 * executables, inlined frames, C++ names, missing and changed modules.
 * Fixtures are compiled with gcc/g++ into test_tmpdir() once, and real
 * return addresses are taken from them, as the tracer would record. */
#include "suites.h"
#include "symbols.h"

#include <dlfcn.h>
#include <elf.h>
#include <libgen.h>
#include <limits.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* "@name" markers let the tests find the line of each call. */
static const char c_library_source[] =
    "volatile int fx_sink;\n"
    "__attribute__((noinline)) void *fx_capture(void)\n"
    "{\n"
    "    return __builtin_return_address(0);\n"
    "}\n"
    "void *fx_plain(void)\n"
    "{\n"
    "    void *ra = fx_capture(); /* @plain_call */\n"
    "    fx_sink++;\n"
    "    return ra;\n"
    "}\n"
    "static inline __attribute__((always_inline)) void *fx_inner(void)\n"
    "{\n"
    "    void *ra = fx_capture(); /* @inner_call */\n"
    "    fx_sink++;\n"
    "    return ra;\n"
    "}\n"
    "void *fx_outer(void)\n"
    "{\n"
    "    void *ra = fx_inner(); /* @outer_call */\n"
    "    fx_sink += 2;\n"
    "    return ra;\n"
    "}\n"
    "static inline __attribute__((always_inline)) void *fx_middle(void)\n"
    "{\n"
    "    void *ra = fx_inner(); /* @middle_call */\n"
    "    fx_sink += 3;\n"
    "    return ra;\n"
    "}\n"
    "void *fx_deep(void)\n"
    "{\n"
    "    void *ra = fx_middle(); /* @deep_call */\n"
    "    fx_sink += 4;\n"
    "    return ra;\n"
    "}\n";

static const char cxx_library_source[] =
    "volatile int fx_cxx_sink;\n"
    "namespace ns {\n"
    "__attribute__((noinline)) void *capture() { return __builtin_return_address(0); }\n"
    "struct widget {\n"
    "    int size;\n"
    "    void *grow(int by);\n"
    "};\n"
    "__attribute__((noinline)) void *widget::grow(int by)\n"
    "{\n"
    "    void *ra = capture(); /* @grow_call */\n"
    "    size += by;\n"
    "    fx_cxx_sink += size;\n"
    "    return ra;\n"
    "}\n"
    "inline __attribute__((always_inline)) void *twice(int by)\n"
    "{\n"
    "    void *ra = capture(); /* @twice_call */\n"
    "    fx_cxx_sink += 2 * by;\n"
    "    return ra;\n"
    "}\n"
    "}\n"
    "extern \"C\" void *fx_cxx_grow(int by)\n"
    "{\n"
    "    ns::widget w{1};\n"
    "    return w.grow(by);\n"
    "}\n"
    "extern \"C\" void *fx_cxx_twice(int by)\n"
    "{\n"
    "    void *ra = ns::twice(by); /* @cxx_twice_call */\n"
    "    fx_cxx_sink++;\n"
    "    return ra;\n"
    "}\n";

/* Prints its own module (bias, start, end) and a return address, so the
 * test can symbolize an executable it cannot dlopen. */
static const char executable_source[] =
    "#include <link.h>\n"
    "#include <stdio.h>\n"
    "volatile int fx_sink;\n"
    "__attribute__((noinline)) void *fx_capture(void)\n"
    "{\n"
    "    return __builtin_return_address(0);\n"
    "}\n"
    "__attribute__((noinline)) void *fx_exe_caller(void)\n"
    "{\n"
    "    void *ra = fx_capture(); /* @exe_call */\n"
    "    fx_sink++;\n"
    "    return ra;\n"
    "}\n"
    "static int first_module(struct dl_phdr_info *info, size_t size, void *data)\n"
    "{\n"
    "    unsigned long *out = data;\n"
    "    (void)size;\n"
    "    out[0] = info->dlpi_addr;\n"
    "    out[1] = ~0ul;\n"
    "    out[2] = 0;\n"
    "    for (int i = 0; i < info->dlpi_phnum; i++) {\n"
    "        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];\n"
    "        unsigned long low = info->dlpi_addr + ph->p_vaddr;\n"
    "        if (ph->p_type != PT_LOAD)\n"
    "            continue;\n"
    "        if (low < out[1])\n"
    "            out[1] = low;\n"
    "        if (low + ph->p_memsz > out[2])\n"
    "            out[2] = low + ph->p_memsz;\n"
    "    }\n"
    "    return 1;\n"
    "}\n"
    "int main(void)\n"
    "{\n"
    "    unsigned long module[3];\n"
    "    dl_iterate_phdr(first_module, module);\n"
    "    printf(\"%lx %lx %lx %lx\\n\", module[0], module[1], module[2],\n"
    "           (unsigned long)fx_exe_caller());\n"
    "    return 0;\n"
    "}\n";

static bool fixtures_built;
static char c_library_path[PATH_MAX];
static char based_library_path[PATH_MAX];
static char cxx_library_path[PATH_MAX];
static char pie_path[PATH_MAX];
static char non_pie_path[PATH_MAX];

static int marker_line(const char *source, const char *marker)
{
    const char *at = strstr(source, marker);
    int line = 1;

    ck_assert_ptr_nonnull(at);
    for (const char *p = source; p < at; p++)
        line += *p == '\n';
    return line;
}

static bool write_file(const char *path, const char *text)
{
    FILE *file = fopen(path, "w");
    bool written;

    if (!file)
        return false;
    written = fputs(text, file) >= 0;
    return fclose(file) == 0 && written;
}

static bool compile(const char *compiler_and_flags, const char *source_text,
                    const char *source_name, char *output, const char *output_name)
{
    char source[PATH_MAX], command[3 * PATH_MAX];

    snprintf(source, sizeof source, "%s/%s", test_tmpdir(), source_name);
    snprintf(output, PATH_MAX, "%s/%s", test_tmpdir(), output_name);
    if (!write_file(source, source_text))
        return false;
    snprintf(command, sizeof command, "%s -Wl,--build-id -o '%s' '%s'",
             compiler_and_flags, output, source);
    return system(command) == 0;
}

/* Runs once in the parent: Check forks every test, so compiling in a
 * checked fixture would redo it for each test. */
static void build_fixtures(void)
{
    fixtures_built =
        compile("gcc -g -O2 -fPIC -shared", c_library_source, "fx.c",
                c_library_path, "libfx.so")
        && compile("gcc -g -O2 -fPIC -shared -Wl,-Ttext-segment=0x200000",
                   c_library_source, "fx.c", based_library_path,
                   "libfx_based.so")
        && compile("g++ -g -O2 -fPIC -shared", cxx_library_source, "fx_cxx.cc",
                   cxx_library_path, "libfx_cxx.so")
        && compile("gcc -D_GNU_SOURCE -g -O2 -fPIE -pie", executable_source,
                   "fx_exe.c", pie_path, "fx_pie")
        && compile("gcc -D_GNU_SOURCE -g -O2 -fno-pie -no-pie", executable_source,
                   "fx_exe.c", non_pie_path, "fx_nopie");
}

/* What the tracer records for one loaded module. */
struct recorded_module {
    char path[PATH_MAX];
    uint64_t bias, start, end;
    uint8_t build_id[64];
    size_t build_id_len;
    struct sym_module module;
};

struct module_search {
    const char *name;       /* dlpi_name to match; "" for the main program */
    int seen;
    struct recorded_module *out;
    bool found;
};

static void read_build_id(const struct dl_phdr_info *info,
                          const ElfW(Phdr) *note_segment,
                          struct recorded_module *out)
{
    const char *note = (const char *)(info->dlpi_addr + note_segment->p_vaddr);
    size_t left = note_segment->p_memsz;
    size_t align = note_segment->p_align == 8 ? 8 : 4;

    while (left >= sizeof(ElfW(Nhdr))) {
        const ElfW(Nhdr) *header = (const ElfW(Nhdr) *)note;
        size_t name_size = (header->n_namesz + align - 1) & ~(align - 1);
        size_t desc_size = (header->n_descsz + align - 1) & ~(align - 1);
        size_t total = sizeof *header + name_size + desc_size;

        if (total > left)
            return;
        if (header->n_type == NT_GNU_BUILD_ID && header->n_namesz == 4
            && memcmp(note + sizeof *header, "GNU", 4) == 0
            && header->n_descsz <= sizeof out->build_id) {
            memcpy(out->build_id, note + sizeof *header + name_size,
                   header->n_descsz);
            out->build_id_len = header->n_descsz;
            return;
        }
        note += total;
        left -= total;
    }
}

static int match_loaded_module(struct dl_phdr_info *info, size_t size, void *data)
{
    struct module_search *search = data;
    struct recorded_module *out = search->out;
    bool is_main = search->seen++ == 0;

    (void)size;
    if (search->name[0] ? strcmp(info->dlpi_name, search->name) != 0 : !is_main)
        return 0;
    out->bias = info->dlpi_addr;
    out->start = UINT64_MAX;
    out->end = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uint64_t low = info->dlpi_addr + ph->p_vaddr;

        if (ph->p_type == PT_NOTE && out->build_id_len == 0)
            read_build_id(info, ph, out);
        if (ph->p_type != PT_LOAD)
            continue;
        if (low < out->start)
            out->start = low;
        if (low + ph->p_memsz > out->end)
            out->end = low + ph->p_memsz;
    }
    search->found = true;
    return 1;
}

/* Fills in the file identity fields from the file as it is now. */
static void describe_module(struct recorded_module *rec)
{
    struct stat st;

    ck_assert_int_eq(stat(rec->path, &st), 0);
    rec->module = (struct sym_module){
        .path = rec->path, .bias = rec->bias, .start = rec->start,
        .end = rec->end, .build_id = rec->build_id,
        .build_id_len = rec->build_id_len, .size = (uint64_t)st.st_size,
        .mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec,
        .dev = st.st_dev, .ino = st.st_ino,
    };
}

/* dlpi_name "" means the main program, recorded under /proc/self/exe. */
static void record_loaded_module(const char *name, struct recorded_module *rec)
{
    struct module_search search = { .name = name, .out = rec };

    memset(rec, 0, sizeof *rec);
    dl_iterate_phdr(match_loaded_module, &search);
    ck_assert(search.found);
    if (name[0])
        snprintf(rec->path, sizeof rec->path, "%s", name);
    else
        ck_assert_ptr_nonnull(realpath("/proc/self/exe", rec->path));
    describe_module(rec);
}

static void *open_fixture(const char *path)
{
    void *handle;

    ck_assert_msg(fixtures_built, "fixtures did not compile");
    handle = dlopen(path, RTLD_NOW);
    ck_assert_msg(handle != NULL, "dlopen: %s", dlerror());
    return handle;
}

static void *call_fixture(void *handle, const char *function)
{
    void *(*entry)(void) = (void *(*)(void))dlsym(handle, function);

    ck_assert_ptr_nonnull(entry);
    return entry();
}

/* Warnings go to a memory stream so the tests can count them. */
struct captured_warnings {
    FILE *stream;
    char *text;
    size_t size;
};

static void capture_warnings(struct captured_warnings *warnings)
{
    warnings->text = NULL;
    warnings->stream = open_memstream(&warnings->text, &warnings->size);
    ck_assert_ptr_nonnull(warnings->stream);
}

static int warning_lines(struct captured_warnings *warnings)
{
    int lines = 0;

    fflush(warnings->stream);
    for (size_t i = 0; i < warnings->size; i++)
        lines += warnings->text[i] == '\n';
    return lines;
}

static void release_warnings(struct captured_warnings *warnings)
{
    fclose(warnings->stream);
    free(warnings->text);
}

static void assert_frame(const struct sym_frame *frame, const char *function,
                         const char *file_basename, int line, bool inlined)
{
    char file[PATH_MAX];

    ck_assert_ptr_nonnull(frame->function);
    ck_assert_str_eq(frame->function, function);
    ck_assert_ptr_nonnull(frame->file);
    snprintf(file, sizeof file, "%s", frame->file);
    ck_assert_str_eq(basename(file), file_basename);
    ck_assert_int_eq(frame->line, line);
    ck_assert(frame->inlined == inlined);
}

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
    ck_assert(write_file(path, "just text\n"));
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
