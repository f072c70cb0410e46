/* report_common.c - what the report writers share (report.h). */
#include "report.h"

const char *report_end_reason(uint32_t reason)
{
    switch (reason) {
    case MT_END_EXIT: return "exit";
    case MT_END_UNDERSCORE_EXIT: return "_exit";
    case MT_END_SIGNAL: return "signal";
    case MT_END_EXEC: return "exec";
    }
    return NULL;
}
