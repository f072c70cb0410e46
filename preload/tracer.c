/* tracer.c - the shared state declared in tracer.h. */
#include "tracer.h"

#include "counter.h"

atomic_int tracer_state;
__thread int tracer_in_hook;
uint64_t tracer_origin_ns;
bool tracer_pristine = true;
atomic_bool tracer_threaded;
__thread bool tracer_thread_known;
