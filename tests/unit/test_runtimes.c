/* test_runtimes.c - telling the runtimes whose objects the tracer cannot
 * see (runtimes.h): by names, the command line and the PYTHONMALLOC flag. */
#include "suites.h"
#include "runtimes.h"
#include "trace_format.h"

#include <string.h>

START_TEST(test_python_names)
{
    bool v2 = true;
    ck_assert(runtimes_python_name("python3.11", &v2));
    ck_assert(!v2);
    ck_assert(runtimes_python_name("python", &v2));
    ck_assert(runtimes_python_name("python3", &v2));
    ck_assert(runtimes_python_name("python3.11d", &v2));
    ck_assert(runtimes_python_name("libpython3.11.so.1.0", &v2));
    ck_assert(!v2);
    ck_assert(runtimes_python_name("python2.7", &v2));
    ck_assert(v2);
    ck_assert(runtimes_python_name("libpython2.7.so.1.0", &v2));
    ck_assert(v2);
    ck_assert(!runtimes_python_name("python-sort", &v2));
    ck_assert(!runtimes_python_name("pythonista", &v2));
    ck_assert(!runtimes_python_name("ipython", &v2));
    ck_assert(!runtimes_python_name("sort", &v2));
    ck_assert(!runtimes_python_name("", &v2));
}
END_TEST

START_TEST(test_node_names)
{
    ck_assert(runtimes_node_name("node"));
    ck_assert(runtimes_node_name("nodejs"));
    ck_assert(runtimes_node_name("node20"));
    ck_assert(runtimes_node_name("node-20"));
    ck_assert(runtimes_node_name("libnode.so.108"));
    ck_assert(!runtimes_node_name("node-gyp"));
    ck_assert(!runtimes_node_name("nodemon"));
    ck_assert(!runtimes_node_name("node-"));
    ck_assert(!runtimes_node_name("libnodes.so"));
    ck_assert(!runtimes_node_name(""));
}
END_TEST

static bool ignores(const char *const *argv)
{
    char buf[512];
    size_t len = 0;
    for (; *argv; argv++) {
        size_t n = strlen(*argv) + 1;
        memcpy(buf + len, *argv, n);
        len += n;
    }
    return runtimes_python_ignores_env(buf, len);
}

START_TEST(test_python_command_lines)
{
    ck_assert(ignores((const char *[]){ "python3", "-I", "x.py", NULL }));
    ck_assert(ignores((const char *[]){ "python3", "-E", "-c", "1", NULL }));
    ck_assert(ignores((const char *[]){ "python3", "-sE", NULL }));
    ck_assert(ignores((const char *[]){ "python3", "-X", "dev", "-I", NULL }));
    ck_assert(ignores((const char *[]){ "python3", "-W", "error", "-u", "-I",
                                        "x.py", NULL }));
    ck_assert(ignores((const char *[]){ "python3", "--check-hash-based-pycs",
                                        "never", "-I", NULL }));
    ck_assert(!ignores((const char *[]){ "python3", "x.py", "-I", NULL }));
    ck_assert(!ignores((const char *[]){ "python3", "-c", "-I", NULL }));
    ck_assert(!ignores((const char *[]){ "python3", "-cI", NULL }));
    ck_assert(!ignores((const char *[]){ "python3", "-m", "pip", "-I", NULL }));
    ck_assert(!ignores((const char *[]){ "python3", "-XI", "x.py", NULL }));
    ck_assert(!ignores((const char *[]){ "python3", "-W", "I", "x.py", NULL }));
    ck_assert(!ignores((const char *[]){ "python3", "--", "-I", NULL }));
    ck_assert(!ignores((const char *[]){ "python3", "-", "-I", NULL }));
    ck_assert(!ignores((const char *[]){ "python3", NULL }));
    ck_assert(!ignores((const char *[]){ "python3", "-X", NULL }));
    ck_assert(!ignores((const char *[]){ "python3", "--check-hash-based-pycs",
                                         NULL }));
    ck_assert(!ignores((const char *[]){ "python3", "-W", NULL }));
    ck_assert(!runtimes_python_ignores_env(NULL, 0));
    /* An argument cut short, without its NUL. */
    ck_assert(!runtimes_python_ignores_env("python3\0-W", 10));
}
END_TEST

/* A model as the trace loader would leave it: the executable, its command
 * line, one module map. */
static void detect(const char *exe, const char *cmdline, size_t cmdline_len,
                   const char *module, uint32_t flags,
                   struct runtime_heaps *out)
{
    struct sym_module mod = { .path = module };
    struct model_module_map map = { .count = module ? 1 : 0,
                                    .modules = &mod };
    struct model m;
    memset(&m, 0, sizeof m);
    m.has_process = true;
    m.process.flags = flags;
    m.exe = (char *)exe;
    m.cmdline = (char *)cmdline;
    m.cmdline_len = cmdline_len;
    m.maps = &map;
    m.nmaps = 1;
    runtimes_detect(&m, out);
}

START_TEST(test_detect)
{
    struct runtime_heaps h;
    static const char plain[] = "python3\0x.py";
    static const char isolated[] = "python3\0-I\0x.py";

    detect("/usr/bin/python3.11", plain, sizeof plain, NULL, 0, &h);
    ck_assert(h.object_pools && !h.js_heap);
    detect("/usr/bin/python3.11", plain, sizeof plain, NULL,
           MT_PROC_PYTHONMALLOC_MALLOC, &h);
    ck_assert(!h.object_pools);
    /* -I: Python ignores PYTHONMALLOC. */
    detect("/usr/bin/python3.11", isolated, sizeof isolated, NULL,
           MT_PROC_PYTHONMALLOC_MALLOC, &h);
    ck_assert(h.object_pools);
    /* Python 2 has no PYTHONMALLOC. */
    detect("/usr/bin/python2.7", plain, sizeof plain, NULL,
           MT_PROC_PYTHONMALLOC_MALLOC, &h);
    ck_assert(h.object_pools);
    /* An embedder, libpython loaded late: its own command line says
     * nothing to Python. */
    detect("/opt/app/bin/app", "app\0-I", 7,
           "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0", 0, &h);
    ck_assert(h.object_pools);
    detect("/opt/app/bin/app", "app\0-I", 7,
           "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0",
           MT_PROC_PYTHONMALLOC_MALLOC, &h);
    ck_assert(!h.object_pools);
    detect("/usr/bin/node", "node", 5, NULL, 0, &h);
    ck_assert(h.js_heap && !h.object_pools);
    detect("/opt/app/electron-ish", "x", 2, "/opt/app/libnode.so.108", 0, &h);
    ck_assert(h.js_heap);
    detect("/usr/bin/sort", "sort", 5, "/lib/x86_64-linux-gnu/libc.so.6", 0,
           &h);
    ck_assert(!h.js_heap && !h.object_pools);
    detect("/usr/bin/python-sort", "python-sort", 12, NULL, 0, &h);
    ck_assert(!h.object_pools);
}
END_TEST

Suite *runtimes_suite(void)
{
    Suite *s = suite_create("runtimes");
    TCase *tc = tcase_create("runtimes");
    tcase_add_test(tc, test_python_names);
    tcase_add_test(tc, test_node_names);
    tcase_add_test(tc, test_python_command_lines);
    tcase_add_test(tc, test_detect);
    suite_add_tcase(s, tc);
    return s;
}
