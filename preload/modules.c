/* modules.c - see modules.h. */
#include "modules.h"

#include <elf.h>
#include <link.h>
#include <string.h>
#include <sys/stat.h>

#include "writer.h"

static const char *main_exe_path = "";
static unsigned long long seen_adds, seen_subs;
static bool written_once;
static uint32_t generation;

void modules_init(const char *exe_path)
{
    main_exe_path = exe_path;
}

static int read_counters(struct dl_phdr_info *info, size_t size, void *data)
{
    unsigned long long *counters = data;
    (void)size;
    counters[0] = info->dlpi_adds;
    counters[1] = info->dlpi_subs;
    return 1;   /* every entry carries the same counters */
}

bool modules_changed(void)
{
    unsigned long long counters[2] = { 0, 0 };
    if (!written_once)
        return true;
    dl_iterate_phdr(read_counters, counters);
    return counters[0] != seen_adds || counters[1] != seen_subs;
}

void modules_forget_written(void)
{
    written_once = false;
}

/* The GNU build-id note from the mapped PT_NOTE segments. */
static size_t find_build_id(const struct dl_phdr_info *info,
                            const uint8_t **id)
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        const uint8_t *note, *end;
        size_t align;
        if (ph->p_type != PT_NOTE)
            continue;
        align = ph->p_align == 8 ? 8 : 4;
        note = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
        end = note + ph->p_memsz;
        while (note + sizeof(ElfW(Nhdr)) <= end) {
            ElfW(Nhdr) nh;
            size_t name_len, desc_len;
            memcpy(&nh, note, sizeof nh);
            name_len = (nh.n_namesz + align - 1) & ~(align - 1);
            desc_len = (nh.n_descsz + align - 1) & ~(align - 1);
            if (note + sizeof nh + name_len + desc_len > end)
                break;
            if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
                memcmp(note + sizeof nh, "GNU", 4) == 0 &&
                nh.n_descsz <= 64) {
                *id = note + sizeof nh + name_len;
                return nh.n_descsz;
            }
            note += sizeof nh + name_len + desc_len;
        }
    }
    return 0;
}

struct module_walk {
    uint32_t count;
    int failed;
};

static int write_module(struct dl_phdr_info *info, size_t size, void *data)
{
    struct module_walk *walk = data;
    struct trace_buf *buf = writer_buf();
    const char *path = info->dlpi_name && *info->dlpi_name ? info->dlpi_name
                                                           : main_exe_path;
    const uint8_t *build_id = NULL;
    struct mt_module m;
    struct stat st;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    (void)size;

    memset(&m, 0, sizeof m);
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        if (info->dlpi_addr + ph->p_vaddr < lo)
            lo = info->dlpi_addr + ph->p_vaddr;
        if (info->dlpi_addr + ph->p_vaddr + ph->p_memsz > hi)
            hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
    }
    if (hi == 0)
        return 0;
    m.bias = info->dlpi_addr;
    m.start = lo;
    m.end = hi;
    if (*path == '/' && stat(path, &st) == 0) {
        m.dev = st.st_dev;
        m.ino = st.st_ino;
        m.size = (uint64_t)st.st_size;
        m.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    }
    m.build_id_len = (uint16_t)find_build_id(info, &build_id);
    m.path_len = (uint16_t)strnlen(path, 4096);
    if (trace_record_put(buf, &m, sizeof m) < 0 ||
        trace_record_put(buf, build_id, m.build_id_len) < 0 ||
        trace_record_put(buf, path, m.path_len) < 0) {
        walk->failed = 1;
        return 1;
    }
    walk->count++;
    seen_adds = info->dlpi_adds;
    seen_subs = info->dlpi_subs;
    return 0;
}

int modules_write(void)
{
    struct mt_rec_modules head = { .generation = generation + 1 };
    struct module_walk walk = { 0, 0 };
    struct trace_buf *buf;
    size_t head_at;

    /* A MODULES record is never split: start it in an empty buffer. */
    if (writer_flush() < 0 || !(buf = writer_buf()) ||
        trace_record_begin(buf, MT_REC_MODULES) < 0)
        return -1;
    head_at = buf->len;
    trace_record_put(buf, &head, sizeof head);
    dl_iterate_phdr(write_module, &walk);
    if (walk.failed) {
        trace_record_abandon(buf);
        return -1;
    }
    head.count = walk.count;
    memcpy(buf->data + head_at, &head, sizeof head);
    trace_record_end(buf);
    generation++;
    written_once = true;
    return 0;
}
