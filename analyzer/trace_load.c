/* trace_load.c - see trace_load.h. */
#include "trace_load.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "estimate.h"
#include "progress.h"
#include "reader.h"
#include "xalloc.h"

struct survivors_region {
    bool present;
    uint64_t offset;            /* of the first SURVIVORS record */
    uint64_t entries;           /* over all SURVIVORS records */
};

static int fail(char *err, size_t errlen, const char *message)
{
    snprintf(err, errlen, "%s", message);
    return -1;
}

static void apply_record(struct model *m, const struct reader_record *rec,
                         struct survivors_region *survivors)
{
    switch (rec->type) {
    case MT_REC_PROCESS:
        model_set_process(m, rec);
        break;
    case MT_REC_MODULES:
        model_add_module_map(m, rec);
        break;
    case MT_REC_SITE:
        model_define_site(m, rec);
        break;
    case MT_REC_SITE_COUNTERS:
        model_queue_counters(m, rec);
        break;
    case MT_REC_SNAPSHOT:
        model_commit_snapshot(m, &rec->u.snapshot);
        break;
    case MT_REC_SURVIVORS:
        if (!survivors->present) {
            survivors->present = true;
            survivors->offset = rec->offset;
        }
        survivors->entries += rec->u.survivors.count;
        break;
    case MT_REC_END:
        model_set_end(m, &rec->u.end);
        break;
    }
}

/* The second pass: from the first SURVIVORS record to END. */
static int read_survivors(struct trace_reader *r, struct model *m,
                          const struct survivors_region *survivors,
                          struct reader_record *rec, char *err,
                          size_t errlen)
{
    if (reader_seek(r, survivors->offset) < 0)
        return fail(err, errlen, reader_error(r));
    for (;;) {
        enum reader_status st = reader_next(r, rec);
        if (st == READER_ERROR)
            return fail(err, errlen, reader_error(r));
        if (st != READER_RECORD)
            return fail(err, errlen,
                        "read error: the file changed while it was read");
        if (rec->type == MT_REC_END)
            break;
        if (rec->type != MT_REC_SURVIVORS)
            continue;
        for (size_t i = 0; i < rec->u.survivors.count; i++) {
            struct mt_survivor s;
            reader_survivor_at(rec, i, &s);
            model_add_survivor(m, &s);
        }
    }
    model_finish_survivors(m);
    return 0;
}

static bool counters_show_live_blocks(const struct model *m)
{
    for (size_t i = 0; i < m->nsites; i++)
        if (model_counters_live_blocks(&m->sites[i]->counters) > 0)
            return true;
    return false;
}

/* Reads the trace from an open reader into m, and closes the reader. */
static int load(struct trace_reader *r, struct model *m,
                struct progress *progress, char *err, size_t errlen)
{
    struct survivors_region survivors = { .present = false };
    struct reader_record *rec = xmalloc(sizeof *rec);
    enum reader_status st;
    int result = -1;

    while ((st = reader_next(r, rec)) == READER_RECORD) {
        if (rec->type == MT_REC_END &&
            rec->u.end.survivors != survivors.entries) {
            snprintf(err, errlen,
                     "damaged trace: END record at offset %llu counts %llu "
                     "survivors, but the SURVIVORS records hold %llu",
                     (unsigned long long)rec->offset,
                     (unsigned long long)rec->u.end.survivors,
                     (unsigned long long)survivors.entries);
            goto out;
        }
        apply_record(m, rec, &survivors);
        progress_update(progress, rec->offset);
    }
    progress_finish(progress);
    if (st == READER_ERROR) {
        fail(err, errlen, reader_error(r));
        goto out;
    }
    if (!m->has_end) {
        model_mark_truncated(m);
        estimate_end_state(m);
    } else if (survivors.present) {
        if (read_survivors(r, m, &survivors, rec, err, errlen) < 0)
            goto out;
    } else if (counters_show_live_blocks(m)) {
        /* A complete trace without survivors (e.g. one whose writer could
         * not list them): the counters still say what was live. */
        estimate_end_state(m);
    } else {
        model_finish_survivors(m);
    }
    result = 0;
out:
    reader_close(r);
    free(rec);
    return result;
}

int trace_load(const char *path, struct model *m, char *err, size_t errlen)
{
    struct trace_reader *r = reader_open(path, err, errlen);
    struct progress progress;
    struct stat st;

    if (!r)
        return -1;
    progress_start(&progress, stderr, path,
                   stat(path, &st) == 0 ? (uint64_t)st.st_size : 0);
    return load(r, m, &progress, err, errlen);
}

int trace_load_memory(const void *data, size_t size, struct model *m,
                      char *err, size_t errlen)
{
    struct trace_reader *r = reader_open_memory(data, size, err, errlen);
    struct progress silent;

    progress_start(&silent, NULL, "", 0);
    return r ? load(r, m, &silent, err, errlen) : -1;
}
