/* modules.c - see modules.h. */
#include "modules.h"

#include <elf.h>
#include <stdatomic.h>
#include <link.h>
#include <string.h>
#include <sys/stat.h>

#include "arena.h"
#include "spinlock.h"
#include "unwind.h"
#include "writer.h"

static const char *main_exe_path = "";
/* The loader's counters as of the last map built (written or captured). */
static _Atomic unsigned long long built_adds, built_subs;
static unsigned long long seen_adds, seen_subs;
/* dlpi_subs when the unwinder last let go of its rules. */
static _Atomic unsigned long long forgot_subs;
static bool written_once;
static uint32_t generation;

static int read_counters(struct dl_phdr_info *info, size_t size, void *data)
{
    unsigned long long *counters = data;
    (void)size;
    counters[0] = info->dlpi_adds;
    counters[1] = info->dlpi_subs;
    return 1;   /* every entry carries the same counters */
}

void modules_init(const char *exe_path)
{
    unsigned long long counters[2] = { 0, 0 };
    main_exe_path = exe_path;
    dl_iterate_phdr(read_counters, counters);
    atomic_store(&forgot_subs, counters[1]);
}

/* Once per unload, however it is noticed. */
static void forget_rules_if_unloaded(unsigned long long subs)
{
    if (atomic_exchange(&forgot_subs, subs) != subs)
        unwind_forget_rules();
}

void modules_after_dlclose(void)
{
    unsigned long long counters[2] = { 0, 0 };
    dl_iterate_phdr(read_counters, counters);
    forget_rules_if_unloaded(counters[1]);
}

bool modules_changed(void)
{
    unsigned long long counters[2] = { 0, 0 };
    if (!written_once)
        return true;
    dl_iterate_phdr(read_counters, counters);
    /* Unloads that did not come through our dlclose (glibc's own). */
    forget_rules_if_unloaded(counters[1]);
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
    struct trace_buf *buf;
    uint32_t count;
    int failed;
    unsigned long long adds, subs;
};

/* Address ranges of the modules in the last map built, for
 * modules_cover. Fixed size: a reader racing a rebuild sees a stale or
 * mixed list (and at worst captures the map once more), never freed
 * memory. */
#define KNOWN_MAX 4096
static struct { uintptr_t start, end; } known[KNOWN_MAX];
static _Atomic size_t known_count;
static size_t known_building;

/* A map captured between snapshots, waiting for the next one. */
spinlock_t modules_pending_lock;
static uint8_t *pending_record;
static size_t pending_len;

static int add_module(struct dl_phdr_info *info, size_t size, void *data)
{
    struct module_walk *walk = data;
    struct trace_buf *buf = walk->buf;
    const char *path = info->dlpi_name && *info->dlpi_name ? info->dlpi_name
                                                           : main_exe_path;
    const uint8_t *build_id = NULL;
    struct mt_module m;
    struct stat st;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    (void)size;

    walk->adds = info->dlpi_adds;
    walk->subs = info->dlpi_subs;
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
    if (known_building < KNOWN_MAX) {
        known[known_building].start = lo;
        known[known_building].end = hi;
        known_building++;
    }
    walk->count++;
    return 0;
}

/* Appends a whole MODULES record (generation 0: the writer numbers it). */
static int build_record(struct trace_buf *buf, struct module_walk *walk)
{
    struct mt_rec_modules head = { 0, 0 };
    size_t head_at;

    memset(walk, 0, sizeof *walk);
    walk->buf = buf;
    if (trace_record_begin(buf, MT_REC_MODULES) < 0)
        return -1;
    head_at = buf->len;
    trace_record_put(buf, &head, sizeof head);
    known_building = 0;
    dl_iterate_phdr(add_module, walk);
    if (walk->failed) {
        trace_record_abandon(buf);
        return -1;
    }
    atomic_store(&known_count, known_building);
    built_adds = walk->adds;
    built_subs = walk->subs;
    head.count = walk->count;
    memcpy(buf->data + head_at, &head, sizeof head);
    trace_record_end(buf);
    return 0;
}

static void number_record(uint8_t *record)
{
    uint32_t next = ++generation;
    memcpy(record + sizeof(struct mt_record_header), &next, sizeof next);
}

static int write_pending(void)
{
    uint8_t *record;
    size_t len;
    struct trace_buf *buf;
    int rc = 0;

    spin_lock(&modules_pending_lock);
    record = pending_record;
    len = pending_len;
    pending_record = NULL;
    spin_unlock(&modules_pending_lock);
    if (!record)
        return 0;
    if (writer_reserve(len) < 0 || !(buf = writer_buf()) ||
        buf->cap - buf->len < len) {
        rc = -1;
    } else {
        memcpy(buf->data + buf->len, record, len);
        number_record(buf->data + buf->len);
        buf->len += len;
    }
    arena_unmap(record, MT_RECORD_MAX + sizeof(struct mt_record_header));
    return rc;
}

int modules_write(void)
{
    struct module_walk walk;
    struct trace_buf *buf;
    size_t at;

    if (write_pending() < 0)
        return -1;
    /* A MODULES record is never split: start it in an empty buffer. */
    if (writer_flush() < 0 || !(buf = writer_buf()))
        return -1;
    at = buf->len;
    if (build_record(buf, &walk) < 0)
        return -1;
    number_record(buf->data + at);
    seen_adds = walk.adds;
    seen_subs = walk.subs;
    written_once = true;
    return 0;
}

bool modules_cover(const uintptr_t *frames, size_t n)
{
    size_t count = atomic_load(&known_count);
    for (size_t i = 0; i < n; i++) {
        bool found = false;
        for (size_t k = 0; k < count && !found; k++)
            found = frames[i] >= known[k].start && frames[i] < known[k].end;
        if (!found)
            return false;
    }
    return true;
}

void modules_capture(void)
{
    size_t cap = MT_RECORD_MAX + sizeof(struct mt_record_header);
    unsigned long long counters[2] = { 0, 0 };
    uint8_t *mem, *old;
    struct module_walk walk;
    struct trace_buf buf;

    /* Frames outside every module are usually JIT code (V8, LuaJIT, the
     * JVM), not a new library: rebuild only when the loader says the set
     * of objects changed since the last map we built. */
    dl_iterate_phdr(read_counters, counters);
    if (counters[0] == built_adds && counters[1] == built_subs)
        return;
    if (!(mem = arena_map(cap)))
        return;
    /* Built without our locks held: dl_iterate_phdr takes the loader's. */
    trace_buf_init(&buf, mem, cap);
    if (build_record(&buf, &walk) < 0) {
        arena_unmap(mem, cap);
        return;
    }
    spin_lock(&modules_pending_lock);
    old = pending_record;
    pending_record = mem;
    pending_len = buf.len;
    spin_unlock(&modules_pending_lock);
    arena_unmap(old, cap);
}
