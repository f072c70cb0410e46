/* stacks.c - see stacks.h. */
#include "stacks.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* Inlined frames per return address that are kept; deeper nests are rare
 * and the outermost ones matter least. */
#define STACKS_MAX_INLINED 16

struct stacks {
    const struct model *model;
    FILE *warn;
    struct symbolizer **by_map;     /* per model.maps entry, lazily */
    struct symbolizer *no_map;      /* for sites before any MODULES */
    struct site_stack **by_site;    /* per model.sites index, lazily */
    struct sym_frame *scratch;      /* MT_MAX_FRAMES * STACKS_MAX_INLINED */
};

struct stacks *stacks_new(const struct model *m, FILE *warn)
{
    struct stacks *st = xcalloc(1, sizeof *st);

    st->model = m;
    st->warn = warn;
    st->by_map = xcalloc(m->nmaps, sizeof *st->by_map);
    st->by_site = xcalloc(m->nsites, sizeof *st->by_site);
    st->scratch = xcalloc((size_t)MT_MAX_FRAMES * STACKS_MAX_INLINED,
                          sizeof *st->scratch);
    return st;
}

void stacks_free(struct stacks *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->model->nsites; i++) {
        if (st->by_site[i]) {
            free(st->by_site[i]->frames);
            free(st->by_site[i]->functions);
            free(st->by_site[i]);
        }
    }
    for (size_t i = 0; i < st->model->nmaps; i++)
        if (st->by_map[i])
            symbolizer_free(st->by_map[i]);
    if (st->no_map)
        symbolizer_free(st->no_map);
    free(st->by_map);
    free(st->by_site);
    free(st->scratch);
    free(st);
}

const char *stacks_basename(const char *path)
{
    const char *slash = path ? strrchr(path, '/') : NULL;
    return slash ? slash + 1 : path;
}

static bool has_prefix(const char *s, const char *prefix)
{
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

bool stacks_frame_is_allocator(const struct sym_frame *frame)
{
    static const char *const entry_points[] = {
        "malloc", "calloc", "realloc", "free", "reallocarray",
        "posix_memalign", "aligned_alloc", "memalign", "valloc", "pvalloc",
        "__libc_malloc", "__libc_calloc", "__libc_realloc",
        "__libc_memalign", "mmap", "mmap64", "munmap", "mremap",
    };
    const char *module = stacks_basename(frame->module);

    if (has_prefix(module, "libmtrace"))
        return true;
    if (!has_prefix(module, "libc.so") || !frame->function)
        return false;
    for (size_t i = 0; i < sizeof entry_points / sizeof entry_points[0]; i++)
        if (strcmp(frame->function, entry_points[i]) == 0)
            return true;
    return false;
}

static struct symbolizer *symbolizer_for(struct stacks *st, size_t map_index)
{
    struct symbolizer **slot;
    const struct model_module_map *map = NULL;

    if (map_index == MODEL_NO_MODULES) {
        slot = &st->no_map;
    } else {
        slot = &st->by_map[map_index];
        map = &st->model->maps[map_index];
    }
    if (!*slot) {
        *slot = symbolizer_new(map ? map->modules : NULL, map ? map->count : 0,
                               st->warn);
        if (!*slot) {
            fprintf(stderr, "mtrace-analyze: out of memory (symbolizer)\n");
            exit(2);
        }
    }
    return *slot;
}

/* A site is written at the snapshot after its first allocation, after
 * that snapshot's module map: a library loaded and unloaded in between is
 * only in the map before. So an address no module of the site's map holds
 * is looked up in the previous map, then the next. */
static size_t resolve_frame(struct stacks *st, const struct model_site *site,
                            uint64_t address, struct sym_frame *out)
{
    size_t map = site->module_map;
    size_t n = symbolizer_resolve(symbolizer_for(st, map), address, out,
                                  STACKS_MAX_INLINED);
    if (n == 0 || out[0].module || map == MODEL_NO_MODULES)
        return n;
    if (map > 0) {
        size_t k = symbolizer_resolve(symbolizer_for(st, map - 1), address,
                                      out, STACKS_MAX_INLINED);
        if (k > 0 && out[0].module)
            return k;
    }
    if (map + 1 < st->model->nmaps) {
        size_t k = symbolizer_resolve(symbolizer_for(st, map + 1), address,
                                      out, STACKS_MAX_INLINED);
        if (k > 0 && out[0].module)
            return k;
    }
    return symbolizer_resolve(symbolizer_for(st, map), address, out,
                              STACKS_MAX_INLINED);
}

static struct site_stack *resolve(struct stacks *st,
                                  const struct model_site *site)
{
    struct site_stack *stack = xcalloc(1, sizeof *stack);
    size_t n = 0, skip = 0;

    for (uint32_t i = 0; i < site->nframes; i++)
        n += resolve_frame(st, site, site->frames[i], st->scratch + n);
    while (skip < n && stacks_frame_is_allocator(&st->scratch[skip]))
        skip++;
    stack->nframes = n - skip;
    stack->frames = xcalloc(stack->nframes, sizeof *stack->frames);
    memcpy(stack->frames, st->scratch + skip,
           stack->nframes * sizeof *stack->frames);
    stack->functions = xcalloc(stack->nframes, sizeof *stack->functions);
    for (size_t i = 0; i < stack->nframes; i++)
        stack->functions[i] = stack->frames[i].function;
    return stack;
}

const struct site_stack *stacks_get(struct stacks *st,
                                    const struct model_site *site)
{
    if (!st->by_site[site->index])
        st->by_site[site->index] = resolve(st, site);
    return st->by_site[site->index];
}
