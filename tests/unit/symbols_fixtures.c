/* symbols_fixtures.c - fixture machinery for test_symbols.c: the embedded
 * fixture sources, compiled with gcc/g++ into test_tmpdir(); recording a
 * loaded module's map the way the tracer does, via dl_iterate_phdr;
 * opening and calling the fixtures; capturing symbolizer warnings; and
 * assertions shared by the tests. */
#include "symbols_fixtures.h"
#include "suites.h"

#include <dlfcn.h>
#include <elf.h>
#include <libgen.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* "@name" markers let the tests find the line of each call. */
const char c_library_source[] =
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

const char cxx_library_source[] =
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
const char executable_source[] =
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

bool fixtures_built;
char c_library_path[PATH_MAX];
char based_library_path[PATH_MAX];
char cxx_library_path[PATH_MAX];
char pie_path[PATH_MAX];
char non_pie_path[PATH_MAX];

int marker_line(const char *source, const char *marker)
{
    const char *at = strstr(source, marker);
    int line = 1;

    ck_assert_ptr_nonnull(at);
    for (const char *p = source; p < at; p++)
        line += *p == '\n';
    return line;
}

bool write_text_file(const char *path, const char *text)
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
    if (!write_text_file(source, source_text))
        return false;
    snprintf(command, sizeof command, "%s -Wl,--build-id -o '%s' '%s'",
             compiler_and_flags, output, source);
    return system(command) == 0;
}

/* Runs once in the parent: Check forks every test, so compiling in a
 * checked fixture would redo it for each test. */
void build_fixtures(void)
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
void describe_module(struct recorded_module *rec)
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
void record_loaded_module(const char *name, struct recorded_module *rec)
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

void *open_fixture(const char *path)
{
    void *handle;

    ck_assert_msg(fixtures_built, "fixtures did not compile");
    handle = dlopen(path, RTLD_NOW);
    ck_assert_msg(handle != NULL, "dlopen: %s", dlerror());
    return handle;
}

void *call_fixture(void *handle, const char *function)
{
    void *(*entry)(void) = (void *(*)(void))dlsym(handle, function);

    ck_assert_ptr_nonnull(entry);
    return entry();
}

void capture_warnings(struct captured_warnings *warnings)
{
    warnings->text = NULL;
    warnings->stream = open_memstream(&warnings->text, &warnings->size);
    ck_assert_ptr_nonnull(warnings->stream);
}

int warning_lines(struct captured_warnings *warnings)
{
    int lines = 0;

    fflush(warnings->stream);
    for (size_t i = 0; i < warnings->size; i++)
        lines += warnings->text[i] == '\n';
    return lines;
}

void release_warnings(struct captured_warnings *warnings)
{
    fclose(warnings->stream);
    free(warnings->text);
}

void assert_frame(const struct sym_frame *frame, const char *function,
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
