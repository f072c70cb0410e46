/* Reachability truth: `lose_some` leaves 3 blocks no pointer reaches
 * (definitely lost) and each holds the only pointer to a child block from
 * `lose_child` (indirectly lost); `keep_global` keeps 4 blocks through a
 * global array, `keep_interior` 2 through pointers into their middle,
 * `keep_chain` a 3-block linked list from one global. */
#include <stdio.h>
#include <stdlib.h>

struct node { struct node *next; char pad[40]; };

void *globals[4];
char *interior[2];
struct node *chain;

__attribute__((noinline)) void *lose_child(void) { return malloc(24); }

__attribute__((noinline)) void lose_some(void)
{
    for (int i = 0; i < 3; i++) {
        void **lost = malloc(64);
        lost[0] = lose_child();
        lost = NULL;
    }
}

__attribute__((noinline)) void keep_global(void) { for (int i = 0; i < 4; i++) globals[i] = malloc(32); }
__attribute__((noinline)) void keep_interior(void) { for (int i = 0; i < 2; i++) interior[i] = (char *)malloc(100) + 50; }
__attribute__((noinline)) void keep_chain(void)
{
    for (int i = 0; i < 3; i++) {
        struct node *n = malloc(sizeof *n);
        n->next = chain;
        chain = n;
    }
}

int main(void)
{
    lose_some();
    keep_global();
    keep_interior();
    keep_chain();
    puts("done");
    return 0;
}
