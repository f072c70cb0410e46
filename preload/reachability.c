/* reachability.c - see reachability.h. */
#include "reachability.h"

#include <fcntl.h>
#include <link.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "allocator_maps.h"
#include "arena.h"
#include "live.h"
#include "record.h"
#include "trace_format.h"
#include "writer.h"

struct scan_range {
    uintptr_t start, end;
    bool private_pages;             /* a private mapping's (maps' "p") */
};

#define MAX_EXCLUDED 4096
#define MAPS_BUFFER (4u << 20)
/* The kernel's default limit of mappings a process (vm.max_map_count). */
#define MAX_READABLE 65536
/* Ranges from this size up are read only where pages were ever touched:
 * a JIT's or a VM's large reservation is mostly never-touched pages, and
 * reading them cost 0.4 s a GiB (java: exit 5x slower with the scan). */
#define SPARSE_MIN_PAGES 64
#define PAGEMAP_CHUNK 512               /* pages whose entries one read gets */
#define PAGEMAP_PRESENT (UINT64_C(1) << 63)
#define PAGEMAP_SWAPPED (UINT64_C(1) << 62)

static struct {
    struct live_block *blocks;      /* sorted by ptr */
    uint8_t *marked;
    size_t *pending;                /* marked, contents not yet scanned */
    size_t nblocks, cap, npending;
    struct scan_range excluded[MAX_EXCLUDED];   /* the tracer's memory */
    size_t nexcluded;
    struct scan_range libc_data;    /* exact pointers only, see below */
    /* Readable memory, by address, adjacent ranges merged: a block may
     * lie in memory the program made unreadable (a PROT_NONE mapping
     * traced as a block, a guard page it protected in a heap block). */
    struct scan_range *readable;
    size_t nreadable;
    int pagemap_fd;                 /* /proc/self/pagemap, or -1 */
    uintptr_t page_size;
    bool readable_complete;         /* every mapping fit in `readable` */
} scan;

static void collect_block(const struct live_block *block, void *arg)
{
    (void)arg;
    if (scan.nblocks < scan.cap)
        scan.blocks[scan.nblocks++] = *block;
}

/* Heapsort: no allocation, no recursion, fine for one pass at exit. */
static void sift_down(struct live_block *a, size_t root, size_t n)
{
    for (;;) {
        size_t child = 2 * root + 1, top = root;
        if (child < n && a[child].ptr > a[top].ptr)
            top = child;
        if (child + 1 < n && a[child + 1].ptr > a[top].ptr)
            top = child + 1;
        if (top == root)
            return;
        struct live_block t = a[root];
        a[root] = a[top];
        a[top] = t;
        root = top;
    }
}

static void sort_blocks(struct live_block *a, size_t n)
{
    for (size_t i = n / 2; i-- > 0;)
        sift_down(a, i, n);
    for (size_t i = n; i-- > 1;) {
        struct live_block t = a[0];
        a[0] = a[i];
        a[i] = t;
        sift_down(a, 0, i);
    }
}

/* Index of the first block starting at or after addr. */
static size_t first_block_from(uintptr_t addr)
{
    size_t lo = 0, hi = scan.nblocks;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (scan.blocks[mid].ptr < addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void mark_word(uintptr_t word, bool exact_only)
{
    size_t i = first_block_from(word + 1);   /* blocks starting <= word */
    const struct live_block *b;
    uint64_t size;
    if (i == 0)
        return;
    b = &scan.blocks[--i];
    size = live_block_size(b);
    if (word != b->ptr && (exact_only || word >= b->ptr + size))
        return;
    if (!scan.marked[i]) {
        scan.marked[i] = 1;
        scan.pending[scan.npending++] = i;
    }
}

static void scan_words_unguarded(uintptr_t start, uintptr_t end)
{
    bool exact_only = start >= scan.libc_data.start &&
                      end <= scan.libc_data.end;
    start = (start + 7) & ~(uintptr_t)7;
    for (uintptr_t p = start; p + 8 <= end; p += 8) {
        uintptr_t word;
        memcpy(&word, (const void *)p, sizeof word);
        mark_word(word, exact_only);
    }
}

/* The program's other threads run on during the scan: a mapping listed
 * in /proc/self/maps may be gone when its turn comes, and a file mapping
 * past its file's end (truncated since, or a shared memory object grown
 * by mremap) faults with SIGBUS. A fault while reading a range skips the
 * rest of it. Handlers run with SA_NODEFER, so that leaving by
 * siglongjmp needs no signal mask restored (a system call a range). */
static __thread sigjmp_buf *scan_recovery;
static struct sigaction program_segv, program_bus;

static void scan_fault(int signo)
{
    sigjmp_buf *recovery = scan_recovery;
    if (recovery)
        siglongjmp(*recovery, 1);
    /* Another thread's fault: the program's handler gets it again. */
    sigaction(signo, signo == SIGSEGV ? &program_segv : &program_bus, NULL);
}

static void scan_words(uintptr_t start, uintptr_t end)
{
    sigjmp_buf recovery;
    if (sigsetjmp(recovery, 0) == 0) {
        scan_recovery = &recovery;
        scan_words_unguarded(start, end);
    }
    scan_recovery = NULL;
}

static void catch_faults(bool on)
{
    if (on) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = scan_fault;
        sa.sa_flags = SA_NODEFER;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGSEGV, &sa, &program_segv);
        sigaction(SIGBUS, &sa, &program_bus);
    } else {
        sigaction(SIGSEGV, &program_segv, NULL);
        sigaction(SIGBUS, &program_bus, NULL);
    }
}

/* A private page never touched reads as zeros (anonymous) or as the
 * file's bytes: no pointer of this run can be there. One the program
 * wrote is present or swapped out. A shared mapping's page may be in
 * the page cache with no entry here, so shared ones are read whole. */
static void scan_touched_words(uintptr_t start, uintptr_t end,
                               bool private_pages)
{
    uint64_t entries[PAGEMAP_CHUNK];
    uintptr_t page_size = scan.page_size;
    uintptr_t page = start & ~(page_size - 1);

    if (!private_pages || scan.pagemap_fd < 0 ||
        end - start < SPARSE_MIN_PAGES * page_size) {
        scan_words(start, end);
        return;
    }
    while (page < end) {
        size_t want = (end - page + page_size - 1) / page_size;
        ssize_t got;
        if (want > PAGEMAP_CHUNK)
            want = PAGEMAP_CHUNK;
        got = pread(scan.pagemap_fd, entries, want * sizeof *entries,
                    (off_t)(page / page_size * sizeof *entries));
        if (got < (ssize_t)sizeof *entries) {
            scan_words(page > start ? page : start, end);   /* unknown */
            return;
        }
        for (size_t i = 0; i < (size_t)got / sizeof *entries; i++) {
            uintptr_t from = page + i * page_size, to = from + page_size;
            if (!(entries[i] & (PAGEMAP_PRESENT | PAGEMAP_SWAPPED)))
                continue;
            scan_words(from > start ? from : start, to < end ? to : end);
        }
        page += (size_t)got / sizeof *entries * page_size;
    }
}

/* Scans [start, end) minus the blocks themselves (their contents count
 * only once reached) and minus the tracer's memory. */
static void scan_root(uintptr_t start, uintptr_t end, bool private_pages)
{
    for (size_t i = 0; i < scan.nexcluded; i++) {
        const struct scan_range *x = &scan.excluded[i];
        if (x->start < end && x->end > start) {
            if (x->start > start)
                scan_root(start, x->start, private_pages);
            if (x->end < end)
                scan_root(x->end, end, private_pages);
            return;
        }
    }
    for (size_t i = first_block_from(start); start < end; i++) {
        uintptr_t gap_end = i < scan.nblocks && scan.blocks[i].ptr < end
                                ? scan.blocks[i].ptr : end;
        scan_touched_words(start, gap_end, private_pages);
        if (gap_end == end)
            break;
        /* Never back: a block inside another (a mapping an allocator
         * carved up) must not reopen what the outer one covers. */
        if (gap_end + live_block_size(&scan.blocks[i]) > start)
            start = gap_end + live_block_size(&scan.blocks[i]);
    }
}

static void exclude_mapping(uintptr_t start, size_t len, void *arg)
{
    (void)arg;
    if (scan.nexcluded < MAX_EXCLUDED) {
        scan.excluded[scan.nexcluded] =
            (struct scan_range){ start, start + len, false };
        scan.nexcluded++;
    }
}

/* The program's allocator's own memory (allocator_maps.h): its blocks
 * count once reached, its caches of addresses never. Past the room
 * left, the rest reads as roots, which loses no verdict but some lost
 * blocks; the tracer's own mappings came first and all fit. */
static void exclude_allocator_mapping(uintptr_t start, size_t len,
                                      void *arg)
{
    (void)arg;
    if (scan.nexcluded < MAX_EXCLUDED - 1)
        exclude_mapping(start, len, NULL);
}

/* glibc's malloc keeps pointers to chunk headers in its own data (bins,
 * top); a header lies in the previous block's last bytes. Only a pointer
 * to a block's start counts from there. */
static int find_libc_data(struct dl_phdr_info *info, size_t size, void *arg)
{
    const char *slash;
    (void)size;
    (void)arg;
    slash = info->dlpi_name ? strrchr(info->dlpi_name, '/') : NULL;
    if (!slash || strncmp(slash + 1, "libc.so", 7) != 0)
        return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_W)) {
            scan.libc_data.start = info->dlpi_addr + ph->p_vaddr;
            scan.libc_data.end = scan.libc_data.start + ph->p_memsz;
            /* Its bss continues in an anonymous mapping up to a page. */
            scan.libc_data.end = (scan.libc_data.end + 4095) & ~(uintptr_t)4095;
        }
    }
    return 1;
}

static void note_readable(uintptr_t start, uintptr_t end, bool private_pages)
{
    struct scan_range *last =
        scan.nreadable ? &scan.readable[scan.nreadable - 1] : NULL;
    if (last && last->end == start && last->private_pages == private_pages)
        last->end = end;
    else if (scan.nreadable < MAX_READABLE)
        scan.readable[scan.nreadable++] =
            (struct scan_range){ start, end, private_pages };
    else
        scan.readable_complete = false;
}

/* The parts of [start, end) that are readable (beyond MAX_READABLE
 * mappings, the rest counts as unreadable: never a fault). */
static void scan_readable_words(uintptr_t start, uintptr_t end)
{
    size_t lo = 0, hi = scan.nreadable;
    while (lo < hi) {              /* the first range ending after start */
        size_t mid = lo + (hi - lo) / 2;
        if (scan.readable[mid].end <= start)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < scan.nreadable && scan.readable[i].start < end;
         i++) {
        uintptr_t from = start > scan.readable[i].start
                             ? start : scan.readable[i].start;
        uintptr_t to = end < scan.readable[i].end ? end : scan.readable[i].end;
        scan_touched_words(from, to, scan.readable[i].private_pages);
    }
}

static bool scan_mappings(uintptr_t stack_pointer)
{
    char *text = arena_map(MAPS_BUFFER);
    size_t len = 0;
    ssize_t n;
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

    if (!text || fd < 0) {
        if (fd >= 0)
            close(fd);
        arena_unmap(text, MAPS_BUFFER);
        return false;
    }
    while (len < MAPS_BUFFER - 1 &&
           (n = read(fd, text + len, MAPS_BUFFER - 1 - len)) > 0)
        len += (size_t)n;
    close(fd);
    text[len] = '\0';
    for (char *line = text; line && *line;) {
        char *next = strchr(line, '\n');
        unsigned long start, end;
        char perms[8] = "";
        int name_at = 0;
        bool readable;
        if (next)
            *next++ = '\0';
        readable = sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &start, &end,
                          perms, &name_at) >= 3 && perms[0] == 'r';
        if (readable)
            note_readable(start, end, perms[3] == 'p');
        if (readable && perms[1] == 'w') {
            const char *name = name_at ? line + name_at : "";
            if (strcmp(name, "[heap]") == 0 || strncmp(name, "[v", 2) == 0) {
                /* The heap's free chunks hold stale pointers; vvar and
                 * vsyscall belong to the kernel. */
            } else if (strcmp(name, "[stack]") == 0 &&
                       stack_pointer >= start && stack_pointer < end) {
                /* Below the stack pointer lie dead frames, not roots. */
                scan_root(stack_pointer, end, perms[3] == 'p');
            } else {
                scan_root(start, end, perms[3] == 'p');
            }
        }
        line = next;
    }
    arena_unmap(text, MAPS_BUFFER);
    /* A mapping missed (the list cut at the buffer's end, or more ranges
     * than kept) would leave blocks in it unread: everything only they
     * point to would look lost. No verdict beats a false one. */
    return len < MAPS_BUFFER - 1 && scan.readable_complete;
}

static void scan_reached_blocks(void)
{
    while (scan.npending > 0) {
        const struct live_block *b = &scan.blocks[scan.pending[--scan.npending]];
        scan_readable_words(b->ptr, b->ptr + live_block_size(b));
    }
}

static int64_t write_marked_survivors(void)
{
    int64_t written = 0;
    if (writer_counted_begin(MT_REC_SURVIVORS, sizeof(struct mt_survivor)) < 0)
        return 0;
    for (size_t i = 0; i < scan.nblocks; i++) {
        const struct live_block *b = &scan.blocks[i];
        struct mt_survivor s = {
            .site_id = live_block_site(b),
            .flags = scan.marked[i] ? 0 : MT_SURV_UNREACHABLE,
            .size = live_block_size(b),
            .birth_ns = b->birth_ns,
        };
        if (writer_counted_add(&s) < 0)
            break;
        written++;
    }
    writer_counted_end();
    return written;
}

/* pagemap, if it says the page of `touched` (this very stack) is there:
 * a kernel or sandbox that hides the bits would have the scan skip all. */
static int open_pagemap(uintptr_t touched)
{
    uint64_t entry = 0;
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (fd >= 0 &&
        (pread(fd, &entry, sizeof entry,
               (off_t)(touched / scan.page_size * sizeof entry)) !=
             (ssize_t)sizeof entry ||
         !(entry & PAGEMAP_PRESENT))) {
        close(fd);
        fd = -1;
    }
    return fd;
}

int64_t reachability_write_survivors(void)
{
    size_t cap = record_live_count() + 4096;
    size_t readable_bytes = MAX_READABLE * sizeof *scan.readable;
    size_t bytes = readable_bytes +
                   cap * (sizeof *scan.blocks + 1 + sizeof *scan.pending);
    uint8_t *memory = arena_map(bytes);
    jmp_buf registers;
    int64_t written = -1;
    bool own_memory_excluded;

    if (!memory)
        return -1;
    memset(&scan, 0, sizeof scan);
    scan.blocks = (struct live_block *)memory;
    scan.pending = (size_t *)(memory + cap * sizeof *scan.blocks);
    scan.readable = (struct scan_range *)(memory +
                                          cap * (sizeof *scan.blocks +
                                                 sizeof *scan.pending));
    scan.marked = (uint8_t *)scan.readable + readable_bytes;
    scan.cap = cap;
    scan.readable_complete = true;
    scan.page_size = (uintptr_t)sysconf(_SC_PAGESIZE);
    scan.pagemap_fd = open_pagemap((uintptr_t)&registers);
    /* Callee-saved registers may hold the only pointer to a block: spill
     * them onto this stack frame, which the stack scan covers. */
    setjmp(registers);
    record_for_each_live(collect_block, NULL, false);
    sort_blocks(scan.blocks, scan.nblocks);
    dl_iterate_phdr(find_libc_data, NULL);
    catch_faults(true);
    own_memory_excluded = arena_for_each_mapping(exclude_mapping, NULL) &&
                          scan.nexcluded < MAX_EXCLUDED;
    if (own_memory_excluded)
        allocator_maps_for_each(exclude_allocator_mapping, NULL);
    if (own_memory_excluded && scan_mappings((uintptr_t)&registers)) {
        scan_reached_blocks();
        catch_faults(false);
        written = write_marked_survivors();
    } else {
        catch_faults(false);
    }
    __asm__ __volatile__("" : : "r"(&registers) : "memory");
    if (scan.pagemap_fd >= 0)
        close(scan.pagemap_fd);
    arena_unmap(memory, bytes);
    return written;
}
