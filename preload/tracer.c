/* tracer.c - the shared state declared in tracer.h. */
#include "tracer.h"

atomic_int tracer_state;
__thread int tracer_in_hook;
uint64_t tracer_origin_ns;
bool tracer_pristine = true;
