/* Call chains built to fool a stack cache: `leaf` allocates from the same
 * instruction whether `via_a` or `via_b` called it, at the same depth, in
 * alternation; `recurse` allocates at depths 1..8; a longjmp abandons a
 * deep chain before a shallower one allocates over its old frames. Every
 * allocation must still land on its own call chain. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>

void *kept[4096];
int nkept;
static jmp_buf back;

__attribute__((noinline)) void leaf(size_t n) { kept[nkept++] = malloc(n); }
__attribute__((noinline)) void via_a(size_t n) { leaf(n); __asm__ volatile(""); }
__attribute__((noinline)) void via_b(size_t n) { leaf(n); __asm__ volatile(""); }

__attribute__((noinline)) void recurse(int depth)
{
    if (depth == 0) {
        kept[nkept++] = malloc(8);
        return;
    }
    recurse(depth - 1);
    __asm__ volatile("");
}

__attribute__((noinline)) void deep_then_jump(int depth)
{
    if (depth == 0) {
        kept[nkept++] = malloc(16);
        longjmp(back, 1);
    }
    deep_then_jump(depth - 1);
    __asm__ volatile("");
}

__attribute__((noinline)) void after_jump(void) { kept[nkept++] = malloc(24); }

int main(void)
{
    for (int i = 0; i < 1000; i++) {
        if (i % 2)
            via_a(40);
        else
            via_b(40);
    }
    for (int round = 0; round < 20; round++)
        for (int depth = 1; depth <= 8; depth++)
            recurse(depth);
    for (int round = 0; round < 50; round++) {
        if (setjmp(back) == 0)
            deep_then_jump(5);
        after_jump();
    }
    printf("%d\n", nkept);
    return 0;
}
