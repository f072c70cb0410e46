/* sites.c - see sites.h. */
#include "sites.h"

#include <string.h>

#include "arena.h"
#include "site_lookup.h"

/* uthash's bucket arrays must not come from the allocator we trace. */
#undef uthash_malloc
#undef uthash_free
#define uthash_malloc(size) arena_alloc(size)
#define uthash_free(ptr, size) arena_free(ptr, size)
#undef uthash_nonfatal_oom
#define uthash_nonfatal_oom(obj) sites_oom = true

spinlock_t sites_lock;
struct site *_Atomic sites_dirty_head;
static struct site *site_table;      /* uthash head, under sites_lock */
static struct site *site_list;       /* every site, newest first */
static bool sites_oom;
static uint32_t next_site_id = 1;

/* id -> site, two levels so that the index grows without moving. */
#define SITE_INDEX_CHUNK 4096
static struct site **_Atomic site_index[(SITE_ID_MAX + 1) / SITE_INDEX_CHUNK + 1];

static uint64_t stack_hash(const uint64_t *words, size_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < n; i++) {
        h ^= words[i];
        h *= 0xBF58476D1CE4E5B9ull;
        h ^= h >> 31;
    }
    return h;
}

static bool site_index_store(struct site *site)
{
    uint32_t chunk = site->id / SITE_INDEX_CHUNK;
    struct site **slots = atomic_load(&site_index[chunk]);
    if (!slots) {
        slots = arena_alloc(SITE_INDEX_CHUNK * sizeof *slots);
        if (!slots)
            return false;
        atomic_store(&site_index[chunk], slots);
    }
    __atomic_store_n(&slots[site->id % SITE_INDEX_CHUNK], site,
                     __ATOMIC_RELEASE);
    return true;
}

struct site *sites_by_id(uint32_t id)
{
    struct site **slots = atomic_load_explicit(&site_index[id / SITE_INDEX_CHUNK],
                                               memory_order_acquire);
    return slots ? __atomic_load_n(&slots[id % SITE_INDEX_CHUNK],
                                   __ATOMIC_ACQUIRE)
                 : NULL;
}

static struct site *site_create(uint64_t hash, const struct stack_key *key,
                                size_t nframes, uint32_t kind)
{
    size_t key_len = sizeof key->header + nframes * sizeof *key->frames;
    struct site *site;
    if (next_site_id > SITE_ID_MAX)
        return NULL;
    site = arena_alloc_aligned(sizeof *site + nframes * sizeof *key->frames,
                               SITE_ALIGN);
    if (!site)
        return NULL;
    site->hash = hash;
    site->id = next_site_id;
    site->kind = kind;
    site->nframes = (uint32_t)nframes;
    memcpy(&site->key_header, key, key_len);
    if (!site_index_store(site))
        return NULL;
    sites_oom = false;
    HASH_ADD_BYHASHVALUE(hh, site_table, key_header, (unsigned)key_len,
                         (unsigned)hash, site);
    if (sites_oom)
        return NULL;
    /* Without room in the lookup array it is still found, through uthash. */
    site_lookup_add(site);
    next_site_id++;
    site->next_all = site_list;
    /* Published for readers that do not take sites_lock (a new file). */
    __atomic_store_n(&site_list, site, __ATOMIC_RELEASE);
    return site;
}

struct site *sites_intern(struct stack_key *key, size_t nframes,
                          uint32_t kind, bool *created)
{
    size_t key_len = sizeof key->header + nframes * sizeof *key->frames;
    uint64_t hash;
    struct site *site;

    key->header = (uint64_t)kind << 32 | nframes;
    hash = stack_hash(&key->header, 1 + nframes);
    hash += hash == 0;             /* 0 marks an empty lookup slot */
    *created = false;
    site = site_lookup_find(hash, key, key_len);
    if (site)
        return site;

    spin_lock(&sites_lock);
    HASH_FIND_BYHASHVALUE(hh, site_table, key, (unsigned)key_len,
                          (unsigned)hash, site);
    if (!site) {
        site = site_create(hash, key, nframes, kind);
        *created = site != NULL;
    }
    spin_unlock(&sites_lock);
    return site;
}

struct site *sites_take_dirty(void)
{
    return atomic_exchange_explicit(&sites_dirty_head, NULL,
                                    memory_order_acquire);
}

struct site *sites_dirty_next(struct site *site)
{
    /* Read the link before clearing the flag: once clear, another thread
     * may queue the site again and overwrite next_dirty. */
    struct site *next = site->next_dirty;
    atomic_store_explicit(&site->dirty, 0, memory_order_release);
    return next;
}

void sites_rebuild_dirty_list(void)
{
    struct site *all = sites_all();
    atomic_store(&sites_dirty_head, NULL);
    for (struct site *s = all; s; s = s->next_all)
        atomic_store(&s->dirty, 0);
    for (struct site *s = all; s; s = s->next_all)
        sites_mark_dirty(s);
}

struct site *sites_all(void)
{
    return __atomic_load_n(&site_list, __ATOMIC_ACQUIRE);
}
