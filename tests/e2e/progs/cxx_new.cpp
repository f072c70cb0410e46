// operator new/delete reach malloc/free: 10 widgets kept from make_widgets,
// a vector churned in churn_vectors.
#include <cstdio>
#include <vector>

struct widget { char bytes[48]; };
widget *kept[10];  // not static: keeps the news observable

__attribute__((noinline)) void make_widgets() { for (int i = 0; i < 10; i++) kept[i] = new widget(); }
__attribute__((noinline)) void churn_vectors()
{
    for (int i = 0; i < 100; i++) {
        std::vector<int> v(100, i);
        if (v[99] != i) throw 1;
    }
}

int main()
{
    make_widgets();
    churn_vectors();
    std::puts("widgets");
    return 0;
}
