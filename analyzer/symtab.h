/*
 * symtab.h - a module's ELF function symbols sorted by address, for
 * lookups in O(log n). libdwfl's dwfl_module_addrinfo scans the whole
 * symbol table on every call, which made symbolizing a trace of cc1 (tens
 * of thousands of distinct return addresses) take seconds.
 */
#ifndef MTRACE_SYMTAB_H
#define MTRACE_SYMTAB_H

#include <elfutils/libdwfl.h>
#include <stdint.h>

struct symtab;

/* NULL when out of memory; an empty table when the module has none. */
struct symtab *symtab_build(Dwfl_Module *module);

/* The name of the function symbol covering the absolute address pc, or
 * NULL. Names belong to libelf and live as long as the Dwfl. */
const char *symtab_lookup(const struct symtab *table, uint64_t pc);

void symtab_free(struct symtab *table);

#endif
