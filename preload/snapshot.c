/* snapshot.c - see snapshot.h. */
#include "snapshot.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "arena.h"
#include "log.h"
#include "modules.h"
#include "monitor.h"
#include "procfs.h"
#include "options.h"
#include "record.h"
#include "sites.h"
#include "tracer.h"
#include "writer.h"

spinlock_t snapshot_lock;
_Atomic uint64_t snapshot_due_ns;

static uint64_t snapshot_seq;
/* Sums of every site's counters as of its last count, at every snapshot:
 * exact totals without a global counter per event. (A site's own record
 * may be held back, see snapshot.h; the final snapshot writes them all.) */
static struct {
    uint64_t allocs, frees, bytes_allocated, live_bytes;
} reported;

/* The dirty list copied out, so it can be walked twice. */
static struct site **dirty_sites;
static size_t dirty_cap;

atomic_int snapshot_requested;

static int write_snapshot(uint64_t now_ns, uint32_t flags, bool from_signal,
                          bool every_site);

bool snapshot_site_counters_due(uint64_t seq)
{
    uint64_t stride = 1;
    if (seq <= SNAPSHOT_FULL_RESOLUTION)
        return true;
    /* Snapshots (B*stride/2, B*stride] write every stride-th: B/2 of them
     * per doubling of the run. Divides rather than multiplies: no
     * overflow, whatever seq. */
    while ((seq - 1) / stride >= SNAPSHOT_FULL_RESOLUTION)
        stride *= 2;
    return seq % stride == 0;
}

/* MTRACE_SNAPSHOT_SIGNAL: a complete trace of the process so far, survivors
 * included, in a file of its own; the program runs on. */
static void write_on_demand_copy(uint64_t now_ns)
{
    static unsigned copies;
    uint64_t survivors;
    if (writer_copy_begin(++copies) < 0)
        return;
    survivors = snapshot_write_survivors(false);
    snapshot_write_end(now_ns, survivors, MT_END_ON_DEMAND, 0, 0);
    mt_log("wrote %s", writer_path());
    writer_copy_end();
}

void snapshot_take_if_due(uint64_t now_ns)
{
    if (!spin_trylock(&snapshot_lock))
        return;
    if (now_ns >= atomic_load_explicit(&snapshot_due_ns, memory_order_relaxed)) {
        bool requested = atomic_exchange(&snapshot_requested, 0);
        atomic_store_explicit(&snapshot_due_ns,
                              now_ns + (uint64_t)mt_opt.interval_ms * 1000000u,
                              memory_order_relaxed);
        /* A copy on demand is a complete trace: every site up to date. */
        if (write_snapshot(now_ns, requested ? MT_SNAP_ON_DEMAND : 0, false,
                           requested) == 0 && requested)
            write_on_demand_copy(now_ns);
    }
    spin_unlock(&snapshot_lock);
}

static size_t collect_dirty(void)
{
    size_t n = 0;
    for (struct site *s = sites_take_dirty(); s;) {
        if (n == dirty_cap) {
            size_t cap = dirty_cap ? dirty_cap * 2 : 4096;
            struct site **grown = arena_map(cap * sizeof *grown);
            if (!grown) {
                /* Keep the rest queued for the next snapshot. */
                while (s) {
                    struct site *next = sites_dirty_next(s);
                    sites_mark_dirty(s);
                    s = next;
                }
                break;
            }
            if (dirty_sites)
                memcpy(grown, dirty_sites, n * sizeof *grown);
            arena_unmap(dirty_sites, dirty_cap * sizeof *grown);
            dirty_sites = grown;
            dirty_cap = cap;
        }
        dirty_sites[n++] = s;
        s = sites_dirty_next(s);
    }
    return n;
}

static int write_site(struct site *site)
{
    struct mt_rec_site rec = {
        .site_id = site->id, .kind = site->kind, .nframes = site->nframes,
    };
    /* Static, as its callers hold snapshot_lock: a final snapshot may run
     * on a fatal signal's small alternate stack. */
    static uint8_t packed[MT_MAX_FRAMES * MT_PACKED_FRAME_MAX];
    size_t frames_len = trace_pack_frames((const uint64_t *)site->frames,
                                          site->nframes, packed);
    struct trace_buf *buf;
    if (writer_reserve(sizeof(struct mt_record_header) + sizeof rec +
                       frames_len) < 0 ||
        !(buf = writer_buf()) ||
        trace_record_begin(buf, MT_REC_SITE) < 0)
        return -1;
    trace_record_put(buf, &rec, sizeof rec);
    trace_record_put(buf, packed, frames_len);
    trace_record_end(buf);
    site->written = true;
    return 0;
}

/* The site whose live bytes grew most since the last snapshot. */
static struct {
    const struct site *site;
    int64_t growth;
} top_growth;

static void count_site(struct site *site, struct mt_site_counters *c)
{
    int64_t growth;
    memset(c, 0, sizeof *c);
    c->site_id = site->id;
    c->live_bytes = atomic_load_explicit(&site->live_bytes, memory_order_relaxed);
    c->allocs = atomic_load_explicit(&site->allocs, memory_order_relaxed);
    c->frees = atomic_load_explicit(&site->frees, memory_order_relaxed);
    c->bytes_allocated = atomic_load_explicit(&site->bytes_allocated,
                                              memory_order_relaxed);
    c->peak_live_bytes = atomic_load_explicit(&site->peak_live_bytes,
                                              memory_order_relaxed);
    growth = (int64_t)(c->live_bytes - site->reported_live);
    if (growth > top_growth.growth) {
        top_growth.site = site;
        top_growth.growth = growth;
    }
    reported.allocs += c->allocs - site->reported_allocs;
    reported.frees += c->frees - site->reported_frees;
    /* A refused request allocated nothing: its size stays its site's
     * ("X asked"), out of the totals' bytes allocated. */
    if (site->kind != MT_KIND_FAILED)
        reported.bytes_allocated += c->bytes_allocated - site->reported_bytes;
    reported.live_bytes += c->live_bytes - site->reported_live;
    site->reported_allocs = c->allocs;
    site->reported_frees = c->frees;
    site->reported_bytes = c->bytes_allocated;
    site->reported_live = c->live_bytes;
}

static uint64_t current_rss_bytes(void)
{
    char text[128];
    unsigned long long pages_total = 0, pages_resident = 0;
    if (!procfs_read_self("statm", text, sizeof text))
        return 0;
    /* sscanf does not allocate for plain integer conversions. */
    if (sscanf(text, "%llu %llu", &pages_total, &pages_resident) != 2)
        return 0;
    return pages_resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static uint64_t peak_rss_bytes(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) < 0)
        return 0;
    return (uint64_t)ru.ru_maxrss * 1024u;
}

/* Counts the sites that are not due into the totals, and queues them
 * again for the next snapshot that writes counters; moves the others (due,
 * or new to this file) to the front. Returns how many are to be written. */
static size_t hold_back_sites(size_t n)
{
    struct mt_site_counters unwritten;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        struct site *site = dirty_sites[i];
        if (!site->written) {
            /* A new site's first counters date its start exactly. */
            dirty_sites[kept++] = site;
            continue;
        }
        /* Totals stay exact at every snapshot: they are sums of what was
         * counted, and the record written later carries the values as of
         * then, which include this. */
        count_site(site, &unwritten);
        sites_mark_dirty(site);
    }
    return kept;
}

void snapshot_before_unload(uint64_t now_ns)
{
    if (!spin_lock_bounded(&snapshot_lock, 1000))
        return;
    if (writer_is_open())
        write_snapshot(now_ns, 0, false, false);
    spin_unlock(&snapshot_lock);
}

int snapshot_write(uint64_t now_ns, uint32_t flags, bool from_signal)
{
    return write_snapshot(now_ns, flags, from_signal, true);
}

static int write_snapshot(uint64_t now_ns, uint32_t flags, bool from_signal,
                          bool every_site)
{
    struct mt_rec_snapshot snap;
    struct mt_site_counters counters;
    uint8_t packed[MT_PACKED_COUNTERS_MAX];
    struct trace_buf *buf;
    uint64_t seq = snapshot_seq + 1;
    size_t n;

    if (!writer_is_open())
        return -1;
    /* A fatal signal may have struck inside the loader, holding the lock
     * dl_iterate_phdr needs: the last map written will have to do. */
    if (!from_signal && modules_changed() && modules_write() < 0)
        return -1;
    n = collect_dirty();
    top_growth.site = NULL;
    top_growth.growth = 0;
    if (!every_site && !snapshot_site_counters_due(seq))
        n = hold_back_sites(n);
    for (size_t i = 0; i < n; i++)
        if (!dirty_sites[i]->written && write_site(dirty_sites[i]) < 0)
            return -1;
    if (n > 0) {
        if (writer_counted_begin(MT_REC_SITE_COUNTERS,
                                 MT_PACKED_COUNTERS_MAX) < 0)
            return -1;
        for (size_t i = 0; i < n; i++) {
            count_site(dirty_sites[i], &counters);
            if (writer_counted_add_sized(packed, trace_pack_counters(
                                                     &counters, packed)) < 0)
                return -1;
        }
        if (writer_counted_end() < 0)
            return -1;
    }
    memset(&snap, 0, sizeof snap);
    snap.t_ns = now_ns;
    snap.seq = snapshot_seq = seq;
    snap.allocs = reported.allocs;
    snap.frees = reported.frees;
    snap.bytes_allocated = reported.bytes_allocated;
    snap.live_bytes = reported.live_bytes;
    snap.peak_live_bytes = record_peak_live_bytes();
    if (snap.peak_live_bytes < snap.live_bytes)
        snap.peak_live_bytes = snap.live_bytes;
    snap.rss_bytes = current_rss_bytes();
    snap.peak_rss_bytes = peak_rss_bytes();
    snap.flags = flags;
    if (writer_reserve(sizeof(struct mt_record_header) + sizeof snap) < 0 ||
        !(buf = writer_buf()) ||
        trace_put_record(buf, MT_REC_SNAPSHOT, &snap, sizeof snap) < 0)
        return -1;
    if (mt_opt.verbose && !from_signal)
        monitor_line(now_ns, snap.live_bytes, top_growth.site,
                     top_growth.growth);
    return writer_flush();
}

struct survivor_walk {
    uint64_t written;
    int failed;
};

static void write_survivor(const struct live_block *block, void *arg)
{
    struct survivor_walk *walk = arg;
    struct mt_survivor s = {
        .site_id = live_block_site(block),
        .size = live_block_size(block),
        .birth_ns = block->birth_ns,
    };
    if (walk->failed)
        return;
    if (writer_counted_add(&s) < 0)
        walk->failed = 1;
    else
        walk->written++;
}

uint64_t snapshot_write_survivors(bool bounded)
{
    struct survivor_walk walk = { 0, 0 };
    if (writer_counted_begin(MT_REC_SURVIVORS, sizeof(struct mt_survivor)) < 0)
        return 0;
    record_for_each_live(write_survivor, &walk, bounded);
    writer_counted_end();
    return walk.written;
}

int snapshot_write_end(uint64_t now_ns, uint64_t survivors, uint32_t reason,
                       int32_t status, uint32_t flags)
{
    struct mt_rec_end end = {
        .t_ns = now_ns, .survivors = survivors, .reason = reason,
        .status = status, .flags = flags,
    };
    struct trace_buf *buf;
    if (writer_reserve(sizeof(struct mt_record_header) + sizeof end) < 0 ||
        !(buf = writer_buf()) ||
        trace_put_record(buf, MT_REC_END, &end, sizeof end) < 0)
        return -1;
    return writer_flush();
}

void snapshot_restart(void)
{
    memset(&reported, 0, sizeof reported);
    snapshot_seq = 0;
    modules_forget_written();
    for (struct site *s = sites_all(); s; s = s->next_all) {
        s->written = false;
        s->reported_live = s->reported_allocs = 0;
        s->reported_frees = s->reported_bytes = 0;
        sites_mark_dirty(s);
    }
}
