// A library with operator new and delete of its own, as a pool or a
// memory counter would have: they count their calls and take memory from
// malloc. libcounting_new.so; counting_new_main.cpp uses it.
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
