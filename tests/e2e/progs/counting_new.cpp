// A library with operator new and delete of its own, as a pool or a
// memory counter would have: they count their calls and take memory from
// malloc. libcounting_new.so; counting_new_main.cpp links it, and
// cxx_extension_host.c loads it RTLD_LOCAL: extension_work(n) keeps n
// items of 40 bytes, makes and deletes 100 more, and returns how many
// times its operator new ran in all.
#include <cstddef>
#include <cstdlib>
#include <new>

static unsigned long news, deletes;

void *operator new(std::size_t size)
{
    news++;
    if (void *p = std::malloc(size ? size : 1))
        return p;
    throw std::bad_alloc();
}

void operator delete(void *p) noexcept
{
    deletes += p != nullptr;
    std::free(p);
}

void operator delete(void *p, std::size_t) noexcept
{
    operator delete(p);
}

extern "C" unsigned long counting_new_calls(unsigned long *deleted)
{
    *deleted = deletes;
    return news;
}

struct item { char bytes[40]; };
static item *held[64];

extern "C" int extension_work(int n)
{
    for (int i = 0; i < n && i < 64; i++)
        held[i] = new item();
    for (int i = 0; i < 100; i++) {
        item *t = new item();
        asm volatile("" : "+r"(t) : : "memory");
        delete t;
    }
    return static_cast<int>(news);
}
