/*
 * Healthy memory patterns, none of which is a leak:
 * - load_config: configuration loaded at start-up and kept to the end;
 * - cache_put: a bounded cache of 40 entries, one put per 20 ms tick: it
 *   fills in the first third of the run, then each put evicts the oldest;
 * - handle_request: short-lived churn, every block freed within the tick;
 * - resize_backlog: a buffer realloc'd to the size of a backlog that rises
 *   and falls with load, four cycles over the run.
 *
 * usage: healthy_patterns [TICKS]   (default 120: about 2.5 s)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TICK_MS 20
#define CONFIG_ENTRIES 40
#define CONFIG_BYTES 2048
#define CACHE_SLOTS 40
#define CACHE_ENTRY 4096
#define LOAD_CYCLE_TICKS 30
#define BACKLOG_ITEM 8192
#define BACKLOG_MIN 1024

static char *config[CONFIG_ENTRIES];
static char *cache[CACHE_SLOTS];
static size_t cache_next;
static char *backlog;

__attribute__((noinline)) static void load_config(void)
{
    for (int i = 0; i < CONFIG_ENTRIES; i++) {
        config[i] = malloc(CONFIG_BYTES);
        if (!config[i])
            exit(1);
        memset(config[i], 'c', CONFIG_BYTES);
    }
}

__attribute__((noinline)) static void cache_put(int key)
{
    free(cache[cache_next]);
    cache[cache_next] = malloc(CACHE_ENTRY);
    if (!cache[cache_next])
        exit(1);
    snprintf(cache[cache_next], CACHE_ENTRY, "entry %d", key);
    cache_next = (cache_next + 1) % CACHE_SLOTS;
}

__attribute__((noinline)) static unsigned handle_request(int n)
{
    unsigned sum = 0;
    for (int i = 0; i < 100; i++) {
        unsigned char *scratch = malloc(128 + (size_t)((n * 7 + i) % 2048));
        if (!scratch)
            exit(1);
        scratch[0] = (unsigned char)i;
        sum += scratch[0];
        free(scratch);
    }
    return sum;
}

/* The backlog rises for half a load cycle, then drains: a triangle wave. */
__attribute__((noinline)) static void resize_backlog(int tick)
{
    int phase = tick % LOAD_CYCLE_TICKS;
    int pending = phase < LOAD_CYCLE_TICKS / 2 ? phase : LOAD_CYCLE_TICKS - phase;
    size_t size = BACKLOG_MIN + (size_t)pending * BACKLOG_ITEM;
    char *grown = realloc(backlog, size);

    if (!grown)
        exit(1);
    backlog = grown;
    memset(backlog, 'b', size);
}

int main(int argc, char **argv)
{
    int ticks = argc > 1 ? atoi(argv[1]) : 120;
    struct timespec pause = { 0, TICK_MS * 1000000L };
    unsigned checksum = 0;

    load_config();
    for (int t = 0; t < ticks; t++) {
        cache_put(t);
        checksum += handle_request(t);
        resize_backlog(t);
        nanosleep(&pause, NULL);
    }
    printf("%d ticks, checksum %u\n", ticks, checksum);
    return 0;
}
