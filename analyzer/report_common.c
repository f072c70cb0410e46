/* report_common.c - what the report writers share (report.h). */
#include "report.h"

#include "stacks.h"

const char *report_end_reason(uint32_t reason)
{
    switch (reason) {
    case MT_END_EXIT: return "exit";
    case MT_END_UNDERSCORE_EXIT: return "_exit";
    case MT_END_SIGNAL: return "signal";
    case MT_END_EXEC: return "exec";
    case MT_END_ON_DEMAND: return "snapshot";
    }
    return NULL;
}

uint64_t report_site_cost(const struct model_site *s, enum report_cost cost)
{
    switch (cost) {
    case REPORT_COST_LIVE: return s->end.live_bytes;
    case REPORT_COST_ALLOCS: return s->counters.allocs;
    case REPORT_COST_BYTES: return s->counters.bytes_allocated;
    case REPORT_COST_PEAK: return s->counters.peak_live_bytes;
    }
    return 0;
}

const char *report_frame_label(const struct sym_frame *f,
                               char buf[REPORT_FRAME_LABEL_MAX])
{
    if (f->function)
        return f->function;
    if (f->module)
        snprintf(buf, REPORT_FRAME_LABEL_MAX, "%s+0x%llx",
                 stacks_basename(f->module),
                 (unsigned long long)f->module_offset);
    else
        snprintf(buf, REPORT_FRAME_LABEL_MAX, "0x%llx",
                 (unsigned long long)f->address);
    return buf;
}
