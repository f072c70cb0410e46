/* mmap_ranges.c - see mmap_ranges.h. */
#include "mmap_ranges.h"

#include <stdatomic.h>

#include "arena.h"

spinlock_t mmap_ranges_lock;

struct range_node {
    struct mmap_piece piece;
    uint32_t priority;             /* heap order: a parent's is higher */
    struct range_node *left, *right;
};

/* Nodes come a batch at a time: one arena call covers many mappings. */
#define NODES_PER_BATCH 64

static struct range_node *root;
static struct range_node *spare_nodes;      /* linked through ->right */
static _Atomic size_t pieces;
static uint64_t priority_state = UINT64_C(0x9E3779B97F4A7C15);

static uint32_t next_priority(void)
{
    uint64_t x = priority_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    priority_state = x;
    return (uint32_t)(x >> 32);
}

static uintptr_t piece_end(const struct mmap_piece *p)
{
    return p->start + p->len;
}

static struct range_node *node_new(const struct mmap_piece *piece)
{
    struct range_node *n = spare_nodes;
    if (!n) {
        struct range_node *batch =
            arena_alloc(NODES_PER_BATCH * sizeof *batch);
        if (!batch)
            return NULL;
        for (size_t i = 1; i < NODES_PER_BATCH; i++) {
            batch[i].right = spare_nodes;
            spare_nodes = &batch[i];
        }
        n = batch;
    } else {
        spare_nodes = n->right;
    }
    n->piece = *piece;
    n->priority = next_priority();
    n->left = n->right = NULL;
    atomic_fetch_add_explicit(&pieces, 1, memory_order_relaxed);
    return n;
}

static void node_free(struct range_node *n)
{
    n->right = spare_nodes;
    spare_nodes = n;
    atomic_fetch_sub_explicit(&pieces, 1, memory_order_relaxed);
}

/* Nodes of t starting below key go to *below, the others to *rest. */
static void split(struct range_node *t, uintptr_t key,
                  struct range_node **below, struct range_node **rest)
{
    if (!t) {
        *below = *rest = NULL;
    } else if (t->piece.start < key) {
        *below = t;
        split(t->right, key, &t->right, rest);
    } else {
        *rest = t;
        split(t->left, key, below, &t->left);
    }
}

/* Every start in a lies below every start in b. */
static struct range_node *merge(struct range_node *a, struct range_node *b)
{
    if (!a)
        return b;
    if (!b)
        return a;
    if (a->priority > b->priority) {
        a->right = merge(a->right, b);
        return a;
    }
    b->left = merge(a, b->left);
    return b;
}

/* The node starting last below key, or NULL. */
static struct range_node *last_below(uintptr_t key)
{
    struct range_node *best = NULL;
    for (struct range_node *t = root; t;) {
        if (t->piece.start < key) {
            best = t;
            t = t->right;
        } else {
            t = t->left;
        }
    }
    return best;
}

/* n overlaps no node of the index. */
static void insert(struct range_node *n)
{
    struct range_node *below, *rest;
    split(root, n->piece.start, &below, &rest);
    root = merge(merge(below, n), rest);
}

static void emit(const struct mmap_sink *sink, enum mmap_event_kind kind,
                 uint32_t site, uint64_t bytes)
{
    struct mmap_event event = { kind, site, bytes };
    /* A resize to the length a piece already has changes nothing. */
    if (bytes == 0 && (kind == MMAP_EV_TRIMMED || kind == MMAP_EV_GROWN))
        return;
    sink->fn(&event, sink->arg);
}

/* The last node starting below `start` may reach into [start, end): its
 * tail goes; if it reaches past end, its part after end becomes a piece of
 * its own, which *above (every node from end on) receives as its first. */
static void cut_node_below(struct range_node *below, uintptr_t start,
                           uintptr_t end, struct range_node **above,
                           const struct mmap_sink *sink)
{
    struct range_node *n = below;
    uintptr_t had_end;
    while (n && n->right)
        n = n->right;
    if (!n || (had_end = piece_end(&n->piece)) <= start)
        return;
    n->piece.len = start - n->piece.start;
    if (had_end > end) {
        struct mmap_piece after = { end, had_end - end, n->piece.birth_ns,
                                    n->piece.site };
        struct range_node *split_off = node_new(&after);
        if (split_off) {
            *above = merge(split_off, *above);
            emit(sink, MMAP_EV_TRIMMED, n->piece.site, end - start);
            emit(sink, MMAP_EV_SPLIT, n->piece.site, 0);
            return;
        }
        /* No node for it: the part after end is no longer traced. */
    }
    emit(sink, MMAP_EV_TRIMMED, n->piece.site, had_end - start);
}

/* Every node of t starts in [.., end): whole pieces go; the last one may
 * reach past end, and keeps its part from end on, in *above. In address
 * order, so that a sink sees events as they lie. */
static void drop_nodes(struct range_node *t, uintptr_t end,
                       struct range_node **above,
                       const struct mmap_sink *sink)
{
    struct range_node *right;
    if (!t)
        return;
    right = t->right;
    drop_nodes(t->left, end, above, sink);
    if (piece_end(&t->piece) > end) {
        uint64_t gone = end - t->piece.start;
        t->piece.start = end;
        t->piece.len -= gone;
        t->left = t->right = NULL;
        *above = merge(t, *above);
        emit(sink, MMAP_EV_TRIMMED, t->piece.site, gone);
    } else {
        emit(sink, MMAP_EV_FREED, t->piece.site, t->piece.len);
        node_free(t);
    }
    drop_nodes(right, end, above, sink);
}

void mmap_ranges_unmap(uintptr_t start, uint64_t span,
                       const struct mmap_sink *sink)
{
    uintptr_t end = span > UINTPTR_MAX - start ? UINTPTR_MAX : start + span;
    struct range_node *below, *rest, *inside, *above;
    if (!root || start >= end)
        return;
    split(root, start, &below, &rest);
    split(rest, end, &inside, &above);
    cut_node_below(below, start, end, &above, sink);
    drop_nodes(inside, end, &above, sink);
    root = merge(below, above);
}

void mmap_ranges_map(const struct mmap_piece *piece, uint64_t span,
                     const struct mmap_sink *sink)
{
    struct range_node *n;
    mmap_ranges_unmap(piece->start, span, sink);
    if (piece->len == 0 || !(n = node_new(piece)))
        return;
    insert(n);
    emit(sink, MMAP_EV_ADDED, piece->site, piece->len);
}

/* A piece across x becomes two, cut at x. */
static void cut_at(uintptr_t x, const struct mmap_sink *sink)
{
    struct range_node *n = last_below(x), *split_off;
    struct mmap_piece after;
    if (!n || piece_end(&n->piece) <= x)
        return;
    after = (struct mmap_piece){ x, piece_end(&n->piece) - x,
                                 n->piece.birth_ns, n->piece.site };
    n->piece.len = x - n->piece.start;
    if ((split_off = node_new(&after))) {
        insert(split_off);
        emit(sink, MMAP_EV_SPLIT, after.site, 0);
    } else {
        emit(sink, MMAP_EV_TRIMMED, after.site, after.len);
    }
}

static void shift_nodes(struct range_node *t, uintptr_t delta)
{
    for (; t; t = t->right) {
        t->piece.start += delta;
        shift_nodes(t->left, delta);
    }
}

/* Moves the pieces of [from, from + span) to `to`, where nothing is. */
static void move_range(uintptr_t from, uint64_t span, uintptr_t to,
                       uint64_t cleared_span, const struct mmap_sink *sink)
{
    struct range_node *below, *rest, *moving, *above;
    /* A piece that also covers what stays is two blocks from now on. */
    cut_at(from, sink);
    cut_at(from + span, sink);
    split(root, from, &below, &rest);
    split(rest, from + span, &moving, &above);
    root = merge(below, above);
    /* MREMAP_FIXED unmaps whatever was at the destination. */
    mmap_ranges_unmap(to, cleared_span, sink);
    /* Unsigned wrap-around: to - from may be "negative". */
    shift_nodes(moving, to - from);
    split(root, to, &below, &above);
    root = merge(merge(below, moving), above);
}

/* The piece that ends in the last page of the `kept` bytes at `at` now
 * ends where the program said the mapping does. One that goes on past
 * them (the kept range was the middle of a mapping) does not end here. */
static void resize_last_piece(uintptr_t at, uint64_t kept, uint64_t new_len,
                              uint64_t page, const struct mmap_sink *sink)
{
    struct range_node *n = last_below(at + kept);
    uintptr_t end, target = at + new_len;
    if (kept == 0 || !n || (end = piece_end(&n->piece)) <= at + kept - page ||
        end > at + kept)
        return;
    /* Pieces start on pages and the next starts past the new length, so
     * the target lies between them. */
    if (target > end)
        emit(sink, MMAP_EV_GROWN, n->piece.site, target - end);
    else
        emit(sink, MMAP_EV_TRIMMED, n->piece.site, end - target);
    n->piece.len = target - n->piece.start;
}

static uint64_t whole_pages(uint64_t len, uint64_t page)
{
    return len > UINT64_MAX - (page - 1) ? UINT64_MAX & ~(page - 1)
                                         : (len + page - 1) & ~(page - 1);
}

void mmap_ranges_remap(const struct mmap_remap *r,
                       const struct mmap_sink *sink)
{
    uint64_t old_span = whole_pages(r->old_len, r->page);
    uint64_t new_span = whole_pages(r->new_len, r->page);
    uint64_t kept = old_span < new_span ? old_span : new_span;

    if (r->keeps_old) {
        struct range_node *holder = last_below(r->old_addr + 1);
        if (holder && piece_end(&holder->piece) > r->old_addr) {
            struct mmap_piece copy = { r->new_addr, r->new_len, r->now_ns,
                                       holder->piece.site };
            mmap_ranges_map(&copy, new_span, sink);
        } else {
            mmap_ranges_unmap(r->new_addr, new_span, sink);
        }
        return;
    }
    if (old_span > kept)
        mmap_ranges_unmap(r->old_addr + kept, old_span - kept, sink);
    if (r->new_addr != r->old_addr)
        move_range(r->old_addr, kept, r->new_addr, new_span, sink);
    else if (new_span > kept)
        /* Grown in place over what the index wrongly thought mapped. */
        mmap_ranges_unmap(r->old_addr + kept, new_span - kept, sink);
    resize_last_piece(r->new_addr, kept, r->new_len, r->page, sink);
}

static void visit(const struct range_node *t,
                  void (*fn)(const struct mmap_piece *, void *), void *arg)
{
    for (; t; t = t->right) {
        visit(t->left, fn, arg);
        fn(&t->piece, arg);
    }
}

void mmap_ranges_for_each(void (*fn)(const struct mmap_piece *, void *),
                          void *arg)
{
    visit(root, fn, arg);
}

size_t mmap_ranges_count(void)
{
    return atomic_load_explicit(&pieces, memory_order_relaxed);
}

static void free_nodes(struct range_node *t)
{
    while (t) {
        struct range_node *right = t->right;
        free_nodes(t->left);
        node_free(t);
        t = right;
    }
}

void mmap_ranges_clear(void)
{
    free_nodes(root);
    root = NULL;
}
