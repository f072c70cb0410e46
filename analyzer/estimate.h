/*
 * estimate.h - the end state of a recording that has no survivors (cut
 * short by a kill): live bytes and blocks per site come from the last
 * committed counters, and ages and buckets are estimated from each site's
 * timeline. Bytes still live at the end were born no later than the last
 * time the site's live bytes were at or below the level they never fell
 * under again; a site whose average block is at least --large is large.
 */
#ifndef MTRACE_ESTIMATE_H
#define MTRACE_ESTIMATE_H

#include "model.h"

void estimate_end_state(struct model *m);

#endif
