// A C++ library that a C program loads with dlopen(RTLD_LOCAL), as
// Python loads an extension module: the C++ runtime it brings is outside
// the program's global scope. extension_work(n) keeps n things of 40
// bytes and makes and deletes 100 more. libcxx_extension.so, loaded by
// cxx_extension_host.c.
struct thing { char bytes[40]; };
thing *kept[64];

extern "C" int extension_work(int n)
{
    for (int i = 0; i < n && i < 64; i++)
        kept[i] = new thing();
    for (int i = 0; i < 100; i++) {
        thing *t = new thing();
        asm volatile("" : "+r"(t) : : "memory");
        delete t;
    }
    return n;
}
