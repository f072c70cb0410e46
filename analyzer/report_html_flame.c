/* report_html_flame.c - the HTML report's flame graph, drawn as SVG from
 * the stacks and values that --format collapsed writes: the program at
 * the bottom, each frame above its caller, widths by --cost. */
#include "report_html.h"

#include <stdlib.h>
#include <string.h>

#include "html_write.h"
#include "stacks.h"
#include "units.h"
#include "xalloc.h"

#define FLAME_WIDTH 1200.0
#define FLAME_ROW 16
/* Frames kept in the page: the widest ones, so the page stays small for
 * any number of sites; narrower than FLAME_MIN_PX they would not show. */
#define FLAME_MAX_NODES 1000
#define FLAME_MIN_PX 0.3
#define FLAME_CHAR_PX 7.0
#define FLAME_NONE SIZE_MAX

struct flame_node {
    char *name;
    uint64_t value;
    size_t first_child, next_sibling;
    unsigned depth;
    bool kept;
    bool leak_leaf;     /* a leak site's allocating frame */
};

struct flame {
    struct flame_node *nodes;
    size_t n, cap;
};

static size_t flame_add(struct flame *f, const char *name, unsigned depth)
{
    struct flame_node *node;

    xgrow((void **)&f->nodes, &f->cap, f->n + 1, sizeof *f->nodes);
    node = &f->nodes[f->n];
    memset(node, 0, sizeof *node);
    node->name = xstrndup(name, strlen(name));
    node->first_child = node->next_sibling = FLAME_NONE;
    node->depth = depth;
    return f->n++;
}

static size_t flame_child(struct flame *f, size_t parent, const char *name)
{
    size_t c;

    for (c = f->nodes[parent].first_child; c != FLAME_NONE;
         c = f->nodes[c].next_sibling)
        if (strcmp(f->nodes[c].name, name) == 0)
            return c;
    c = flame_add(f, name, f->nodes[parent].depth + 1);
    f->nodes[c].next_sibling = f->nodes[parent].first_child;
    f->nodes[parent].first_child = c;
    return c;
}

static void flame_build(struct flame *f, struct analysis *a,
                        enum report_cost cost_kind)
{
    const struct model *m = a->model;

    flame_add(f, "all", 0);
    for (size_t i = 0; i < m->nsites; i++) {
        const struct model_site *s = m->sites[i];
        uint64_t cost = report_site_cost(s, cost_kind);
        const struct site_stack *stack;
        size_t node = 0;

        if (cost == 0)
            continue;
        stack = stacks_get(a->stacks, s);
        f->nodes[0].value += cost;
        if (stack->nframes == 0) {
            node = flame_child(f, 0, "[unknown]");
            f->nodes[node].value += cost;
        }
        for (size_t j = stack->nframes; j-- > 0;) {
            char label[REPORT_FRAME_LABEL_MAX];
            node = flame_child(f, node,
                               report_frame_label(&stack->frames[j], label));
            f->nodes[node].value += cost;
        }
        if (a->results[i].verdict.kind == VERDICT_LEAK)
            f->nodes[node].leak_leaf = true;
    }
}

/* Widest first; among equals the caller first, so that every kept frame's
 * caller is kept too (a caller is at least as wide as its callees). */
static int compare_width(const void *pa, const void *pb, void *nodes)
{
    const struct flame_node *a = (const struct flame_node *)nodes +
                                 *(const size_t *)pa;
    const struct flame_node *b = (const struct flame_node *)nodes +
                                 *(const size_t *)pb;

    if (a->value != b->value)
        return a->value > b->value ? -1 : 1;
    return (a->depth > b->depth) - (a->depth < b->depth);
}

/* Marks the frames the page shows; returns the deepest one's depth. */
static unsigned flame_select(struct flame *f)
{
    size_t *order = xcalloc(f->n, sizeof *order);
    double min_value = (double)f->nodes[0].value * FLAME_MIN_PX / FLAME_WIDTH;
    unsigned deepest = 0;

    for (size_t i = 0; i < f->n; i++)
        order[i] = i;
    qsort_r(order, f->n, sizeof *order, compare_width, f->nodes);
    for (size_t i = 0; i < f->n && i < FLAME_MAX_NODES; i++) {
        struct flame_node *node = &f->nodes[order[i]];
        if (order[i] != 0 && (double)node->value < min_value)
            break;
        node->kept = true;
        if (node->depth > deepest)
            deepest = node->depth;
    }
    free(order);
    return deepest;
}

/* A warm colour from the name, as flame graphs have: the same function
 * keeps its colour wherever it appears. */
static void write_colour(FILE *out, const char *name)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 16777619u;
    fprintf(out, "#%02x%02x%02x", 205 + (h & 0x31), 90 + ((h >> 8) % 140),
            40 + ((h >> 16) % 50));
}

static void write_value(FILE *out, uint64_t value, enum report_cost cost)
{
    char size[UNITS_BUF];

    if (cost == REPORT_COST_ALLOCS)
        fprintf(out, "%llu allocations", (unsigned long long)value);
    else
        fputs(units_format_size(value, size), out);
}

static void write_node(FILE *out, struct flame *f, size_t index, double x,
                       unsigned deepest, enum report_cost cost)
{
    const struct flame_node *node = &f->nodes[index];
    double total = (double)f->nodes[0].value;
    double w = (double)node->value / total * FLAME_WIDTH;
    unsigned y = (deepest - node->depth) * FLAME_ROW;
    size_t children[64], nchildren = 0, *all = children;

    /* The script reads each frame's place back from its rect: the page
     * carries no second copy of the geometry. */
    fprintf(out, "<g class=\"fr%s\"><title>", node->leak_leaf ? " leak" : "");
    html_text(out, node->name);
    fputc('\n', out);
    write_value(out, node->value, cost);
    fprintf(out, " (%.1f%%)%s</title><rect x=\"%.1f\" y=\"%u\" "
            "width=\"%.1f\" height=\"%d\" fill=\"",
            100.0 * (double)node->value / total,
            node->leak_leaf ? ", allocated by a leak" : "", x, y, w,
            FLAME_ROW - 1);
    write_colour(out, node->name);
    fputs("\"/>", out);
    if (w >= 3 * FLAME_CHAR_PX) {
        fprintf(out, "<text x=\"%.1f\" y=\"%u\">", x + 3, y + 12);
        html_text_cut(out, node->name, (size_t)((w - 6) / FLAME_CHAR_PX));
        fputs("</text>", out);
    }
    fputs("</g>\n", out);

    /* Callees left to right, widest first. */
    for (size_t c = node->first_child; c != FLAME_NONE;
         c = f->nodes[c].next_sibling) {
        if (!f->nodes[c].kept)
            continue;
        if (nchildren == 64 && all == children) {
            all = xcalloc(FLAME_MAX_NODES, sizeof *all);
            memcpy(all, children, sizeof children);
        }
        all[nchildren++] = c;
    }
    qsort_r(all, nchildren, sizeof *all, compare_width, f->nodes);
    for (size_t i = 0; i < nchildren; i++) {
        write_node(out, f, all[i], x, deepest, cost);
        x += (double)f->nodes[all[i]].value / total * FLAME_WIDTH;
    }
    if (all != children)
        free(all);
}

void html_flame_graph(FILE *out, struct analysis *a,
                      const struct report_options *o)
{
    struct flame f = { NULL, 0, 0 };
    unsigned deepest;

    flame_build(&f, a, o->cost);
    if (f.nodes[0].value == 0) {
        fputs("<p class=\"note\">No site has a value under this cost: the "
              "flame graph is empty.</p>\n", out);
    } else {
        deepest = flame_select(&f);
        fprintf(out, "<svg class=\"flame\" id=\"flame\" viewBox=\"0 0 %.0f "
                "%u\" role=\"img\" aria-label=\"flame graph\">\n",
                FLAME_WIDTH, (deepest + 1) * FLAME_ROW);
        write_node(out, &f, 0, 0.0, deepest, o->cost);
        fputs("</svg>\n", out);
    }
    for (size_t i = 0; i < f.n; i++)
        free(f.nodes[i].name);
    free(f.nodes);
}
