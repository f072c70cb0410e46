/* runtimes.c - see runtimes.h. */
#include "runtimes.h"

#include <ctype.h>
#include <string.h>

#include "stacks.h"
#include "trace_format.h"

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool runtimes_python_name(const char *name, bool *v2)
{
    const char *rest;
    if (starts_with(name, "libpython"))
        rest = name + strlen("libpython");
    else if (starts_with(name, "python"))
        rest = name + strlen("python");
    else
        return false;
    /* "python" alone or with a version (python3.11, libpython3.11.so.1.0):
     * not python-sort, not pythonista. */
    if (*rest && !isdigit((unsigned char)*rest) && rest[0] != '.')
        return false;
    *v2 = rest[0] == '2';
    return true;
}

bool runtimes_node_name(const char *name)
{
    if (starts_with(name, "libnode.so"))
        return true;
    if (strcmp(name, "nodejs") == 0)
        return true;
    if (!starts_with(name, "node"))
        return false;
    name += strlen("node");
    if (*name == '-')
        name++;
    else if (!*name)
        return true;
    return isdigit((unsigned char)*name);
}

/* The argument after arg, or end: never past it, whatever the last one
 * lacks (its NUL), and end again from end, which ends the loop below. */
static const char *next_arg(const char *arg, const char *end)
{
    size_t n = strnlen(arg, (size_t)(end - arg));
    return n < (size_t)(end - arg) ? arg + n + 1 : end;
}

bool runtimes_python_ignores_env(const char *cmdline, size_t len)
{
    const char *end = cmdline + len, *arg;

    if (!cmdline || !len)
        return false;
    /* argv[0], then options until the script, "-", "--" or -c/-m. */
    for (arg = next_arg(cmdline, end); arg < end; arg = next_arg(arg, end)) {
        if (arg[0] != '-' || !arg[1] || strcmp(arg, "--") == 0)
            return false;
        if (arg[1] == '-') {
            /* The one long option that takes a value as the next one. */
            if (strcmp(arg, "--check-hash-based-pycs") == 0)
                arg = next_arg(arg, end);
            continue;
        }
        for (const char *c = arg + 1; *c; c++) {
            if (*c == 'E' || *c == 'I')
                return true;
            if (*c == 'c' || *c == 'm')
                return false;
            if (*c == 'W' || *c == 'X') {
                /* Its value: the rest of this one, or the next. */
                if (!c[1])
                    arg = next_arg(arg, end);
                break;
            }
        }
    }
    return false;
}

static void note_name(const char *path, bool *python, bool *python2,
                      bool *node)
{
    const char *name = stacks_basename(path);
    bool v2 = false;
    if (runtimes_python_name(name, &v2)) {
        *python = true;
        *python2 |= v2;
    }
    *node |= runtimes_node_name(name);
}

void runtimes_detect(const struct model *m, struct runtime_heaps *out)
{
    bool python = false, python2 = false, node = false, exe_python = false,
         exe_python2 = false, malloc_asked;

    memset(out, 0, sizeof *out);
    if (!m->has_process)
        return;
    if (m->exe) {
        note_name(m->exe, &exe_python, &exe_python2, &node);
        python = exe_python;
        python2 = exe_python2;
    }
    for (size_t i = 0; i < m->nmaps; i++)
        for (size_t j = 0; j < m->maps[i].count; j++)
            if (m->maps[i].modules[j].path)
                note_name(m->maps[i].modules[j].path, &python, &python2,
                          &node);
    malloc_asked = (m->process.flags & MT_PROC_PYTHONMALLOC_MALLOC) &&
                   !python2 &&
                   !(exe_python && runtimes_python_ignores_env(
                                       m->cmdline, m->cmdline_len));
    out->object_pools = python && !malloc_asked;
    out->js_heap = node;
}
