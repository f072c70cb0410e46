/* Linked with libteardown.so (teardown.c), which does not depend on
 * the tracer and is finalized after it: the 20 blocks it keeps are freed
 * in its destructor, after main returns; 3 blocks of 50 bytes leak from
 * leak_three. Exits with status 7. */
#include <stdio.h>
#include <stdlib.h>

void keep_in_library(int n);
void *leaked[3];

__attribute__((noinline)) static void leak_three(void)
{
    for (int i = 0; i < 3; i++)
        leaked[i] = malloc(50);
}

int main(void)
{
    keep_in_library(20);
    leak_three();
    puts("kept 20 in the library");
    return 7;
}
