/* expect.h - assertions that report failures only. Check reports every
 * passing ck_assert to the runner, a write(2) each; tests that check
 * millions of results (random operations against a model) use these. */
#ifndef MTRACE_TEST_EXPECT_H
#define MTRACE_TEST_EXPECT_H

#include <check.h>
#include <inttypes.h>
#include <stdint.h>

#define EXPECT_CMP(a, op, b)                                                 \
    do {                                                                     \
        uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                     \
        if (!(a_ op b_))                                                     \
            ck_abort_msg("%s:%d: %s %s %s failed: %" PRIu64 " vs %" PRIu64,  \
                         __FILE__, __LINE__, #a, #op, #b, a_, b_);           \
    } while (0)
#define EXPECT(cond) EXPECT_CMP(!!(cond), ==, 1)
#define EXPECT_EQ(a, b) EXPECT_CMP(a, ==, b)
#define EXPECT_LE(a, b) EXPECT_CMP(a, <=, b)
#define EXPECT_GE(a, b) EXPECT_CMP(a, >=, b)

#endif
