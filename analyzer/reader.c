/* reader.c - see reader.h. */
#include "reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trace_unpack.h"
#include "xalloc.h"

/* Site ids are dense from 1, but a writer may emit one interval's new sites
 * in any order; an id further than this beyond the sites defined so far is
 * damage, and the bound keeps the id table from growing without limit. */
#define READER_SITE_ID_SLACK (1u << 20)

/* Times are nanoseconds since the process started: 2^62 ns is 146 years,
 * so a larger one is damage. The bound also keeps the analysis's time
 * arithmetic (gaps between births scaled by a tolerance, sums of
 * durations) inside uint64_t. */
#define READER_TIME_MAX (1ull << 62)

/* Large reads: stdio then calls read(2) once per megabyte. */
#define READER_STDIO_BUFFER (1u << 20)

struct trace_reader {
    FILE *file;
    char *stdio_buffer;
    uint64_t offset;            /* of the next byte to read */
    uint8_t *payload;           /* MT_RECORD_MAX bytes */
    struct reader_module *modules;
    size_t modules_cap;
    uint8_t *site_defined;      /* indexed by site id */
    size_t site_defined_cap;
    uint64_t sites_defined;
    uint32_t last_generation;
    uint32_t version;           /* the file header's */
    /* Version 2's packed SITE_COUNTERS entries, unpacked: what
     * reader_counters_at reads for them. */
    struct mt_site_counters *unpacked;
    size_t unpacked_cap;
    bool seen_process;
    bool seen_end;
    char err[512];
};

static const char *const type_names[] = {
    [MT_REC_PROCESS] = "PROCESS", [MT_REC_MODULES] = "MODULES",
    [MT_REC_SITE] = "SITE", [MT_REC_SITE_COUNTERS] = "SITE_COUNTERS",
    [MT_REC_SNAPSHOT] = "SNAPSHOT", [MT_REC_SURVIVORS] = "SURVIVORS",
    [MT_REC_END] = "END",
};

const char *reader_type_name(uint32_t type)
{
    if (type < sizeof type_names / sizeof type_names[0] && type_names[type])
        return type_names[type];
    return "unknown";
}

const char *reader_error(const struct trace_reader *r)
{
    return r->err;
}

/* "damaged trace: TYPE record at offset N <what>" */
__attribute__((format(printf, 3, 4)))
static enum reader_status damaged(struct trace_reader *r,
                                  const struct reader_record *rec,
                                  const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(r->err, sizeof r->err,
                     "damaged trace: %s record at offset %llu ",
                     reader_type_name(rec->type),
                     (unsigned long long)rec->offset);
    if (n < 0 || (size_t)n >= sizeof r->err)
        return READER_ERROR;
    va_start(ap, fmt);
    vsnprintf(r->err + n, sizeof r->err - (size_t)n, fmt, ap);
    va_end(ap);
    return READER_ERROR;
}

static enum reader_status io_error(struct trace_reader *r)
{
    snprintf(r->err, sizeof r->err, "read error: %s", strerror(errno));
    return READER_ERROR;
}

static int check_header(const struct mt_file_header *h, size_t got,
                        char *err, size_t errlen)
{
    size_t magic_bytes = got < MT_MAGIC_LEN ? got : MT_MAGIC_LEN;

    if (got == 0) {
        snprintf(err, errlen, "not an mtrace trace (the file is empty)");
        return -1;
    }
    if (memcmp(h->magic, MT_MAGIC, magic_bytes) != 0) {
        snprintf(err, errlen, "not an mtrace trace (bad magic)");
        return -1;
    }
    if (got < sizeof *h) {
        snprintf(err, errlen,
                 "damaged trace: the file header is cut short at %zu of %zu "
                 "bytes", got, sizeof *h);
        return -1;
    }
    if (h->endian_check == __builtin_bswap32(MT_ENDIAN_CHECK)) {
        snprintf(err, errlen,
                 "damaged trace: written with the other byte order "
                 "(endian check 0x%08x)", h->endian_check);
        return -1;
    }
    if (h->version > MT_FORMAT_VERSION) {
        snprintf(err, errlen,
                 "trace format version %u is newer than this mtrace-analyze "
                 "(supports %d)", h->version, MT_FORMAT_VERSION);
        return -1;
    }
    if (h->version == 0) {
        snprintf(err, errlen, "damaged trace: format version 0");
        return -1;
    }
    if (h->endian_check != MT_ENDIAN_CHECK) {
        snprintf(err, errlen, "damaged trace: bad endian check 0x%08x",
                 h->endian_check);
        return -1;
    }
    if (h->pointer_size != 8) {
        snprintf(err, errlen,
                 "damaged trace: pointer size %u (only 8 is supported)",
                 h->pointer_size);
        return -1;
    }
    return 0;
}

/* Takes over `file` (and `stdio_buffer`, may be NULL) and checks the file
 * header; both are released on failure. */
static struct trace_reader *reader_start(FILE *file, char *stdio_buffer,
                                         char *err, size_t errlen)
{
    struct trace_reader *r = xcalloc(1, sizeof *r);
    struct mt_file_header header;
    size_t got;

    r->file = file;
    r->stdio_buffer = stdio_buffer;
    if (stdio_buffer)
        setvbuf(file, stdio_buffer, _IOFBF, READER_STDIO_BUFFER);
    memset(&header, 0, sizeof header);
    got = fread_unlocked(&header, 1, sizeof header, file);
    if (ferror(file)) {
        snprintf(err, errlen, "read error: %s", strerror(errno));
        reader_close(r);
        return NULL;
    }
    if (check_header(&header, got, err, errlen) < 0) {
        reader_close(r);
        return NULL;
    }
    r->offset = sizeof header;
    r->version = header.version;
    r->payload = xmalloc(MT_RECORD_MAX);
    return r;
}

struct trace_reader *reader_open(const char *path, char *err, size_t errlen)
{
    struct stat st;
    FILE *file;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

    if (fd < 0) {
        snprintf(err, errlen, "%s", strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "not a regular file");
        close(fd);
        return NULL;
    }
    file = fdopen(fd, "rb");
    if (!file) {
        snprintf(err, errlen, "%s", strerror(errno));
        close(fd);
        return NULL;
    }
    return reader_start(file, xmalloc(READER_STDIO_BUFFER), err, errlen);
}

struct trace_reader *reader_open_memory(const void *data, size_t size,
                                        char *err, size_t errlen)
{
    static char empty[1];
    /* A read-only stream never writes to its buffer; fmemopen just has no
     * const in its prototype. NULL would make it allocate one. */
    FILE *file = fmemopen(data ? (void *)data : empty, size, "rb");

    if (!file) {
        snprintf(err, errlen, "%s", strerror(errno));
        return NULL;
    }
    /* The data is in memory already: no large stdio buffer to fill. */
    return reader_start(file, NULL, err, errlen);
}

void reader_close(struct trace_reader *r)
{
    if (!r)
        return;
    fclose(r->file);
    free(r->stdio_buffer);
    free(r->payload);
    free(r->modules);
    free(r->site_defined);
    free(r->unpacked);
    free(r);
}

int reader_seek(struct trace_reader *r, uint64_t offset)
{
    if (fseeko(r->file, (off_t)offset, SEEK_SET) < 0) {
        snprintf(r->err, sizeof r->err, "seek error: %s", strerror(errno));
        return -1;
    }
    r->offset = offset;
    r->seen_end = false;
    return 0;
}

static bool site_is_defined(const struct trace_reader *r, uint32_t id)
{
    return id < r->site_defined_cap && r->site_defined[id];
}

static uint32_t entry_site_id(const uint8_t *entry)
{
    uint32_t id;
    memcpy(&id, entry, sizeof id);
    return id;
}

static enum reader_status decode_process(struct trace_reader *r,
                                         struct reader_record *rec,
                                         uint32_t length)
{
    struct mt_rec_process *p = &rec->u.process.info;
    uint64_t need;

    if (length < sizeof *p)
        return damaged(r, rec, "is %u bytes long (at least %zu)", length,
                       sizeof *p);
    memcpy(p, r->payload, sizeof *p);
    need = (uint64_t)sizeof *p + p->exe_len + p->cmdline_len;
    if (need != length)
        return damaged(r, rec,
                       "is %u bytes long, but its strings of %u and %u bytes "
                       "need %llu", length, p->exe_len, p->cmdline_len,
                       (unsigned long long)need);
    rec->u.process.exe = (const char *)r->payload + sizeof *p;
    rec->u.process.cmdline = rec->u.process.exe + p->exe_len;
    return READER_RECORD;
}

static enum reader_status decode_modules(struct trace_reader *r,
                                         struct reader_record *rec,
                                         uint32_t length)
{
    struct mt_rec_modules head;
    size_t pos = sizeof head;

    if (length < sizeof head)
        return damaged(r, rec, "is %u bytes long (at least %zu)", length,
                       sizeof head);
    memcpy(&head, r->payload, sizeof head);
    if (head.count > (length - sizeof head) / sizeof(struct mt_module))
        return damaged(r, rec, "claims %u modules in %u bytes", head.count,
                       length);
    if (head.generation <= r->last_generation)
        return damaged(r, rec, "has generation %u after generation %u",
                       head.generation, r->last_generation);
    xgrow((void **)&r->modules, &r->modules_cap, head.count,
          sizeof *r->modules);
    for (uint32_t i = 0; i < head.count; i++) {
        struct reader_module *m = &r->modules[i];
        if (length - pos < sizeof m->info)
            return damaged(r, rec, "has module %u of %u past its end", i + 1,
                           head.count);
        memcpy(&m->info, r->payload + pos, sizeof m->info);
        pos += sizeof m->info;
        if ((uint64_t)m->info.build_id_len + m->info.path_len > length - pos)
            return damaged(r, rec,
                           "has module %u of %u whose strings (%u + %u "
                           "bytes) run past its end", i + 1, head.count,
                           m->info.build_id_len, m->info.path_len);
        m->build_id = r->payload + pos;
        pos += m->info.build_id_len;
        m->path = (const char *)r->payload + pos;
        pos += m->info.path_len;
    }
    if (pos != length)
        return damaged(r, rec, "has %zu bytes after its %u modules",
                       length - pos, head.count);
    r->last_generation = head.generation;
    rec->u.modules.generation = head.generation;
    rec->u.modules.count = head.count;
    rec->u.modules.modules = r->modules;
    return READER_RECORD;
}

/* Version 2's frames (trace_format.h), filling the rest of the payload
 * exactly, into frames. */
static enum reader_status unpack_site_frames(struct trace_reader *r,
                                             struct reader_record *rec,
                                             uint32_t length,
                                             uint32_t nframes,
                                             uint64_t *frames)
{
    const uint8_t *at = r->payload + sizeof(struct mt_rec_site),
                  *end = r->payload + length;
    uint32_t whole = unpack_frames(&at, end, nframes, frames);

    if (whole < nframes)
        return damaged(r, rec, "has frame %u of %u cut short or "
                       "overflowing", whole + 1, nframes);
    if (at != end)
        return damaged(r, rec, "has %zu bytes after its %u frames",
                       (size_t)(end - at), nframes);
    return READER_RECORD;
}

static enum reader_status decode_site(struct trace_reader *r,
                                      struct reader_record *rec,
                                      uint32_t length)
{
    struct mt_rec_site *s = &rec->u.site.info;
    uint64_t need;

    if (length < sizeof *s)
        return damaged(r, rec, "is %u bytes long (at least %zu)", length,
                       sizeof *s);
    memcpy(s, r->payload, sizeof *s);
    if (s->nframes > MT_MAX_FRAMES)
        return damaged(r, rec, "has %u frames (at most %d)", s->nframes,
                       MT_MAX_FRAMES);
    need = sizeof *s + (uint64_t)s->nframes * sizeof(uint64_t);
    if (r->version >= 2) {
        enum reader_status st = unpack_site_frames(r, rec, length,
                                                   s->nframes,
                                                   rec->u.site.frames);
        if (st != READER_RECORD)
            return st;
    } else if (need != length) {
        return damaged(r, rec, "is %u bytes long, but %u frames need %llu",
                       length, s->nframes, (unsigned long long)need);
    }
    if (s->kind != MT_KIND_HEAP && s->kind != MT_KIND_MMAP &&
        s->kind != MT_KIND_FAILED)
        return damaged(r, rec, "has unknown site kind %u", s->kind);
    if (s->site_id == 0)
        return damaged(r, rec, "defines site 0 (site ids start at 1)");
    if (s->site_id > r->sites_defined + READER_SITE_ID_SLACK)
        return damaged(r, rec,
                       "defines site %u, far beyond the %llu sites defined "
                       "so far", s->site_id,
                       (unsigned long long)r->sites_defined);
    if (site_is_defined(r, s->site_id))
        return damaged(r, rec, "defines site %u a second time", s->site_id);
    if (s->site_id >= r->site_defined_cap) {
        size_t old = r->site_defined_cap;
        xgrow((void **)&r->site_defined, &r->site_defined_cap,
              (size_t)s->site_id + 1, 1);
        memset(r->site_defined + old, 0, r->site_defined_cap - old);
    }
    r->site_defined[s->site_id] = 1;
    r->sites_defined++;
    if (r->version < 2)
        memcpy(rec->u.site.frames, r->payload + sizeof *s,
               s->nframes * sizeof(uint64_t));
    return READER_RECORD;
}

/* SITE_COUNTERS and SURVIVORS: a fixed part holding `count`, then exactly
 * `count` entries, each starting with a defined site id. */
static enum reader_status decode_entries(struct trace_reader *r,
                                         struct reader_record *rec,
                                         uint32_t length, size_t entry_size,
                                         uint32_t *count,
                                         const uint8_t **entries)
{
    const size_t fixed = 8;
    uint64_t need;

    if (length < fixed)
        return damaged(r, rec, "is %u bytes long (at least %zu)", length,
                       fixed);
    memcpy(count, r->payload, sizeof *count);
    need = fixed + (uint64_t)*count * entry_size;
    if (need != length)
        return damaged(r, rec, "is %u bytes long, but %u entries need %llu",
                       length, *count, (unsigned long long)need);
    *entries = r->payload + fixed;
    for (uint32_t i = 0; i < *count; i++) {
        uint32_t id = entry_site_id(*entries + i * entry_size);
        if (!site_is_defined(r, id))
            return damaged(r, rec, "references undefined site %u", id);
    }
    return READER_RECORD;
}

/* Version 2's SITE_COUNTERS: `count` packed entries (trace_format.h),
 * filling exactly the payload, unpacked for reader_counters_at. */
static enum reader_status decode_packed_counters(struct trace_reader *r,
                                                 struct reader_record *rec,
                                                 uint32_t length)
{
    const size_t fixed = 8;
    const uint8_t *at = r->payload + fixed, *end = r->payload + length;
    uint32_t count;

    if (length < fixed)
        return damaged(r, rec, "is %u bytes long (at least %zu)", length,
                       fixed);
    memcpy(&count, r->payload, sizeof count);
    /* An entry takes six bytes at least. */
    if (count > (length - fixed) / 6)
        return damaged(r, rec, "is %u bytes long, too short for %u entries",
                       length, count);
    if (count > r->unpacked_cap)
        xgrow((void **)&r->unpacked, &r->unpacked_cap, count,
              sizeof *r->unpacked);
    for (uint32_t i = 0; i < count; i++) {
        struct mt_site_counters *c = &r->unpacked[i];
        uint64_t id;
        if (!unpack_counters(&at, end, c, &id))
            return damaged(r, rec, "has entry %u of %u cut short or "
                           "overflowing", i + 1, count);
        if (id > UINT32_MAX || !site_is_defined(r, (uint32_t)id))
            return damaged(r, rec, "references undefined site %llu",
                           (unsigned long long)id);
        c->site_id = (uint32_t)id;
    }
    if (at != end)
        return damaged(r, rec, "has %zu bytes after its %u entries",
                       (size_t)(end - at), count);
    rec->u.counters.count = count;
    rec->u.counters.entries = (const uint8_t *)r->unpacked;
    return READER_RECORD;
}

static enum reader_status check_time(struct trace_reader *r,
                                     const struct reader_record *rec,
                                     const char *what, uint64_t t_ns)
{
    if (t_ns > READER_TIME_MAX)
        return damaged(r, rec, "has %s %llu ns, beyond any recording (at "
                       "most %llu)", what, (unsigned long long)t_ns,
                       (unsigned long long)READER_TIME_MAX);
    return READER_RECORD;
}

static enum reader_status decode_survivors(struct trace_reader *r,
                                           struct reader_record *rec,
                                           uint32_t length)
{
    enum reader_status st =
        decode_entries(r, rec, length, sizeof(struct mt_survivor),
                       &rec->u.survivors.count, &rec->u.survivors.entries);

    for (uint32_t i = 0; st == READER_RECORD && i < rec->u.survivors.count;
         i++) {
        struct mt_survivor s;
        reader_survivor_at(rec, i, &s);
        st = check_time(r, rec, "a birth time", s.birth_ns);
    }
    return st;
}

static enum reader_status decode_fixed(struct trace_reader *r,
                                       struct reader_record *rec,
                                       uint32_t length, void *out,
                                       size_t size)
{
    if (length != size)
        return damaged(r, rec, "is %u bytes long (expected %zu)", length,
                       size);
    memcpy(out, r->payload, size);
    return READER_RECORD;
}

static enum reader_status decode(struct trace_reader *r,
                                 struct reader_record *rec, uint32_t length)
{
    enum reader_status st;

    switch (rec->type) {
    case MT_REC_PROCESS:
        return decode_process(r, rec, length);
    case MT_REC_MODULES:
        return decode_modules(r, rec, length);
    case MT_REC_SITE:
        return decode_site(r, rec, length);
    case MT_REC_SITE_COUNTERS:
        if (r->version >= 2)
            return decode_packed_counters(r, rec, length);
        return decode_entries(r, rec, length, sizeof(struct mt_site_counters),
                              &rec->u.counters.count,
                              &rec->u.counters.entries);
    case MT_REC_SNAPSHOT:
        st = decode_fixed(r, rec, length, &rec->u.snapshot,
                          sizeof rec->u.snapshot);
        return st == READER_RECORD
                   ? check_time(r, rec, "time", rec->u.snapshot.t_ns)
                   : st;
    case MT_REC_SURVIVORS:
        return decode_survivors(r, rec, length);
    case MT_REC_END:
        st = decode_fixed(r, rec, length, &rec->u.end, sizeof rec->u.end);
        return st == READER_RECORD ? check_time(r, rec, "time",
                                                rec->u.end.t_ns)
                                   : st;
    }
    return damaged(r, rec, "has an unknown type");
}

/* The order rules that do not depend on a payload. */
static enum reader_status check_order(struct trace_reader *r,
                                      struct reader_record *rec)
{
    if (r->seen_end)
        return damaged(r, rec, "follows the END record");
    if (!r->seen_process && rec->type != MT_REC_PROCESS)
        return damaged(r, rec, "comes before the PROCESS record");
    if (r->seen_process && rec->type == MT_REC_PROCESS)
        return damaged(r, rec, "is a second PROCESS record");
    return READER_RECORD;
}

enum reader_status reader_next(struct trace_reader *r,
                               struct reader_record *rec)
{
    struct mt_record_header h;
    size_t got = fread_unlocked(&h, 1, sizeof h, r->file);
    enum reader_status st;

    if (got < sizeof h) {
        if (ferror(r->file))
            return io_error(r);
        if (got > 0 && r->seen_end) {
            snprintf(r->err, sizeof r->err,
                     "damaged trace: %zu stray bytes after the END record "
                     "at offset %llu", got, (unsigned long long)r->offset);
            return READER_ERROR;
        }
        return got == 0 ? READER_EOF : READER_CUT;
    }
    rec->type = h.type;
    rec->offset = r->offset;
    if (h.type < MT_REC_PROCESS || h.type > MT_REC_END) {
        snprintf(r->err, sizeof r->err,
                 "damaged trace: unknown record type %u at offset %llu",
                 h.type, (unsigned long long)rec->offset);
        return READER_ERROR;
    }
    if (h.length > MT_RECORD_MAX)
        return damaged(r, rec, "is %u bytes long (at most %u)", h.length,
                       MT_RECORD_MAX);
    st = check_order(r, rec);
    if (st != READER_RECORD)
        return st;
    got = fread_unlocked(r->payload, 1, h.length, r->file);
    if (got < h.length)
        return ferror(r->file) ? io_error(r) : READER_CUT;
    r->offset += sizeof h + h.length;
    st = decode(r, rec, h.length);
    if (st != READER_RECORD)
        return st;
    if (rec->type == MT_REC_PROCESS)
        r->seen_process = true;
    if (rec->type == MT_REC_END)
        r->seen_end = true;
    return READER_RECORD;
}

void reader_counters_at(const struct reader_record *rec, size_t i,
                        struct mt_site_counters *out)
{
    memcpy(out, rec->u.counters.entries + i * sizeof *out, sizeof *out);
}

void reader_survivor_at(const struct reader_record *rec, size_t i,
                        struct mt_survivor *out)
{
    memcpy(out, rec->u.survivors.entries + i * sizeof *out, sizeof *out);
}
