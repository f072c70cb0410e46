// Linked with libcounting_new.so (counting_new.cpp), whose operator
// new and delete must keep running under the tracer: 40 nodes of 32 bytes
// kept by keep_nodes, 500 made and deleted by churn_nodes.
#include <cstdio>

extern "C" unsigned long counting_new_calls(unsigned long *deleted);

struct node { node *next; char bytes[24]; };
node *kept;

__attribute__((noinline)) void keep_nodes()
{
    for (int i = 0; i < 40; i++)
        kept = new node{kept, {}};
}

__attribute__((noinline)) void churn_nodes()
{
    for (int i = 0; i < 500; i++) {
        node *n = new node{kept, {}};
        asm volatile("" : "+r"(n) : : "memory");
        delete n;
    }
}

int main()
{
    unsigned long deleted;
    keep_nodes();
    churn_nodes();
    unsigned long made = counting_new_calls(&deleted);
    std::printf("its operator new ran %lu times, delete %lu\n", made,
                deleted);
    return 0;
}
