/*
 * site_lookup.h - the site table's read path: an open-addressing array of
 * (stack hash, site) pairs that any thread probes without a lock. A stack
 * that misses the stack cache is looked up here on every allocation; in
 * uthash's chains each link is a different site, a cache miss apiece
 * (three to five of them in cc1, with ten thousand sites), where here the
 * probe reads one or two adjacent pairs and touches a site only when its
 * 64-bit hash matches. uthash stays the table of record: sites are added
 * to both under sites_lock, and a miss here is confirmed there.
 *
 * The array grows by doubling at half load; the array it replaces is kept,
 * as a reader may still be probing it (it holds a subset of the sites, so
 * such a reader at worst misses and takes the lock). All the arrays
 * together are less than twice the last.
 */
#ifndef MTRACE_SITE_LOOKUP_H
#define MTRACE_SITE_LOOKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct site;

/* The site whose hash is `hash` and whose key (header word and frames,
 * key_len bytes) equals `key`, or NULL. No lock; hash is never 0. */
struct site *site_lookup_find(uint64_t hash, const void *key, size_t key_len);

/* Adds a new site (its hash and key set). Under sites_lock. False when
 * memory ran out: the site is still valid, only found through uthash. */
bool site_lookup_add(struct site *site);

#endif
