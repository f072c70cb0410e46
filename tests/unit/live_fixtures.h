/* live_fixtures.h - what the tests of the live-block table share
 * (test_live.c, test_live_layout.c): a model entry per pointer, and
 * insert, remove and lookup checked against it. The table is global (and
 * shared by all tests under CK_FORK=no): every test uses its own address
 * range and removes what it inserted. */
#ifndef MTRACE_TEST_LIVE_FIXTURES_H
#define MTRACE_TEST_LIVE_FIXTURES_H

#include <stdbool.h>
#include <stdint.h>

#include "live.h"

#define BIRTH_ROUNDED(ns) ((ns) & ~(LIVE_BIRTH_UNIT_NS - 1))
#define PACKED_SIZE_LIMIT (UINT64_C(1) << 20)   /* live.c packs below */
#define SIZE_CLAMPED(size) ((size) > LIVE_SIZE_MAX ? LIVE_SIZE_MAX : (size))

uint64_t live_xorshift(uint64_t *state);

/* What the table should hold for one pointer. */
struct expected {
    bool present;
    uint64_t size, birth;
    uint32_t site;
};

/* Inserts and checks what was replaced against the model entry. */
void insert_checked(uintptr_t ptr, uint64_t size, uint32_t site,
                    uint64_t birth, struct expected *model);
void remove_checked(uintptr_t ptr, struct expected *model);
/* A lookup that leaves the table as it was: putting the entry back in its
 * own place returns it as replaced. */
void lookup_checked(uintptr_t ptr, struct expected *model);

#endif
