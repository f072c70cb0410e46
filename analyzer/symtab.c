/* symtab.c - see symtab.h. */
#include "symtab.h"

#include <stdlib.h>

struct symbol {
    uint64_t start, end;         /* end == start: size unknown */
    const char *name;
    int rank;                    /* among aliases: global, weak, local */
};

struct symtab {
    struct symbol *symbols;      /* by start */
    size_t count;
};

static int compare_start(const void *a, const void *b)
{
    const struct symbol *left = a, *right = b;
    if (left->start != right->start)
        return left->start < right->start ? -1 : 1;
    /* Same address: the sized symbol first, then the public name (an
     * alias such as __libc_start_main_alias_2 is local), so it wins. */
    if ((left->end > left->start) != (right->end > right->start))
        return left->end > left->start ? -1 : 1;
    return left->rank - right->rank;
}

struct symtab *symtab_build(Dwfl_Module *module)
{
    struct symtab *table = calloc(1, sizeof *table);
    int n = dwfl_module_getsymtab(module);

    if (!table)
        return NULL;
    if (n <= 0)
        return table;
    table->symbols = calloc((size_t)n, sizeof *table->symbols);
    if (!table->symbols) {
        free(table);
        return NULL;
    }
    for (int i = 1; i < n; i++) {
        GElf_Sym sym;
        GElf_Addr addr;
        const char *name = dwfl_module_getsym_info(module, i, &sym, &addr,
                                                   NULL, NULL, NULL);
        int type = GELF_ST_TYPE(sym.st_info);
        if (!name || !*name || sym.st_shndx == SHN_UNDEF ||
            (type != STT_FUNC && type != STT_GNU_IFUNC))
            continue;
        table->symbols[table->count].start = addr;
        table->symbols[table->count].end = addr + sym.st_size;
        table->symbols[table->count].name = name;
        table->symbols[table->count].rank =
            GELF_ST_BIND(sym.st_info) == STB_GLOBAL ? 0
            : GELF_ST_BIND(sym.st_info) == STB_WEAK ? 1 : 2;
        table->count++;
    }
    qsort(table->symbols, table->count, sizeof *table->symbols,
          compare_start);
    return table;
}

const char *symtab_lookup(const struct symtab *table, uint64_t pc)
{
    size_t low = 0, high = table->count;
    const struct symbol *found;

    /* The last symbol starting at or below pc. */
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        if (table->symbols[mid].start <= pc)
            low = mid + 1;
        else
            high = mid;
    }
    if (low == 0)
        return NULL;
    found = &table->symbols[low - 1];
    /* Aliases share a start; walk back to the first (sized) one. */
    while (found > table->symbols && found[-1].start == found->start)
        found--;
    if (found->end > found->start)
        return pc < found->end ? found->name : NULL;
    /* No size recorded: good until the next symbol. */
    return found + 1 < table->symbols + table->count &&
                   pc >= found[1].start ? NULL : found->name;
}

void symtab_free(struct symtab *table)
{
    if (!table)
        return;
    free(table->symbols);
    free(table);
}
