/* reader.c - see reader.h. */
#include "reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reader_internal.h"
#include "xalloc.h"

/* Large reads: stdio then calls read(2) once per megabyte. */
#define READER_STDIO_BUFFER (1u << 20)

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

enum reader_status reader_damaged(struct trace_reader *r,
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

/* The order rules that do not depend on a payload. */
static enum reader_status check_order(struct trace_reader *r,
                                      struct reader_record *rec)
{
    if (r->seen_end)
        return reader_damaged(r, rec, "follows the END record");
    if (!r->seen_process && rec->type != MT_REC_PROCESS)
        return reader_damaged(r, rec, "comes before the PROCESS record");
    if (r->seen_process && rec->type == MT_REC_PROCESS)
        return reader_damaged(r, rec, "is a second PROCESS record");
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
        return reader_damaged(r, rec, "is %u bytes long (at most %u)",
                              h.length, MT_RECORD_MAX);
    st = check_order(r, rec);
    if (st != READER_RECORD)
        return st;
    got = fread_unlocked(r->payload, 1, h.length, r->file);
    if (got < h.length)
        return ferror(r->file) ? io_error(r) : READER_CUT;
    r->offset += sizeof h + h.length;
    st = reader_decode(r, rec, h.length);
    if (st != READER_RECORD)
        return st;
    if (rec->type == MT_REC_PROCESS)
        r->seen_process = true;
    if (rec->type == MT_REC_END)
        r->seen_end = true;
    return READER_RECORD;
}
