/* trace_forge.c - see trace_forge.h. */
#include "trace_forge.h"

#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "suites.h"
#include "trace_load.h"

void forge_init_raw(struct forge *f, size_t cap)
{
    void *mem = malloc(cap);
    ck_assert_ptr_nonnull(mem);
    trace_buf_init(&f->buf, mem, cap);
    f->version = MT_FORMAT_VERSION;
}

void forge_init(struct forge *f, size_t cap)
{
    forge_init_raw(f, cap);
    ck_assert_int_eq(trace_put_file_header(&f->buf), 0);
}

void forge_init_version(struct forge *f, size_t cap, uint32_t version)
{
    forge_init(f, cap);
    f->version = version;
    memcpy(f->buf.data + offsetof(struct mt_file_header, version), &version,
           sizeof version);
}

/* One SITE_COUNTERS entry as f's format version lays it out. */
static void put_counters(struct forge *f, const struct mt_site_counters *c)
{
    uint8_t packed[MT_PACKED_COUNTERS_MAX];
    if (f->version < 2) {
        ck_assert_int_eq(trace_record_put(&f->buf, c, sizeof *c), 0);
        return;
    }
    ck_assert_int_eq(trace_record_put(&f->buf, packed,
                                      trace_pack_counters(c, packed)), 0);
}

void forge_free(struct forge *f)
{
    free(f->buf.data);
}

void forge_process(struct forge *f, uint32_t pid, const char *exe)
{
    forge_process_every(f, pid, exe, 100);
}

void forge_process_every(struct forge *f, uint32_t pid, const char *exe,
                         uint32_t interval_ms)
{
    static const char cmdline[] = "prog\0--flag";   /* two arguments */
    struct mt_rec_process p;

    memset(&p, 0, sizeof p);
    p.pid = pid;
    p.ppid = 1;
    p.interval_ms = interval_ms;
    p.depth = 32;
    p.exe_len = (uint32_t)strlen(exe);
    p.cmdline_len = sizeof cmdline;
    ck_assert_int_eq(trace_record_begin(&f->buf, MT_REC_PROCESS), 0);
    ck_assert_int_eq(trace_record_put(&f->buf, &p, sizeof p), 0);
    ck_assert_int_eq(trace_record_put(&f->buf, exe, p.exe_len), 0);
    ck_assert_int_eq(trace_record_put(&f->buf, cmdline, sizeof cmdline), 0);
    trace_record_end(&f->buf);
}

void forge_modules(struct forge *f, uint32_t generation, const char *path)
{
    struct mt_rec_modules head = { .generation = generation, .count = 1 };
    struct mt_module m;
    static const uint8_t build_id[4] = { 0xde, 0xad, 0xbe, 0xef };

    memset(&m, 0, sizeof m);
    m.start = 0x400000;
    m.end = 0x500000;
    m.build_id_len = sizeof build_id;
    m.path_len = (uint16_t)strlen(path);
    ck_assert_int_eq(trace_record_begin(&f->buf, MT_REC_MODULES), 0);
    ck_assert_int_eq(trace_record_put(&f->buf, &head, sizeof head), 0);
    ck_assert_int_eq(trace_record_put(&f->buf, &m, sizeof m), 0);
    ck_assert_int_eq(trace_record_put(&f->buf, build_id, sizeof build_id), 0);
    ck_assert_int_eq(trace_record_put(&f->buf, path, m.path_len), 0);
    trace_record_end(&f->buf);
}

void forge_site(struct forge *f, uint32_t id, uint32_t nframes)
{
    struct mt_rec_site s = { .site_id = id, .kind = MT_KIND_HEAP,
                             .nframes = nframes };
    uint64_t frames[MT_MAX_FRAMES];
    uint8_t packed[MT_MAX_FRAMES * MT_PACKED_FRAME_MAX];

    ck_assert_uint_le(nframes, MT_MAX_FRAMES);
    for (uint32_t i = 0; i < nframes; i++)
        frames[i] = 0x401000 + 0x10 * i + id;
    ck_assert_int_eq(trace_record_begin(&f->buf, MT_REC_SITE), 0);
    ck_assert_int_eq(trace_record_put(&f->buf, &s, sizeof s), 0);
    if (f->version < 2)
        ck_assert_int_eq(trace_record_put(&f->buf, frames,
                                          nframes * sizeof frames[0]), 0);
    else
        ck_assert_int_eq(trace_record_put(&f->buf, packed,
                                          trace_pack_frames(frames, nframes,
                                                            packed)), 0);
    trace_record_end(&f->buf);
}

void forge_counters(struct forge *f, uint32_t id, uint64_t live_bytes,
                    uint64_t allocs, uint64_t frees)
{
    struct mt_rec_site_counters head = { .count = 1 };
    struct mt_site_counters c;

    memset(&c, 0, sizeof c);
    c.site_id = id;
    c.live_bytes = live_bytes;
    c.allocs = allocs;
    c.frees = frees;
    c.bytes_allocated = live_bytes * 2;
    c.peak_live_bytes = live_bytes;
    ck_assert_int_eq(trace_record_begin(&f->buf, MT_REC_SITE_COUNTERS), 0);
    ck_assert_int_eq(trace_record_put(&f->buf, &head, sizeof head), 0);
    put_counters(f, &c);
    trace_record_end(&f->buf);
}

void forge_snapshot(struct forge *f, uint64_t t_ns, uint64_t live_bytes)
{
    static uint64_t seq;
    struct mt_rec_snapshot s;

    memset(&s, 0, sizeof s);
    s.t_ns = t_ns;
    s.seq = ++seq;
    s.live_bytes = live_bytes;
    s.peak_live_bytes = live_bytes;
    s.allocs = t_ns;        /* distinct per snapshot, for the tests */
    s.peak_rss_bytes = 4096 + t_ns;
    ck_assert_int_eq(trace_put_record(&f->buf, MT_REC_SNAPSHOT, &s, sizeof s),
                     0);
}

void forge_survivor(struct forge *f, uint32_t id, uint64_t size,
                    uint64_t birth_ns, uint32_t flags)
{
    struct mt_rec_survivors head = { .count = 1 };
    struct mt_survivor s = { .site_id = id, .flags = flags, .size = size,
                             .birth_ns = birth_ns };
    ck_assert_int_eq(trace_record_begin(&f->buf, MT_REC_SURVIVORS), 0);
    ck_assert_int_eq(trace_record_put(&f->buf, &head, sizeof head), 0);
    ck_assert_int_eq(trace_record_put(&f->buf, &s, sizeof s), 0);
    trace_record_end(&f->buf);
}

void forge_end(struct forge *f, uint64_t t_ns, uint64_t survivors,
               uint32_t flags)
{
    struct mt_rec_end e = { .t_ns = t_ns, .survivors = survivors,
                            .reason = MT_END_EXIT, .status = 0,
                            .flags = flags };
    ck_assert_int_eq(trace_put_record(&f->buf, MT_REC_END, &e, sizeof e), 0);
}

void forge_raw_record(struct forge *f, uint32_t type, uint32_t length,
                      const void *payload, size_t n)
{
    struct mt_record_header h = { .type = type, .length = length };
    ck_assert_uint_le(f->buf.len + sizeof h + n, f->buf.cap);
    memcpy(f->buf.data + f->buf.len, &h, sizeof h);
    if (n)
        memcpy(f->buf.data + f->buf.len + sizeof h, payload, n);
    f->buf.len += sizeof h + n;
}

const char *forge_write(struct forge *f, const char *name, size_t len)
{
    FILE *file;

    if (len > f->buf.len)
        len = f->buf.len;
    snprintf(f->path, sizeof f->path, "%s/%s", test_tmpdir(), name);
    file = fopen(f->path, "wb");
    ck_assert_ptr_nonnull(file);
    ck_assert_uint_eq(fwrite(f->buf.data, 1, len, file), len);
    ck_assert_int_eq(fclose(file), 0);
    return f->path;
}

static void begin_version(struct forge *f, uint32_t version)
{
    forge_init_version(f, 1 << 16, version);
    forge_process(f, 4242, "/usr/bin/prog");
    forge_modules(f, 1, "/usr/bin/prog");
}

void forge_begin(struct forge *f)
{
    begin_version(f, MT_FORMAT_VERSION);
}

void forge_begin_v1(struct forge *f)
{
    begin_version(f, 1);
}

void forge_expect(struct forge *f, const char *expected)
{
    struct model m;
    struct bucket_thresholds th = { BUCKETS_DEFAULT_YOUNG_NS,
                                    BUCKETS_DEFAULT_LARGE_BYTES };
    char err[512] = "";

    model_init(&m, &th);
    ck_assert_int_eq(trace_load(forge_write(f, "bad.trace", SIZE_MAX), &m,
                                err, sizeof err), -1);
    ck_assert_msg(strstr(err, expected), "error '%s' lacks '%s'", err,
                  expected);
    ck_assert_ptr_null(strchr(err, '\n'));
    model_free(&m);
    forge_free(f);
}
