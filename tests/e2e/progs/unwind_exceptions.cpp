// Allocations next to C++ exceptions, for the unwinder check: in the
// function that throws, in the runtime allocating the exception, in
// destructors the runtime calls while it unwinds (their frames sit on top
// of landing pads), in catch blocks, and after a rethrow across frames.
// Prints totals that do not depend on the tracer.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

static std::vector<std::unique_ptr<char[]>> kept;
static long destructor_blocks;

// Its destructor allocates: it runs inside the unwinding of a throw. Not
// inlined, so that its frame is there to be seen.
struct AllocatesOnUnwind {
    int round;
    __attribute__((noinline)) ~AllocatesOnUnwind()
    {
        std::unique_ptr<char[]> block(new char[32 + round % 16]);
        block[0] = 'd';
        destructor_blocks += block[0] == 'd';
        if (round % 97 == 0)
            kept.push_back(std::move(block));
    }
};

__attribute__((noinline)) static void throw_from_depth(int depth, int round)
{
    AllocatesOnUnwind guard{round};
    std::vector<int> local(16 + round % 7, round);
    if (depth == 0) {
        if (round % 3 == 0)
            throw round;   // only the exception object is allocated
        throw std::runtime_error("round " + std::to_string(round));
    }
    throw_from_depth(depth - 1, round);
    local[0] += guard.round;   // keeps the call a call, not a jump
}

__attribute__((noinline)) static size_t catch_and_allocate(int round)
{
    try {
        throw_from_depth(round % 6, round);
    } catch (const std::exception &e) {
        std::string copy(e.what());
        copy += " caught";
        return copy.size();
    } catch (int thrown) {
        std::vector<char> after(64 + thrown % 32);
        return after.size() / 64;
    }
    return 0;
}

__attribute__((noinline)) static int rethrow_across(int round)
{
    try {
        try {
            throw_from_depth(2, round);
        } catch (...) {
            std::vector<long> between(8, round);   // allocates mid-handler
            throw;
        }
    } catch (const std::exception &) {
        return 1;
    } catch (int) {
        return 2;
    }
    return 0;
}

int main()
{
    size_t total = 0;
    long rethrown = 0;
    for (int round = 0; round < 1500; round++) {
        total += catch_and_allocate(round);
        if (round % 5 == 0)
            rethrown += rethrow_across(round);
        std::unique_ptr<char[]> churn(new char[48]);
        churn[0] = 1;
    }
    std::printf("total %zu, rethrown %ld, destructor blocks %ld, kept %zu\n",
                total, rethrown, destructor_blocks, kept.size());
    return 0;
}
