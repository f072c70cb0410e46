/* diff.c - see diff.h. */
#include "diff.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "json_write.h"
#include "model.h"
#include "stacks.h"
#include "trace_load.h"
#include "units.h"
#include "xalloc.h"

/* What one side says about a stack (sites with equal stacks add up: a
 * loop unrolled differently in two builds gives one call site or two). */
struct diff_side {
    uint64_t live_bytes, live_blocks, allocs, peak_live_bytes;
};

struct diff_entry {
    char *key;                  /* "function (file);function (file)..." */
    struct sym_frame *frames;   /* a copy of the first side's frames */
    size_t nframes;
    struct diff_side side[2];
    UT_hash_handle hh;
};

struct diff_input {
    const char *path;
    struct model model;
    struct stacks *stacks;
};

/* The parts of a frame that survive a rebuild: no addresses, no lines. */
static char *stack_key(const struct site_stack *stack, uint32_t kind)
{
    size_t cap = 64, len = 0;
    char *key = xmalloc(cap);
    len = (size_t)snprintf(key, cap, "%s", kind ? "mmap" : "heap");
    for (size_t i = 0; i < stack->nframes; i++) {
        const struct sym_frame *f = &stack->frames[i];
        const char *function = f->function ? f->function : "??";
        /* Not the module: the two builds may not share a file name. */
        const char *where = f->file ? stacks_basename(f->file) : "";
        size_t need = strlen(function) + strlen(where) + 8;
        if (len + need >= cap) {
            cap = (len + need) * 2;
            key = xreallocarray(key, cap, 1);
        }
        len += (size_t)snprintf(key + len, cap - len, ";%s (%s)", function,
                                where);
    }
    return key;
}

static void add_side(struct diff_entry **table, struct diff_input *in,
                     int side)
{
    for (size_t i = 0; i < in->model.ncommitted; i++) {
        const struct model_site *site = in->model.sites[i];
        const struct site_stack *stack = stacks_get(in->stacks, site);
        char *key = stack_key(stack, site->kind);
        struct diff_entry *e;
        struct diff_side *s;

        HASH_FIND_STR(*table, key, e);
        if (e) {
            free(key);
        } else {
            e = xcalloc(1, sizeof *e);
            e->key = key;
            e->nframes = stack->nframes;
            e->frames = xcalloc(e->nframes ? e->nframes : 1, sizeof *e->frames);
            memcpy(e->frames, stack->frames, e->nframes * sizeof *e->frames);
            HASH_ADD_KEYPTR(hh, *table, e->key, strlen(e->key), e);
        }
        s = &e->side[side];
        s->live_bytes += site->end.live_bytes;
        s->live_blocks += site->end.live_blocks;
        s->allocs += site->counters.allocs;
        s->peak_live_bytes += site->counters.peak_live_bytes;
    }
}

static int64_t delta_of(const struct diff_entry *e)
{
    return (int64_t)(e->side[1].live_bytes - e->side[0].live_bytes);
}

static int by_magnitude(const void *a, const void *b)
{
    const struct diff_entry *x = *(const struct diff_entry *const *)a;
    const struct diff_entry *y = *(const struct diff_entry *const *)b;
    int64_t dx = llabs(delta_of(x)), dy = llabs(delta_of(y));
    if (dx != dy)
        return dx > dy ? -1 : 1;
    return strcmp(x->key, y->key);
}

static void write_text(FILE *out, struct diff_input in[2],
                       struct diff_entry **rows, size_t n,
                       const struct diff_options *o)
{
    char a[UNITS_BUF], b[UNITS_BUF], d[UNITS_BUF];
    size_t shown = 0;

    fprintf(out, "mtrace diff: live bytes at the end, per call stack\n"
                 "  before  %s: %s live\n  after   %s: %s live\n",
            in[0].path, units_format_size(in[0].model.live_bytes_end, a),
            in[1].path, units_format_size(in[1].model.live_bytes_end, b));
    for (size_t i = 0; i < n && shown < o->top; i++) {
        const struct diff_entry *e = rows[i];
        int64_t delta = delta_of(e);
        if (delta == 0)
            break;
        fprintf(out, "\n%c%s  live %s -> %s, blocks %" PRIu64 " -> %" PRIu64
                     "%s\n",
                delta > 0 ? '+' : '-',
                units_format_size((uint64_t)llabs(delta), d),
                units_format_size(e->side[0].live_bytes, a),
                units_format_size(e->side[1].live_bytes, b),
                e->side[0].live_blocks, e->side[1].live_blocks,
                e->side[0].allocs == 0 ? " (new)"
                : e->side[1].allocs == 0 ? " (gone)" : "");
        for (size_t f = 0; f < e->nframes; f++) {
            const struct sym_frame *fr = &e->frames[f];
            fprintf(out, "    at %s", fr->function ? fr->function : "??");
            if (fr->file)
                fprintf(out, " (%s)", stacks_basename(fr->file));
            fputc('\n', out);
            if (fr->function && strcmp(fr->function, "main") == 0)
                break;
        }
        shown++;
    }
    if (shown == 0)
        fputs("\nno call stack holds a different amount\n", out);
}

static void write_side_json(FILE *out, const struct diff_side *s)
{
    fputs("{\"live_bytes\": ", out);
    json_u64(out, s->live_bytes);
    fputs(", \"live_blocks\": ", out);
    json_u64(out, s->live_blocks);
    fputs(", \"allocs\": ", out);
    json_u64(out, s->allocs);
    fputs(", \"peak_live_bytes\": ", out);
    json_u64(out, s->peak_live_bytes);
    fputc('}', out);
}

static void write_json(FILE *out, struct diff_input in[2],
                       struct diff_entry **rows, size_t n)
{
    fputs("{\n  \"schema\": 1,\n  \"before\": {\"trace\": ", out);
    json_string(out, in[0].path);
    fputs(", \"live_bytes\": ", out);
    json_u64(out, in[0].model.live_bytes_end);
    fputs("},\n  \"after\": {\"trace\": ", out);
    json_string(out, in[1].path);
    fputs(", \"live_bytes\": ", out);
    json_u64(out, in[1].model.live_bytes_end);
    fputs("},\n  \"sites\": [", out);
    for (size_t i = 0; i < n; i++) {
        const struct diff_entry *e = rows[i];
        fprintf(out, "%s\n    {\"delta_live_bytes\": %" PRId64 ", \"before\": ",
                i ? "," : "", delta_of(e));
        write_side_json(out, &e->side[0]);
        fputs(", \"after\": ", out);
        write_side_json(out, &e->side[1]);
        fputs(", \"frames\": [", out);
        for (size_t f = 0; f < e->nframes; f++) {
            fputs(f ? ", {\"function\": " : "{\"function\": ", out);
            json_string(out, e->frames[f].function);
            fputs(", \"file\": ", out);
            json_string(out, e->frames[f].file);
            fputc('}', out);
        }
        fputs("]}", out);
    }
    fputs("\n  ]\n}\n", out);
}

int diff_report(FILE *out, const char *before, const char *after,
                const struct diff_options *o, char *err, size_t errlen)
{
    struct diff_input in[2] = { { .path = before }, { .path = after } };
    struct diff_entry *table = NULL, *e, *tmp, **rows;
    size_t n = 0, loaded = 0;
    int rc = -1;
    char why[512];

    for (; loaded < 2; loaded++) {
        model_init(&in[loaded].model, &o->thresholds);
        if (trace_load(in[loaded].path, &in[loaded].model, why,
                       sizeof why) < 0) {
            snprintf(err, errlen, "%s: %s", in[loaded].path, why);
            model_free(&in[loaded].model);
            goto out;
        }
        in[loaded].stacks = stacks_new(&in[loaded].model, stderr);
        add_side(&table, &in[loaded], (int)loaded);
    }
    rows = xcalloc(HASH_COUNT(table) + 1, sizeof *rows);
    HASH_ITER(hh, table, e, tmp)
        rows[n++] = e;
    qsort(rows, n, sizeof *rows, by_magnitude);
    if (o->json)
        write_json(out, in, rows, n);
    else
        write_text(out, in, rows, n, o);
    free(rows);
    rc = 0;
out:
    HASH_ITER(hh, table, e, tmp) {
        HASH_DEL(table, e);
        free(e->key);
        free(e->frames);
        free(e);
    }
    for (size_t i = 0; i < loaded; i++) {
        stacks_free(in[i].stacks);
        model_free(&in[i].model);
    }
    return rc;
}
