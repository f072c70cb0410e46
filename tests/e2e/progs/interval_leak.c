/*
 * The mission's headline leak, next to healthy neighbours. The C analogue
 * of Node's
 *     setInterval(() => intervals.push(new Array(1e6).fill('data')), 1000)
 * at a faster pace: every 50 ms `tick` allocates a 64 KiB buffer and
 * appends it to `intervals`, an array grown by realloc and never trimmed.
 * Around it: configuration loaded once at start-up and kept, a bounded
 * cache that fills and then evicts, and per-request churn. Only tick (and
 * the array it grows) leak.
 *
 * usage: interval_leak [TICKS]   (default 60: about 3 s)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TICK_MS 50
#define BUFFER_BYTES (64 * 1024)
#define CACHE_SLOTS 32
#define CACHE_ENTRY 4096
#define CONFIG_ENTRIES 50

static char **intervals;
static size_t intervals_len, intervals_cap;
static char *config[CONFIG_ENTRIES];
static char *cache[CACHE_SLOTS];
static size_t cache_next;

__attribute__((noinline)) static void load_config(void)
{
    for (int i = 0; i < CONFIG_ENTRIES; i++) {
        config[i] = malloc(2048);
        memset(config[i], 'c', 2048);
    }
}

__attribute__((noinline)) static void intervals_push(char *buffer)
{
    if (intervals_len == intervals_cap) {
        intervals_cap = intervals_cap ? intervals_cap * 2 : 4;
        intervals = realloc(intervals, intervals_cap * sizeof *intervals);
        if (!intervals)
            exit(1);
    }
    intervals[intervals_len++] = buffer;
}

__attribute__((noinline)) static void tick(void)
{
    char *buffer = malloc(BUFFER_BYTES);
    if (!buffer)
        exit(1);
    memset(buffer, 'd', BUFFER_BYTES);   /* new Array(1e6).fill('data') */
    intervals_push(buffer);
}

__attribute__((noinline)) static void cache_put(int key)
{
    /* A ring of CACHE_SLOTS entries: full after CACHE_SLOTS puts, then
     * each put evicts the oldest. */
    free(cache[cache_next]);
    cache[cache_next] = malloc(CACHE_ENTRY);
    snprintf(cache[cache_next], CACHE_ENTRY, "entry %d", key);
    cache_next = (cache_next + 1) % CACHE_SLOTS;
}

__attribute__((noinline)) static unsigned handle_request(int n)
{
    unsigned sum = 0;
    for (int i = 0; i < 200; i++) {
        char *scratch = malloc(128 + (size_t)((n * 7 + i) % 512));
        scratch[0] = (char)i;
        sum += (unsigned char)scratch[0];
        free(scratch);
    }
    return sum;
}

int main(int argc, char **argv)
{
    int ticks = argc > 1 ? atoi(argv[1]) : 60;
    struct timespec pause = { 0, TICK_MS * 1000000L };
    unsigned checksum = 0;

    load_config();
    for (int t = 0; t < ticks; t++) {
        tick();
        cache_put(t);
        checksum += handle_request(t);
        nanosleep(&pause, NULL);
    }
    printf("%d ticks, %zu buffers retained, checksum %u\n", ticks,
           intervals_len, checksum);
    return 0;
}
