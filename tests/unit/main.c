/* main.c - runs every unit-test suite listed in suites.h with Check. */
#include "suites.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/mtrace-unit-XXXXXX";

const char *test_tmpdir(void)
{
    return tmpdir;
}

int main(void)
{
    SRunner *runner;
    int failed;
    char cmd[sizeof tmpdir + 16];

    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
#define MTRACE_ADD_SUITE(name) \
    runner ? srunner_add_suite(runner, name()) : (void)(runner = srunner_create(name()));
    runner = NULL;
    MTRACE_SUITES(MTRACE_ADD_SUITE)
    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    return failed == 0 ? 0 : 1;
}
