/* tracer.c - the shared state declared in tracer.h. */
#include "tracer.h"

#include <dlfcn.h>
#include <errno.h>

#include "clock.h"
#include "counter.h"
#include "errno_slot.h"

atomic_int tracer_state = TRACER_UNSTARTED;
__thread int tracer_in_hook;
uint64_t tracer_origin_ns;
bool tracer_pristine = true;
atomic_bool tracer_threaded;
__thread bool tracer_thread_known;
ptrdiff_t errno_tp_offset;

void errno_slot_init(void)
{
    errno_tp_offset = (char *)&errno - (char *)__builtin_thread_pointer();
}

clockid_t clock_tracer_id = CLOCK_MONOTONIC_COARSE;
int (*clock_tracer_read)(clockid_t, struct timespec *) = clock_gettime;

void clock_tracer_choose(uint64_t interval_ns)
{
    struct timespec res;
    if (clock_getres(CLOCK_MONOTONIC_COARSE, &res) != 0 ||
        (uint64_t)res.tv_sec * 1000000000u + (uint64_t)res.tv_nsec >
            interval_ns)
        clock_tracer_id = CLOCK_MONOTONIC;
    /* The kernel's own entry: the C library's clock_gettime only checks
     * the clock and calls it, ten instructions an allocation. None under
     * valgrind, which maps no vDSO: the C library's then. */
    void *vdso = dlopen("linux-vdso.so.1", RTLD_LAZY | RTLD_NOLOAD);
    if (vdso) {
        void *entry = dlsym(vdso, "__vdso_clock_gettime");
        if (entry)
            clock_tracer_read = (int (*)(clockid_t, struct timespec *))entry;
        dlclose(vdso);
    }
}
