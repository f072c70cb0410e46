// operator new with an alignment of 0 breaks its precondition; the C++
// runtime refuses it (bad_alloc, or null for nothrow), and so must the
// tracer's new.
#include <cstdio>
#include <new>

int main()
{
    try {
        void *p = ::operator new(16, std::align_val_t(0));
        std::printf("got %s\n", p ? "a block" : "null");
    } catch (const std::bad_alloc &) {
        std::printf("bad_alloc\n");
    }
    void *q = ::operator new(16, std::align_val_t(0), std::nothrow);
    std::printf("nothrow: %s\n", q ? "a block" : "null");
    return 0;
}
