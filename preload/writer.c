/* writer.c - see writer.h. */
#include "writer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"
#include "fd_high.h"
#include "log.h"

/* Big enough for a MODULES record (never split) with room to spare. */
#define WRITER_BUFFER (2 * MT_RECORD_MAX)

static int trace_fd = -1;
static char trace_path[4200];
static dev_t trace_dev;
static ino_t trace_ino;
static uint64_t flushed_bytes;
static uint8_t *buffer_mem;
static struct trace_buf buffer;
static bool lost_reported;

/* The main trace while writer_copy_begin..end points the writer at a
 * copy. */
static struct {
    int fd;
    char path[sizeof trace_path];
    dev_t dev;
    ino_t ino;
    uint64_t flushed;
    bool active;
} main_trace;

static struct {
    uint32_t type;
    size_t entry_size;
    uint32_t count;
    size_t count_at;           /* buffer offset of the count field */
    bool open;
} counted;

static int expand_pattern(const char *pattern, pid_t pid, unsigned seq,
                          char *out, size_t cap)
{
    char base[sizeof trace_path];
    size_t len = 0;
    static const char suffix[] = ".trace";
    size_t slen = sizeof suffix - 1, blen;

    for (const char *c = pattern; *c && len + 24 < sizeof base; c++) {
        if (c[0] == '%' && c[1] == 'p') {
            len += (size_t)snprintf(base + len, sizeof base - len, "%d", (int)pid);
            c++;
        } else if (c[0] == '%' && c[1] == '%') {
            base[len++] = '%';
            c++;
        } else {
            base[len++] = *c;
        }
    }
    base[len] = '\0';
    if (seq <= 1)
        return snprintf(out, cap, "%s", base) < (int)cap ? 0 : -1;
    blen = strlen(base);
    if (blen > slen && strcmp(base + blen - slen, suffix) == 0)
        return snprintf(out, cap, "%.*s.%u%s", (int)(blen - slen), base, seq,
                        suffix) < (int)cap ? 0 : -1;
    return snprintf(out, cap, "%s.%u", base, seq) < (int)cap ? 0 : -1;
}

int writer_open(const char *pattern, pid_t pid)
{
    struct stat st;
    int fd = -1;

    if (!buffer_mem && !(buffer_mem = arena_map(WRITER_BUFFER))) {
        mt_log("cannot map its %d-byte buffer; running untraced",
               WRITER_BUFFER);
        return -1;
    }
    for (unsigned seq = 1; seq < 1000 && fd < 0; seq++) {
        if (expand_pattern(pattern, pid, seq, trace_path, sizeof trace_path) < 0)
            break;
        fd = open(trace_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
                  O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        mt_log("cannot create trace file %s: %s; running untraced",
               trace_path, strerror(errno));
        return -1;
    }
    fd = fd_move_high(fd, true);
    fstat(fd, &st);
    trace_fd = fd;
    trace_dev = st.st_dev;
    trace_ino = st.st_ino;
    flushed_bytes = 0;
    lost_reported = false;
    counted.open = false;
    trace_buf_init(&buffer, buffer_mem, WRITER_BUFFER);
    return trace_put_file_header(&buffer);
}

bool writer_is_open(void)
{
    return trace_fd >= 0;
}

const char *writer_path(void)
{
    return trace_path;
}

static void writer_lost(const char *why)
{
    if (!lost_reported)
        mt_log("lost the trace file %s (%s); tracing stops here",
               trace_path, why);
    lost_reported = true;
    if (trace_fd >= 0) {
        struct stat st;
        /* Close it only if it is still ours: the program may own it now. */
        if (fstat(trace_fd, &st) == 0 && st.st_dev == trace_dev &&
            st.st_ino == trace_ino)
            close(trace_fd);
    }
    trace_fd = -1;
}

/* The program may have closed our descriptor and reused its number: a
 * write then would land in the program's own file. Reopen by path if so. */
static bool writer_fd_is_ours(void)
{
    struct stat st;
    int fd;
    if (fstat(trace_fd, &st) == 0 && st.st_dev == trace_dev &&
        st.st_ino == trace_ino)
        return true;
    fd = open(trace_path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return false;
    if (fstat(fd, &st) < 0 || st.st_dev != trace_dev || st.st_ino != trace_ino ||
        lseek(fd, (off_t)flushed_bytes, SEEK_SET) < 0) {
        close(fd);
        return false;
    }
    fd = fd_move_high(fd, true);
    trace_fd = fd;
    return true;
}

int writer_flush(void)
{
    size_t done = 0;
    if (trace_fd < 0)
        return -1;
    if (buffer.len == 0)
        return 0;
    if (!writer_fd_is_ours()) {
        trace_fd = -1;
        writer_lost("its descriptor was closed");
        return -1;
    }
    while (done < buffer.len) {
        ssize_t n = write(trace_fd, buffer.data + done, buffer.len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            writer_lost(n < 0 ? strerror(errno) : "short write");
            return -1;
        }
        done += (size_t)n;
    }
    flushed_bytes += buffer.len;
    buffer.len = 0;
    return 0;
}

struct trace_buf *writer_buf(void)
{
    return trace_fd >= 0 ? &buffer : NULL;
}

int writer_reserve(size_t bytes)
{
    if (trace_fd < 0)
        return -1;
    if (buffer.cap - buffer.len >= bytes)
        return 0;
    return writer_flush();
}

static void counted_patch(void)
{
    memcpy(buffer.data + counted.count_at, &counted.count,
           sizeof counted.count);
    trace_record_end(&buffer);
}

static int counted_open_record(void)
{
    uint32_t head[2] = { 0, 0 };
    if (writer_reserve(sizeof(struct mt_record_header) + sizeof head +
                       counted.entry_size) < 0 ||
        trace_record_begin(&buffer, counted.type) < 0)
        return -1;
    counted.count_at = buffer.len;
    counted.count = 0;
    return trace_record_put(&buffer, head, sizeof head);
}

int writer_counted_begin(uint32_t type, size_t entry_size)
{
    counted.type = type;
    counted.entry_size = entry_size;
    if (counted_open_record() < 0)
        return -1;
    counted.open = true;
    return 0;
}

int writer_counted_add_sized(const void *entry, size_t size)
{
    if (!counted.open || size > counted.entry_size)
        return -1;
    if (trace_record_room(&buffer) < size) {
        counted_patch();
        if (counted_open_record() < 0) {
            counted.open = false;
            return -1;
        }
    }
    counted.count++;
    return trace_record_put(&buffer, entry, size);
}

int writer_counted_add(const void *entry)
{
    return writer_counted_add_sized(entry, counted.entry_size);
}

int writer_counted_end(void)
{
    if (!counted.open)
        return -1;
    counted.open = false;
    if (counted.count == 0) {
        trace_record_abandon(&buffer);
        return 0;
    }
    counted_patch();
    return 0;
}

uint64_t writer_mark(void)
{
    return flushed_bytes + buffer.len;
}

int writer_truncate(uint64_t mark)
{
    if (trace_fd < 0)
        return -1;
    if (mark >= flushed_bytes) {
        buffer.len = (size_t)(mark - flushed_bytes);
        return 0;
    }
    buffer.len = 0;
    if (ftruncate(trace_fd, (off_t)mark) < 0 ||
        lseek(trace_fd, (off_t)mark, SEEK_SET) < 0)
        return -1;
    flushed_bytes = mark;
    return 0;
}

void writer_close(bool remove)
{
    if (trace_fd < 0)
        return;
    if (remove)
        unlink(trace_path);
    else
        writer_flush();
    if (trace_fd >= 0)
        close(trace_fd);
    trace_fd = -1;
}

void writer_forget(void)
{
    if (trace_fd >= 0)
        close(trace_fd);
    trace_fd = -1;
    buffer.len = 0;
    counted.open = false;
}

/* mtrace.1234.trace -> mtrace.1234.snap2.trace */
static int copy_path(unsigned seq, char *out, size_t cap)
{
    static const char suffix[] = ".trace";
    size_t len = strlen(trace_path), slen = sizeof suffix - 1;
    if (len > slen && strcmp(trace_path + len - slen, suffix) == 0)
        return snprintf(out, cap, "%.*s.snap%u%s", (int)(len - slen),
                        trace_path, seq, suffix) < (int)cap ? 0 : -1;
    return snprintf(out, cap, "%s.snap%u", trace_path, seq) < (int)cap ? 0 : -1;
}

/* Copies the flushed trace into fd, through the (empty) encode buffer. */
static int copy_flushed(int to)
{
    struct stat st;
    uint64_t done = 0;
    int from = open(trace_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (from < 0)
        return -1;
    if (fstat(from, &st) < 0 || st.st_dev != trace_dev || st.st_ino != trace_ino) {
        close(from);
        return -1;
    }
    while (done < flushed_bytes) {
        size_t want = flushed_bytes - done < buffer.cap
                          ? (size_t)(flushed_bytes - done) : buffer.cap;
        ssize_t got = pread(from, buffer.data, want, (off_t)done);
        if (got <= 0 || write(to, buffer.data, (size_t)got) != got) {
            close(from);
            return -1;
        }
        done += (uint64_t)got;
    }
    close(from);
    return 0;
}

int writer_copy_begin(unsigned seq)
{
    struct stat st;
    char path[sizeof trace_path];
    int fd;

    if (trace_fd < 0 || main_trace.active || writer_flush() < 0 ||
        copy_path(seq, path, sizeof path) < 0)
        return -1;
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        mt_log("cannot create snapshot file %s: %s", path, strerror(errno));
        return -1;
    }
    if (copy_flushed(fd) < 0 || fstat(fd, &st) < 0) {
        mt_log("cannot copy the trace into %s", path);
        close(fd);
        unlink(path);
        return -1;
    }
    main_trace.fd = trace_fd;
    memcpy(main_trace.path, trace_path, sizeof trace_path);
    main_trace.dev = trace_dev;
    main_trace.ino = trace_ino;
    main_trace.flushed = flushed_bytes;
    main_trace.active = true;
    trace_fd = fd;
    memcpy(trace_path, path, sizeof path);
    trace_dev = st.st_dev;
    trace_ino = st.st_ino;
    return 0;
}

void writer_copy_end(void)
{
    if (!main_trace.active)
        return;
    if (trace_fd >= 0) {
        writer_flush();
        if (trace_fd >= 0)
            close(trace_fd);
    }
    buffer.len = 0;
    trace_fd = main_trace.fd;
    memcpy(trace_path, main_trace.path, sizeof trace_path);
    trace_dev = main_trace.dev;
    trace_ino = main_trace.ino;
    flushed_bytes = main_trace.flushed;
    main_trace.active = false;
}
