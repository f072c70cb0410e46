/*
 * Steady growth without a period: "requests" arrive at random times (5 to
 * 40 ms apart, a fixed pseudo-random sequence) and each appends a 16 KiB
 * record to a history that is never trimmed. The site leaks; its births
 * are spread over the whole run but follow no timer.
 *
 * usage: irregular_growth [REQUESTS]   (default 110: about 2.5 s)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RECORD_BYTES (16 * 1024)
#define MIN_GAP_MS 5
#define MAX_GAP_MS 40
#define MAX_REQUESTS 1000

static char *history[MAX_REQUESTS];
static int nhistory;

__attribute__((noinline)) static void record_request(int n)
{
    char *record = malloc(RECORD_BYTES);
    if (!record)
        exit(1);
    memset(record, 'h', RECORD_BYTES);
    snprintf(record, RECORD_BYTES, "request %d", n);
    history[nhistory++] = record;
}

int main(int argc, char **argv)
{
    int requests = argc > 1 ? atoi(argv[1]) : 110;
    unsigned seed = 12345;

    if (requests < 1 || requests > MAX_REQUESTS)
        return 2;
    for (int i = 0; i < requests; i++) {
        long gap_ms = MIN_GAP_MS + rand_r(&seed) % (MAX_GAP_MS - MIN_GAP_MS + 1);
        struct timespec pause = { 0, gap_ms * 1000000L };

        record_request(i);
        nanosleep(&pause, NULL);
    }
    printf("%d requests recorded\n", nhistory);
    return 0;
}
