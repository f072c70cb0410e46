// A new-handler that leaves a record of each call (a malloc of 100 bytes,
// kept by in_handler) and gives up on its second call by throwing
// bad_alloc. Built against the C++ runtime and with jemalloc and tcmalloc,
// whose operator new run the handler themselves: it must run exactly
// twice under the tracer too, and both records be seen.
#include <cstdio>
#include <cstdlib>
#include <new>

static int calls;
void *volatile records[2];

__attribute__((noinline)) static void *in_handler()
{
    return std::malloc(100);
}

static void handler()
{
    records[calls++ & 1] = in_handler();
    if (calls >= 2)
        throw std::bad_alloc();
}

int main()
{
    std::set_new_handler(handler);
    try {
        void *p = ::operator new(static_cast<std::size_t>(1) << 62);
        std::printf("got %p\n", p);
    } catch (const std::bad_alloc &) {
        std::printf("bad_alloc after %d handler calls\n", calls);
    }
    return 0;
}
