/*
 * symbols.c - offline symbolization with elfutils' libdwfl.
 *
 * Every recorded module whose file is still the one the trace saw is
 * reported to one Dwfl at its recorded load bias, so addresses from the
 * trace are looked up as they were in the traced process. Modules whose
 * file is gone or different are never given to libdwfl: their debug info
 * would describe other code, and a wrong function name is worse than an
 * honest module+offset.
 */
#include "symbols.h"

#include <dwarf.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uthash.h>

#include "symtab.h"

/* From libstdc++ (the analyzer links -lstdc++); declared here so this file
 * stays C. */
char *__cxa_demangle(const char *mangled, char *buffer, size_t *length,
                     int *status);

/* Deeper inline chains than this are cut: real code rarely goes past a
 * dozen, and corrupt DWARF must not make a frame list unbounded. */
#define MAX_FRAMES_PER_ADDRESS 64

enum module_state {
    MODULE_REPORTED,   /* given to libdwfl, symbols available */
    MODULE_PSEUDO,     /* no file behind it, such as the vDSO */
    MODULE_UNUSABLE,   /* missing or changed: warn, then module+offset */
};

struct module {
    const char *path;            /* interned */
    uint64_t bias, start, end;
    enum module_state state;
    const char *unusable_reason; /* static text, for the warning */
    bool warned;
    Dwfl_Module *dwfl_module;    /* when MODULE_REPORTED */
    struct symtab *symbols;      /* built on the first lookup */
};

struct interned_string {
    UT_hash_handle hh;
    char text[];
};

struct cached_address {
    uint64_t address;
    size_t nframes;
    struct sym_frame *frames;
    UT_hash_handle hh;
};

struct symbolizer {
    Dwfl *dwfl;
    FILE *warn;
    struct module *modules;      /* sorted by start */
    size_t nmodules;
    struct interned_string *strings;
    struct cached_address *cache;
};

/* libdwfl keeps a pointer to the callbacks, so they must outlive every
 * Dwfl; a NULL search path means the standard /usr/lib/debug lookup. */
static char *default_debuginfo_path;
static const Dwfl_Callbacks offline_callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &default_debuginfo_path,
};

/* Returns the symbolizer's copy of text, or NULL for NULL text or when out
 * of memory (the caller then shows the item as unknown). */
static const char *intern(struct symbolizer *sym, const char *text)
{
    struct interned_string *entry;
    size_t len;

    if (!text)
        return NULL;
    HASH_FIND_STR(sym->strings, text, entry);
    if (entry)
        return entry->text;
    len = strlen(text);
    entry = malloc(sizeof *entry + len + 1);
    if (!entry)
        return NULL;
    memcpy(entry->text, text, len + 1);
    HASH_ADD_KEYPTR(hh, sym->strings, entry->text, len, entry);
    return entry->text;
}

static const char *intern_demangled(struct symbolizer *sym, const char *name)
{
    char *demangled, unversioned[512];
    const char *interned, *at;
    int status = -1;

    if (!name)
        return NULL;
    /* "__libc_start_main@@GLIBC_2.34": the version is noise in a stack. */
    at = strchr(name, '@');
    if (at && at > name && (size_t)(at - name) < sizeof unversioned) {
        memcpy(unversioned, name, (size_t)(at - name));
        unversioned[at - name] = '\0';
        name = unversioned;
    }
    if (strncmp(name, "_Z", 2) != 0)
        return intern(sym, name);
    demangled = __cxa_demangle(name, NULL, NULL, &status);
    if (status != 0 || !demangled) {
        free(demangled);
        return intern(sym, name);
    }
    interned = intern(sym, demangled);
    free(demangled);
    return interned;
}

/* Files the traced process did not map from disk: the vDSO shows up as
 * "[vdso]" or "linux-vdso.so.1", and anything without a slash cannot be
 * opened by path anyway. */
static bool is_pseudo_module(const char *path)
{
    return path[0] == '\0' || path[0] == '[' || !strchr(path, '/');
}

static bool same_build_id(Elf *elf, const struct sym_module *recorded)
{
    const void *file_id = NULL;
    ssize_t file_id_len = dwelf_elf_gnu_build_id(elf, &file_id);

    return file_id_len > 0 && (size_t)file_id_len == recorded->build_id_len
           && memcmp(file_id, recorded->build_id, recorded->build_id_len) == 0;
}

static bool same_size_and_mtime(const struct stat *st,
                                const struct sym_module *recorded)
{
    int64_t mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000
                       + st->st_mtim.tv_nsec;

    return (uint64_t)st->st_size == recorded->size
           && mtime_ns == recorded->mtime_ns;
}

/* Opens the module's file and checks it is the one the trace recorded.
 * Returns NULL with *fd_out open on success, else why it is unusable. */
static const char *open_recorded_file(const struct sym_module *recorded,
                                      int *fd_out)
{
    const char *problem = NULL;
    struct stat st;
    Elf *elf;
    int fd;

    /* The path comes from an untrusted trace: a FIFO or a terminal must
     * neither block us nor become our controlling terminal (the regular
     * file check follows). */
    fd = open(recorded->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR ? "missing" : "unreadable";
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return "not a regular file";
    }
    elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    if (!elf || elf_kind(elf) != ELF_K_ELF)
        problem = "not an ELF file";
    else if (recorded->build_id_len > 0 ? !same_build_id(elf, recorded)
                                        : !same_size_and_mtime(&st, recorded))
        problem = "changed since the recording";
    elf_end(elf);
    if (problem) {
        close(fd);
        return problem;
    }
    *fd_out = fd;
    return NULL;
}

static void load_module(struct symbolizer *sym, struct module *mod,
                        const struct sym_module *recorded)
{
    const char *problem;
    int fd = -1;

    if (is_pseudo_module(recorded->path)) {
        mod->state = MODULE_PSEUDO;
        return;
    }
    problem = open_recorded_file(recorded, &fd);
    if (!problem) {
        /* add_p_vaddr=true makes libdwfl's bias exactly `base`, i.e. the
         * recorded dlpi_addr, even when the first PT_LOAD's p_vaddr is not
         * 0 (prelinked libraries); with false, `base` would be taken as the
         * start of the first segment instead. ET_EXEC ignores base. */
        mod->dwfl_module = dwfl_report_elf(sym->dwfl, recorded->path,
                                           recorded->path, fd, recorded->bias,
                                           true);
        if (mod->dwfl_module) {
            mod->state = MODULE_REPORTED;
            return;
        }
        close(fd);   /* libdwfl consumes the descriptor only on success */
        problem = "not loadable by libdwfl";
    }
    mod->state = MODULE_UNUSABLE;
    mod->unusable_reason = problem;
}

static int compare_module_start(const void *a, const void *b)
{
    const struct module *left = a, *right = b;

    return left->start < right->start ? -1 : left->start > right->start;
}

struct symbolizer *symbolizer_new(const struct sym_module *modules, size_t n,
                                  FILE *warn)
{
    struct symbolizer *sym = calloc(1, sizeof *sym);

    if (!sym)
        return NULL;
    sym->warn = warn;
    elf_version(EV_CURRENT);
    sym->dwfl = dwfl_begin(&offline_callbacks);
    sym->modules = calloc(n ? n : 1, sizeof *sym->modules);
    if (!sym->dwfl || !sym->modules)
        goto out_of_memory;
    dwfl_report_begin(sym->dwfl);
    for (size_t i = 0; i < n; i++) {
        struct module *mod = &sym->modules[sym->nmodules];

        if (!modules[i].path || modules[i].end <= modules[i].start)
            continue;
        mod->path = intern(sym, modules[i].path);
        if (!mod->path)
            goto out_of_memory;
        mod->bias = modules[i].bias;
        mod->start = modules[i].start;
        mod->end = modules[i].end;
        load_module(sym, mod, &modules[i]);
        sym->nmodules++;
    }
    dwfl_report_end(sym->dwfl, NULL, NULL);
    qsort(sym->modules, sym->nmodules, sizeof *sym->modules,
          compare_module_start);
    return sym;

out_of_memory:
    symbolizer_free(sym);
    return NULL;
}

static struct module *find_module(struct symbolizer *sym, uint64_t address)
{
    size_t low = 0, high = sym->nmodules;

    /* The last module starting at or below address is the only candidate
     * in a map of disjoint ranges. */
    while (low < high) {
        size_t mid = low + (high - low) / 2;

        if (sym->modules[mid].start <= address)
            low = mid + 1;
        else
            high = mid;
    }
    if (low == 0 || address >= sym->modules[low - 1].end)
        return NULL;
    return &sym->modules[low - 1];
}

static void warn_unusable_once(struct symbolizer *sym, struct module *mod)
{
    if (mod->state != MODULE_UNUSABLE || mod->warned)
        return;
    mod->warned = true;
    if (sym->warn)
        fprintf(sym->warn,
                "mtrace-analyze: module %s is %s; its frames are shown as "
                "module+offset\n",
                mod->path, mod->unusable_reason);
}

/* The name of a function or inlined-subroutine DIE. The attributes live
 * on the abstract origin or declaration, which dwarf_attr_integrate
 * follows; the mangled linkage name is preferred because its demangled
 * form carries namespaces, classes and parameter types. */
static const char *die_function_name(struct symbolizer *sym, Dwarf_Die *die)
{
    static const unsigned name_attributes[] = {
        DW_AT_linkage_name, DW_AT_MIPS_linkage_name, DW_AT_name,
    };

    for (size_t i = 0; i < sizeof name_attributes / sizeof *name_attributes;
         i++) {
        Dwarf_Attribute attr;
        const char *name = dwarf_formstring(
            dwarf_attr_integrate(die, name_attributes[i], &attr));

        if (name)
            return intern_demangled(sym, name);
    }
    return NULL;
}

/* Where an inlined subroutine was called from: DW_AT_call_file indexes
 * the file table of the unit that holds the inlined DIE. */
static void inlined_call_site(struct symbolizer *sym, Dwarf_Die *inlined,
                              const char **file, int *line)
{
    Dwarf_Attribute attr;
    Dwarf_Word value;
    Dwarf_Die unit;
    Dwarf_Files *files;
    size_t nfiles;

    *file = NULL;
    *line = 0;
    if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_line, &attr), &value)
            == 0
        && value <= INT32_MAX)
        *line = (int)value;
    if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_file, &attr), &value)
            == 0
        && dwarf_diecu(inlined, &unit, NULL, NULL)
        && dwarf_getsrcfiles(&unit, &files, &nfiles) == 0 && value < nfiles)
        *file = intern(sym, dwarf_filesrc(files, value, NULL, NULL));
}

static bool is_function_scope(Dwarf_Die *die)
{
    int tag = dwarf_tag(die);

    return tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine
           || tag == DW_TAG_entry_point;
}

/* The chain of scopes that physically encloses pc, innermost first.
 * dwarf_getscopes continues past an inlined instance into the scopes of
 * its abstract definition, not into its caller; dwarf_getscopes_die on
 * the innermost DIE gives the caller chain instead. Returns the count and
 * a malloc'd array, or 0 when there is no DWARF for pc. */
static int enclosing_scopes(Dwfl_Module *dwfl_module, uint64_t pc,
                            Dwarf_Die **scopes)
{
    Dwarf_Addr dwarf_bias = 0;
    Dwarf_Die *unit = dwfl_module_addrdie(dwfl_module, pc, &dwarf_bias);
    Dwarf_Die *containing = NULL;
    Dwarf_Die innermost;
    int n;

    *scopes = NULL;
    if (!unit)
        return 0;
    n = dwarf_getscopes(unit, pc - dwarf_bias, &containing);
    if (n <= 0) {
        free(containing);
        return 0;
    }
    innermost = containing[0];
    free(containing);
    n = dwarf_getscopes_die(&innermost, scopes);
    if (n <= 0) {
        free(*scopes);
        *scopes = NULL;
        return 0;
    }
    return n;
}

/* Fills frames for pc inside a reported module; frames[0] arrives holding
 * the module fields. Returns the frame count, at least 1. */
static size_t describe_reported(struct symbolizer *sym, struct module *mod,
                                uint64_t pc, struct sym_frame *frames,
                                size_t capacity)
{
    Dwfl_Module *dwfl_module = mod->dwfl_module;
    const struct sym_frame module_only = frames[0];
    const char *symbol_name;
    Dwfl_Line *line_record;
    Dwarf_Die *scopes;
    Dwarf_Die *callee = NULL;
    size_t nframes = 0;
    int nscopes;

    if (!mod->symbols && !(mod->symbols = symtab_build(dwfl_module))) {
        fprintf(stderr, "mtrace-analyze: out of memory (symbol table)\n");
        exit(2);
    }
    symbol_name = intern_demangled(sym, symtab_lookup(mod->symbols, pc));
    frames[0].function = symbol_name;
    line_record = dwfl_module_getsrc(dwfl_module, pc);
    if (line_record) {
        int line = 0;
        const char *file = dwfl_lineinfo(line_record, NULL, &line, NULL, NULL,
                                         NULL);

        frames[0].file = intern(sym, file);
        frames[0].line = line > 0 ? line : 0;
    }

    nscopes = enclosing_scopes(dwfl_module, pc, &scopes);
    for (int i = 0; i < nscopes && nframes < capacity; i++) {
        struct sym_frame *frame = &frames[nframes];
        bool inlined_scope;

        if (!is_function_scope(&scopes[i]))
            continue;
        inlined_scope = dwarf_tag(&scopes[i]) == DW_TAG_inlined_subroutine;
        if (callee) {
            *frame = module_only;
            inlined_call_site(sym, callee, &frame->file, &frame->line);
        }
        /* The outermost, physical function keeps its ELF symbol name: it
         * is what the binary calls it, even without debug info. */
        frame->function = inlined_scope || !symbol_name
                              ? die_function_name(sym, &scopes[i])
                              : symbol_name;
        nframes++;
        if (!inlined_scope)
            break;
        frame->inlined = true;
        callee = &scopes[i];
    }
    free(scopes);
    return nframes > 0 ? nframes : 1;
}

static size_t describe_address(struct symbolizer *sym, uint64_t address,
                               struct sym_frame *frames, size_t capacity)
{
    /* A return address points after the call; the call is one byte back. */
    uint64_t pc = address > 0 ? address - 1 : 0;
    struct module *mod = find_module(sym, pc);

    memset(&frames[0], 0, sizeof frames[0]);
    frames[0].address = address;
    if (!mod)
        return 1;
    frames[0].module = mod->path;
    frames[0].module_offset = address - mod->bias;
    if (mod->state != MODULE_REPORTED) {
        warn_unusable_once(sym, mod);
        return 1;
    }
    return describe_reported(sym, mod, pc, frames, capacity);
}

size_t symbolizer_resolve(struct symbolizer *sym, uint64_t address,
                          struct sym_frame *out, size_t max)
{
    struct sym_frame computed[MAX_FRAMES_PER_ADDRESS];
    struct cached_address *cached;
    const struct sym_frame *frames;
    size_t nframes;

    if (max == 0)
        return 0;
    HASH_FIND(hh, sym->cache, &address, sizeof address, cached);
    if (cached) {
        frames = cached->frames;
        nframes = cached->nframes;
    } else {
        nframes = describe_address(sym, address, computed,
                                   MAX_FRAMES_PER_ADDRESS);
        frames = computed;
        /* Out of memory only costs the caching, not the answer. */
        cached = malloc(sizeof *cached);
        if (cached)
            cached->frames = malloc(nframes * sizeof *cached->frames);
        if (cached && cached->frames) {
            cached->address = address;
            cached->nframes = nframes;
            memcpy(cached->frames, computed, nframes * sizeof *computed);
            HASH_ADD(hh, sym->cache, address, sizeof cached->address, cached);
        } else {
            free(cached);
        }
    }
    if (nframes > max)
        nframes = max;
    memcpy(out, frames, nframes * sizeof *out);
    return nframes;
}

void symbolizer_free(struct symbolizer *sym)
{
    struct cached_address *cached, *next_cached;
    struct interned_string *string, *next_string;

    if (!sym)
        return;
    HASH_ITER(hh, sym->cache, cached, next_cached) {
        HASH_DEL(sym->cache, cached);
        free(cached->frames);
        free(cached);
    }
    HASH_ITER(hh, sym->strings, string, next_string) {
        HASH_DEL(sym->strings, string);
        free(string);
    }
    for (size_t i = 0; sym->modules && i < sym->nmodules; i++)
        symtab_free(sym->modules[i].symbols);
    if (sym->dwfl)
        dwfl_end(sym->dwfl);
    free(sym->modules);
    free(sym);
}
