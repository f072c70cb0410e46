/* live_fixtures.c - see live_fixtures.h. */
#include "live_fixtures.h"

#include "expect.h"

uint64_t live_xorshift(uint64_t *state)
{
    uint64_t x = *state ^ *state << 13;
    x ^= x >> 7;
    return *state = x ^ x << 17;
}

static struct expected expect(uint64_t size, uint32_t site, uint64_t birth)
{
    return (struct expected){ true, SIZE_CLAMPED(size), BIRTH_ROUNDED(birth),
                              site & 0xFFFFFF };
}

static void assert_block(const struct live_block *b, uintptr_t ptr,
                         const struct expected *e)
{
    EXPECT_EQ(b->ptr, ptr);
    EXPECT_EQ(live_block_size(b), e->size);
    EXPECT_EQ(live_block_site(b), e->site);
    EXPECT_EQ(b->birth_ns, e->birth);
}

void insert_checked(uintptr_t ptr, uint64_t size, uint32_t site,
                    uint64_t birth, struct expected *model)
{
    struct live_block replaced;
    bool stored = false;
    bool found = live_insert(ptr, size, site, birth, &replaced, &stored);
    EXPECT(stored);
    EXPECT_EQ(found, model->present);
    if (found)
        assert_block(&replaced, ptr, model);
    *model = expect(size, site, birth);
}

void remove_checked(uintptr_t ptr, struct expected *model)
{
    struct live_block out;
    bool found = live_remove(ptr, &out);
    EXPECT_EQ(found, model->present);
    if (found)
        assert_block(&out, ptr, model);
    model->present = false;
}

void lookup_checked(uintptr_t ptr, struct expected *model)
{
    if (model->present)
        insert_checked(ptr, model->size, model->site, model->birth, model);
    else
        remove_checked(ptr, model);
}
