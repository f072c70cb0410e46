/*
 * forge_seeds.c - writes forged traces into the directory argv[1], as seeds
 * for fuzz_trace next to the real traces: shapes a short real run rarely
 * has (many module generations, mmap sites, unreachable survivors, the
 * deepest stacks, a steady leak over many snapshots, a cut last interval),
 * so the fuzzer starts from every record type and every flag.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace_encode.h"

#define SEED_CAP (1u << 20)
#define INTERVAL_NS 100000000ull

static struct trace_buf buf;
static uint64_t snapshot_seq;

static void check(int rc, const char *what)
{
    if (rc < 0) {
        fprintf(stderr, "forge_seeds: no room for %s\n", what);
        exit(1);
    }
}

static void start(void)
{
    static uint8_t mem[SEED_CAP];
    static const char exe[] = "/usr/bin/seed";
    static const char cmdline[] = "seed\0--fuzz";
    struct mt_rec_process p = { .pid = 42, .ppid = 1, .interval_ms = 100,
                                .depth = 32, .flags = MT_PROC_REACHABILITY,
                                .exe_len = sizeof exe - 1,
                                .cmdline_len = sizeof cmdline };

    trace_buf_init(&buf, mem, sizeof mem);
    snapshot_seq = 0;
    check(trace_put_file_header(&buf), "the file header");
    check(trace_record_begin(&buf, MT_REC_PROCESS), "PROCESS");
    check(trace_record_put(&buf, &p, sizeof p), "PROCESS");
    check(trace_record_put(&buf, exe, p.exe_len), "PROCESS");
    check(trace_record_put(&buf, cmdline, p.cmdline_len), "PROCESS");
    trace_record_end(&buf);
}

/* Modules at 0x400000, 0x10000000, ... named by `paths`. */
static void modules(uint32_t generation, const char *const *paths,
                    uint32_t count)
{
    static const uint8_t build_id[20] = { 0x12, 0x34, 0x56, 0x78 };
    struct mt_rec_modules head = { .generation = generation,
                                   .count = count };

    check(trace_record_begin(&buf, MT_REC_MODULES), "MODULES");
    check(trace_record_put(&buf, &head, sizeof head), "MODULES");
    for (uint32_t i = 0; i < count; i++) {
        uint64_t base = i ? 0x10000000ull * i : 0x400000;
        struct mt_module m = { .bias = i ? base : 0, .start = base,
                               .end = base + 0x100000, .size = 0x100000,
                               .build_id_len = i % 2 ? sizeof build_id : 0,
                               .path_len = (uint16_t)strlen(paths[i]) };
        check(trace_record_put(&buf, &m, sizeof m), "a module");
        check(trace_record_put(&buf, build_id, m.build_id_len), "a module");
        check(trace_record_put(&buf, paths[i], m.path_len), "a module");
    }
    trace_record_end(&buf);
}

static void site(uint32_t id, uint32_t kind, uint32_t nframes)
{
    struct mt_rec_site s = { .site_id = id, .kind = kind,
                             .nframes = nframes };
    uint64_t frames[MT_MAX_FRAMES];
    uint8_t packed[MT_MAX_FRAMES * MT_PACKED_FRAME_MAX];

    /* Frames in the first and second module, alternately. */
    for (uint32_t i = 0; i < nframes; i++)
        frames[i] = (i % 2 ? 0x10000000ull : 0x400000) + 0x1000 + 0x10 * i +
                    id;
    check(trace_record_begin(&buf, MT_REC_SITE), "SITE");
    check(trace_record_put(&buf, &s, sizeof s), "SITE");
    check(trace_record_put(&buf, packed,
                           trace_pack_frames(frames, nframes, packed)),
          "the frames");
    trace_record_end(&buf);
}

static void counters(uint32_t id, uint64_t live, uint64_t allocs,
                     uint64_t frees)
{
    struct mt_rec_site_counters head = { .count = 1 };
    struct mt_site_counters c = { .site_id = id, .live_bytes = live,
                                  .allocs = allocs, .frees = frees,
                                  .bytes_allocated = live + frees * 64,
                                  .peak_live_bytes = live };
    uint8_t packed[MT_PACKED_COUNTERS_MAX];

    check(trace_record_begin(&buf, MT_REC_SITE_COUNTERS), "SITE_COUNTERS");
    check(trace_record_put(&buf, &head, sizeof head), "SITE_COUNTERS");
    check(trace_record_put(&buf, packed, trace_pack_counters(&c, packed)),
          "SITE_COUNTERS");
    trace_record_end(&buf);
}

static void snapshot(uint64_t t_ns, uint64_t live, uint32_t flags)
{
    struct mt_rec_snapshot s = { .t_ns = t_ns, .seq = ++snapshot_seq,
                                 .allocs = t_ns / 1000, .live_bytes = live,
                                 .peak_live_bytes = live,
                                 .rss_bytes = 1 << 20,
                                 .peak_rss_bytes = 2 << 20, .flags = flags };
    check(trace_put_record(&buf, MT_REC_SNAPSHOT, &s, sizeof s), "SNAPSHOT");
}

static void survivors(uint32_t id, uint32_t n, uint64_t size,
                      uint64_t first_birth, uint64_t step, uint32_t flags)
{
    struct mt_rec_survivors head = { .count = n };

    check(trace_record_begin(&buf, MT_REC_SURVIVORS), "SURVIVORS");
    check(trace_record_put(&buf, &head, sizeof head), "SURVIVORS");
    for (uint32_t i = 0; i < n; i++) {
        struct mt_survivor s = { .site_id = id, .flags = flags, .size = size,
                                 .birth_ns = first_birth + step * i };
        check(trace_record_put(&buf, &s, sizeof s), "a survivor");
    }
    trace_record_end(&buf);
}

static void end(uint64_t t_ns, uint64_t nsurvivors, uint32_t reason,
                int32_t status, uint32_t flags)
{
    struct mt_rec_end e = { .t_ns = t_ns, .survivors = nsurvivors,
                            .reason = reason, .status = status,
                            .flags = flags };
    check(trace_put_record(&buf, MT_REC_END, &e, sizeof e), "END");
}

static void save(const char *dir, const char *name)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s.trace", dir, name);
    f = fopen(path, "wb");
    if (!f || fwrite(buf.data, 1, buf.len, f) != buf.len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static const char *const first_map[] = { "/usr/bin/seed",
                                         "/lib/libc.so.6", "[vdso]" };
static const char *const second_map[] = { "/usr/bin/seed", "/lib/libc.so.6",
                                          "/usr/lib/libmtrace.so",
                                          "/opt/plugin.so" };

/* A leak that grows every interval next to a steady site, with a plugin
 * loaded halfway; survivors with and without the unreachable flag. */
static void forge_steady_leak(const char *dir)
{
    const uint32_t intervals = 30;

    start();
    modules(1, first_map, 3);
    site(1, MT_KIND_HEAP, 6);
    site(2, MT_KIND_HEAP, 3);
    for (uint32_t i = 1; i <= intervals; i++) {
        if (i == intervals / 2) {
            modules(2, second_map, 4);
            site(3, MT_KIND_MMAP, MT_MAX_FRAMES);
            counters(3, 65536, 1, 0);
        }
        counters(1, 4096ull * i, i, 0);
        counters(2, 512, 10ull * i, 10ull * i - 1);
        snapshot(INTERVAL_NS * i, 4096ull * i + 512,
                 i == intervals ? MT_SNAP_FINAL : 0);
    }
    survivors(1, intervals, 4096, INTERVAL_NS / 2, INTERVAL_NS,
              MT_SURV_UNREACHABLE);
    survivors(2, 1, 512, INTERVAL_NS * intervals - 1000, 0, 0);
    survivors(3, 1, 65536, INTERVAL_NS * intervals / 2, 0, 0);
    end(INTERVAL_NS * intervals + 1000, intervals + 2, MT_END_EXIT, 0,
        MT_END_REACHABILITY_DONE);
    save(dir, "forged-steady-leak");
}

/* Killed by a signal during its fourth interval: no END, a site and
 * counters pending. */
static void forge_cut_interval(const char *dir)
{
    start();
    modules(1, first_map, 3);
    for (uint32_t i = 1; i <= 3; i++) {
        site(i, MT_KIND_HEAP, i);
        counters(i, 100ull * i, i, 0);
        snapshot(INTERVAL_NS * i, 100ull * i, 0);
    }
    site(4, MT_KIND_HEAP, 2);
    counters(4, 1000, 1, 0);
    save(dir, "forged-cut-interval");
}

/* Ended by a fatal signal right after start: one snapshot, no survivors,
 * counters alone say what was live. */
static void forge_signal_no_survivors(const char *dir)
{
    start();
    site(1, MT_KIND_HEAP, 1);
    counters(1, 64, 1, 0);
    snapshot(1000, 64, MT_SNAP_FINAL | MT_SNAP_ON_DEMAND);
    end(2000, 0, MT_END_SIGNAL, 11, 0);
    save(dir, "forged-signal");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: forge_seeds DIR\n");
        return 2;
    }
    forge_steady_leak(argv[1]);
    forge_cut_interval(argv[1]);
    forge_signal_no_survivors(argv[1]);
    return 0;
}
