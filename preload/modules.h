/*
 * modules.h - the module map (every loaded ELF object: path, load bias,
 * address range, build-id, file identity), so that the analyzer can
 * symbolize addresses offline. Rewritten whenever dlopen/dlclose change it.
 */
#ifndef MTRACE_MODULES_H
#define MTRACE_MODULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spinlock.h"

/* The executable's path, for the main program's nameless entry. */
void modules_init(const char *exe_path);

/* After a dlclose: if it unloaded an object, the unwinder's rules and
 * cached chains go (other code may be mapped there next); a dlclose that
 * only dropped a reference keeps them. */
void modules_after_dlclose(void);

/* Whether objects were loaded or unloaded since the last modules_write;
 * lets go of the unwinder's rules on an unload our dlclose did not see. */
bool modules_changed(void);

/* Appends a MODULES record to the writer's buffer: 0 or -1. */
int modules_write(void);

/* Whether every frame lies in a module of the last map built: a new site
 * outside them comes from a library loaded since, which may be gone by
 * the next snapshot. Lock-free; rare callers (new sites only). */
bool modules_cover(const uintptr_t *frames, size_t n);

/* Captures the module map now; the next snapshot writes it before its
 * own. Takes no tracer lock while the loader's lock is held. */
void modules_capture(void);

/* Guards the captured map; taken around fork by lifecycle.c. */
extern spinlock_t modules_pending_lock;

/* A new file needs the map again even if nothing changed. */
void modules_forget_written(void);

#endif
