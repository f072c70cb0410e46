/*
 * trace_format.h - the mtrace trace file format, shared by libmtrace.so
 * (writer) and mtrace-analyze (reader). This header is the only definition
 * of the format; bump MT_FORMAT_VERSION on any incompatible change.
 *
 * A trace is a file header followed by records. Every record is a
 * struct mt_record_header {type, length} followed by `length` payload bytes.
 * All integers are little-endian and naturally aligned inside their payload
 * struct; the reader copies payloads out with memcpy, so the file itself has
 * no alignment requirement. Times (t_ns, birth_ns) are nanoseconds of
 * CLOCK_MONOTONIC since the process record's start_monotonic_ns.
 *
 * Order inside a trace:
 *   header, PROCESS, MODULES,
 *   { [MODULES] [SITE...] [SITE_COUNTERS...] SNAPSHOT }*   (one per interval)
 *   at the end: final SNAPSHOT, [SURVIVORS...], END
 * SITE and SITE_COUNTERS records take effect when the SNAPSHOT that follows
 * them is read: a snapshot cut short by a kill is discarded as a whole.
 * A trace without END was cut short.
 */
#ifndef MTRACE_TRACE_FORMAT_H
#define MTRACE_TRACE_FORMAT_H

#include <stdint.h>

#define MT_MAGIC "MTRACE\0\n"
#define MT_MAGIC_LEN 8
/* 2: SITE frames and SITE_COUNTERS entries packed (below). Readers take
 * 1 too. */
#define MT_FORMAT_VERSION 2
#define MT_ENDIAN_CHECK 0x01020304u

/* No record is longer than this; writers chunk, readers reject more. */
#define MT_RECORD_MAX (1u << 20)
/* Stacks are cut at this many frames, whatever MTRACE_DEPTH asks. */
#define MT_MAX_FRAMES 128

struct mt_file_header {
    char magic[MT_MAGIC_LEN];
    uint32_t version;
    uint32_t endian_check;   /* MT_ENDIAN_CHECK as written by the host */
    uint32_t pointer_size;   /* 8 */
    uint32_t reserved;
};

struct mt_record_header {
    uint32_t type;           /* enum mt_record_type */
    uint32_t length;         /* payload bytes that follow, <= MT_RECORD_MAX */
};

enum mt_record_type {
    MT_REC_PROCESS = 1,
    MT_REC_MODULES = 2,
    MT_REC_SITE = 3,
    MT_REC_SITE_COUNTERS = 4,
    MT_REC_SNAPSHOT = 5,
    MT_REC_SURVIVORS = 6,
    MT_REC_END = 7,
};

enum mt_process_flags {
    MT_PROC_MMAP_TRACED = 1u << 0,   /* MTRACE_MMAP=1 */
    MT_PROC_REACHABILITY = 1u << 1,  /* MTRACE_REACHABILITY=1 */
    MT_PROC_FORKED = 1u << 2,        /* started as a fork of ppid */
    MT_PROC_PYTHONMALLOC_MALLOC = 1u << 3, /* PYTHONMALLOC sends CPython's
                                            * objects to malloc, not to
                                            * its pools (managed_heaps.h) */
};

/* PROCESS: followed by exe_len bytes of executable path and cmdline_len
 * bytes of argv, each argument terminated by a NUL. */
struct mt_rec_process {
    uint32_t pid;
    uint32_t ppid;
    uint64_t start_realtime_ns;      /* wall clock at start, for humans */
    uint64_t start_monotonic_ns;     /* origin of every t_ns in the file */
    uint32_t interval_ms;
    uint32_t depth;
    uint32_t flags;                  /* enum mt_process_flags */
    uint32_t exe_len;
    uint32_t cmdline_len;
    uint32_t reserved;
};

/* MODULES: the whole module map as of now; `count` entries follow, each a
 * struct mt_module then build_id_len bytes of build-id then path_len bytes
 * of path (no NUL). A later MODULES record replaces the earlier map. */
struct mt_rec_modules {
    uint32_t generation;             /* 1, 2, ... in file order */
    uint32_t count;
};

struct mt_module {
    uint64_t bias;                   /* dlpi_addr: load bias of the ELF file */
    uint64_t start;                  /* lowest mapped address of PT_LOADs */
    uint64_t end;                    /* one past the highest */
    uint64_t dev;                    /* file identity at record time */
    uint64_t ino;
    uint64_t size;
    int64_t mtime_ns;
    uint16_t build_id_len;
    uint16_t path_len;
    uint32_t reserved;
};

enum mt_site_kind {
    MT_KIND_HEAP = 0,                /* malloc family, operator new */
    MT_KIND_MMAP = 1,                /* anonymous mmap (MTRACE_MMAP=1) */
    MT_KIND_FAILED = 2,              /* requests the allocator refused (it
                                      * returned NULL): allocs counts them,
                                      * bytes_allocated the bytes asked;
                                      * never live */
};

/* SITE: a call site first seen since the last snapshot. nframes return
 * addresses follow; frames[0] is the caller of the allocator entry point,
 * i.e. the code that asked for memory. Version 1 wrote them as uint64_t;
 * version 2 packs each as its difference from the frame before (from 0
 * for the first), wrapping, zigzag-mapped (0, -1, 1, -2 -> 0, 1, 2, 3)
 * and written as an unsigned LEB128 number (see SITE_COUNTERS): most
 * return addresses of a stack lie in one or two objects, so a frame takes
 * 3 to 5 bytes instead of 8. */
struct mt_rec_site {
    uint32_t site_id;                /* dense, from 1 */
    uint32_t kind;                   /* enum mt_site_kind */
    uint32_t nframes;                /* <= MT_MAX_FRAMES */
    uint32_t reserved;
};

/* SITE_COUNTERS: `count` entries follow. Absolute values, not deltas.
 * In version 2 each entry is packed: its six fields in the order of
 * struct mt_site_counters (reserved left out), each an unsigned LEB128
 * number (7 bits a byte, low first; the top bit says another byte
 * follows), at most MT_PACKED_COUNTERS_MAX bytes. Counters are mostly
 * small numbers: entries took 10 to 16 bytes on average in the runs
 * measured, where the struct, which version 1 wrote as is, takes 48, and
 * they had been two thirds of a long Node.js run's trace. */
struct mt_rec_site_counters {
    uint32_t count;
    uint32_t reserved;
};

#define MT_PACKED_COUNTERS_MAX (5 + 5 * 10)
#define MT_PACKED_FRAME_MAX 10

struct mt_site_counters {
    uint32_t site_id;
    uint32_t reserved;
    uint64_t live_bytes;
    uint64_t allocs;
    uint64_t frees;                  /* live blocks = allocs - frees */
    uint64_t bytes_allocated;
    uint64_t peak_live_bytes;
};

enum mt_snapshot_flags {
    MT_SNAP_FINAL = 1u << 0,         /* taken at exit/exec/fatal signal */
    MT_SNAP_ON_DEMAND = 1u << 1,     /* requested by signal */
};

/* SNAPSHOT: commits the SITE and SITE_COUNTERS records before it. */
struct mt_rec_snapshot {
    uint64_t t_ns;
    uint64_t seq;                    /* 1, 2, ... */
    uint64_t allocs;                 /* totals over all sites */
    uint64_t frees;
    uint64_t bytes_allocated;
    uint64_t live_bytes;
    uint64_t peak_live_bytes;        /* exact, over the whole run so far */
    uint64_t rss_bytes;              /* current resident set */
    uint64_t peak_rss_bytes;         /* getrusage ru_maxrss */
    uint32_t flags;                  /* enum mt_snapshot_flags */
    uint32_t reserved;
};

enum mt_survivor_flags {
    MT_SURV_UNREACHABLE = 1u << 0,   /* reachability scan found no pointer */
};

/* SURVIVORS: `count` entries follow: blocks still live at the end. */
struct mt_rec_survivors {
    uint32_t count;
    uint32_t reserved;
};

struct mt_survivor {
    uint32_t site_id;
    uint32_t flags;                  /* enum mt_survivor_flags */
    uint64_t size;
    uint64_t birth_ns;
};

enum mt_end_reason {
    MT_END_EXIT = 1,                 /* exit() or return from main */
    MT_END_UNDERSCORE_EXIT = 2,      /* _exit / _Exit */
    MT_END_SIGNAL = 3,               /* fatal signal, status = signal */
    MT_END_EXEC = 4,                 /* the image was replaced by exec */
    MT_END_ON_DEMAND = 5,            /* a copy taken on MTRACE_SNAPSHOT_SIGNAL;
                                      * the program ran on */
};

enum mt_end_flags {
    MT_END_REACHABILITY_DONE = 1u << 0,
};

/* END: the trace is complete. */
struct mt_rec_end {
    uint64_t t_ns;
    uint64_t survivors;              /* SURVIVORS entries written */
    uint32_t reason;                 /* enum mt_end_reason */
    int32_t status;                  /* exit status or signal number */
    uint32_t flags;                  /* enum mt_end_flags */
    uint32_t reserved;
};

_Static_assert(sizeof(struct mt_file_header) == 24, "header layout");
_Static_assert(sizeof(struct mt_record_header) == 8, "record header");
_Static_assert(sizeof(struct mt_rec_process) == 48, "process layout");
_Static_assert(sizeof(struct mt_module) == 64, "module layout");
_Static_assert(sizeof(struct mt_rec_site) == 16, "site layout");
_Static_assert(sizeof(struct mt_site_counters) == 48, "counters layout");
_Static_assert(sizeof(struct mt_rec_snapshot) == 80, "snapshot layout");
_Static_assert(sizeof(struct mt_survivor) == 24, "survivor layout");
_Static_assert(sizeof(struct mt_rec_end) == 32, "end layout");

#endif
