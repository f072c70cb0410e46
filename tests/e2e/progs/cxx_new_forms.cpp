// Every form of operator new and delete, with known counts. Built twice
// by the tests: against the C++ runtime's operator new (which calls
// malloc) and linked with jemalloc (whose operator new never does).
//
// Kept at exit: 10 widgets of 48 bytes (keep_widgets), 5 arrays of 100
// (keep_arrays), 3 over-aligned blocks of 128 (keep_aligned), 2 nothrow
// widgets (keep_nothrow), 7 widgets after a bad_alloc (after_bad_alloc).
// Churned and freed: 1000 widgets, 1000 arrays, 100 over-aligned blocks,
// 100 nothrow widgets (nothrow delete), 100 over-aligned arrays.
// Refused: one throwing new and one nothrow new of 2^62 bytes.
#include <cstdio>
#include <new>

struct widget { char bytes[48]; };
struct alignas(64) aligned_block { char bytes[128]; };

widget *widgets[10], *nothrow_widgets[2], *late_widgets[7];
int *arrays[5];
aligned_block *aligned[3];
volatile unsigned long huge = 1ul << 62;  // not folded into a constant

// The compiler may drop a new whose block nobody can see, and its delete.
template <class T> T *seen(T *p)
{
    asm volatile("" : "+r"(p) : : "memory");
    return p;
}

__attribute__((noinline)) void keep_widgets()
{
    for (auto &w : widgets)
        w = new widget();
}

__attribute__((noinline)) void keep_arrays()
{
    for (auto &a : arrays)
        a = new int[25]();
}

__attribute__((noinline)) void keep_aligned()
{
    for (auto &a : aligned)
        a = new aligned_block();
}

__attribute__((noinline)) void keep_nothrow()
{
    for (auto &w : nothrow_widgets)
        w = new (std::nothrow) widget();
}

__attribute__((noinline)) unsigned churn()
{
    unsigned sum = 0;
    for (int i = 0; i < 1000; i++) {
        widget *w = seen(new widget());
        int *a = seen(new int[25]());
        sum += w->bytes[0] + a[i % 25] + 1;
        delete w;    // sized delete
        delete[] a;
    }
    for (int i = 0; i < 100; i++) {
        aligned_block *b = seen(new aligned_block());
        aligned_block *c = seen(new aligned_block[2]());
        widget *w = seen(new (std::nothrow) widget());
        sum += (reinterpret_cast<unsigned long>(b) & 63) +
               (reinterpret_cast<unsigned long>(c) & 63) + w->bytes[1];
        delete b;    // sized, aligned
        delete[] c;  // aligned array
        operator delete(w, std::nothrow);
    }
    return sum;
}

__attribute__((noinline)) int ask_too_much()
{
    int refused = 0;
    try {
        seen(new char[huge]);
    } catch (const std::bad_alloc &) {
        refused++;
    }
    if (!seen(new (std::nothrow) char[huge]))
        refused++;
    return refused;
}

__attribute__((noinline)) void after_bad_alloc()
{
    for (auto &w : late_widgets)
        w = new widget();
}

int main()
{
    keep_widgets();
    keep_arrays();
    keep_aligned();
    keep_nothrow();
    unsigned sum = churn();
    int refused = ask_too_much();
    after_bad_alloc();
    std::printf("churn %u, refused %d\n", sum, refused);
    return 0;
}
