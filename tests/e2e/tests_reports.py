"""The reports people look at: the HTML page (well-formed, self-contained,
carrying the known program's data, its script running in a real browser)
and the collapsed stacks checked against the JSON totals."""
import html.parser
import json
import os
import shutil
import subprocess
import sys
import tempfile

from e2e_lib import (ANALYZE, BIN, ROOT, Run, analyze, check, compile_prog,
                     eq, test)

TICKS = 20
TICK_BYTES = 64 * 1024
# The page is kept under build/ for people to look at; never committed.
PAGE = os.path.join(BIN, "report.html")
SCREENSHOT = os.path.join(BIN, "report.png")
CHROMIUM = "/usr/bin/chromium"
# Elements HTML defines without an end tag.
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link",
        "meta", "source", "track", "wbr"}
# Attributes through which a page would fetch or link to something.
URL_ATTRS = {"src", "href", "xlink:href", "action", "formaction", "poster",
             "data", "srcset", "background"}


class Page(html.parser.HTMLParser):
    """The page's tags, checked for being closed in order, with their
    attributes and text, and the embedded data."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.open = []
        self.errors = []
        self.tags = []              # (tag, attrs dict, path of open tags)
        self.text_by_id = {}
        self.data = None
        self.feed(text)
        self.close()
        if self.open:
            self.errors.append("never closed: %s" % self.open)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs), list(self.open)))
        if tag not in VOID:
            self.open.append((tag, dict(attrs).get("id")))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs), list(self.open)))

    def handle_endtag(self, tag):
        if not self.open or self.open[-1][0] != tag:
            self.errors.append("</%s> closes %s" %
                               (tag, self.open[-1] if self.open else "nothing"))
            return
        self.open.pop()

    def handle_data(self, data):
        for _, element_id in self.open:
            if element_id:
                self.text_by_id[element_id] = (
                    self.text_by_id.get(element_id, "") + data)

    def find(self, tag, **attrs):
        return [a for t, a, _ in self.tags if t == tag and
                all(a.get(k.replace("_", "-")) == v
                    for k, v in attrs.items())]


_cache = {}


def interval_leak_page():
    """interval_leak run once (from a directory whose name is hostile
    markup and not UTF-8, so that the program's path tests the escaping),
    with its JSON report and its HTML page (at PAGE)."""
    if _cache:
        return _cache
    prog = compile_prog("interval_leak")
    hostile = tempfile.mkdtemp(prefix="mtrace-html-").encode()
    hostile = os.path.join(hostile, b"<", b"script><img src=x onerror="
                           b"alert(1)>&'\"\xff")
    os.makedirs(hostile)
    copy = os.path.join(hostile, b"interval_leak")
    shutil.copy(prog, copy)
    run = Run([copy, str(TICKS)])
    try:
        eq(run.status, 0, "exit status")
        trace = run.only_trace()
        report, _ = analyze(trace)
        p = subprocess.run([ANALYZE, "--format", "html", "-o", PAGE, trace],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        eq(p.returncode, 0, "mtrace-analyze --format html exit status: %s" %
           p.stderr.decode()[-300:])
        collapsed = {}
        for cost in ("live", "allocs"):
            out = subprocess.run([ANALYZE, "--format", "collapsed", "--cost",
                                  cost, trace], stdout=subprocess.PIPE,
                                 check=True)
            collapsed[cost] = out.stdout.decode()
    finally:
        run.cleanup()
        shutil.rmtree(os.path.dirname(os.path.dirname(hostile)))
    with open(PAGE, encoding="utf-8") as f:
        _cache.update(report=report, page=f.read(), collapsed=collapsed)
    return _cache


def tick_site(report):
    found = [s for s in report["sites"]
             if s["frames"] and s["frames"][0]["function"] == "tick"]
    eq(len(found), 1, "sites allocating in tick")
    return found[0]


@test
def html_report_well_formed_and_complete():
    got = interval_leak_page()
    report, text = got["report"], got["page"]
    page = Page(text)
    eq(page.errors, [], "tags closed in order")
    check(len(text) < 300 * 1024, "page under 300 KB (%d bytes)" % len(text))
    # Self-contained: nothing to fetch, no script or style from elsewhere.
    check("http://" not in text and "https://" not in text,
          "no http(s) URL anywhere in the page")
    for tag, attrs, _ in page.tags:
        for name, value in attrs.items():
            if name in URL_ATTRS:
                check(value is not None and value.startswith("#"),
                      "<%s %s=%r> points outside the page" %
                      (tag, name, value))
        check(tag not in ("link", "iframe", "object", "embed", "img"),
              "no <%s> element" % tag)
    # The hostile program path is text everywhere, never markup.
    eq(page.find("img"), [], "the path's <img> stays text")
    eq(page.text_by_id.get("mtrace-data") is not None, True, "data element")
    data = json.loads(page.text_by_id["mtrace-data"])
    eq(data["program"], report["program"], "program in the page's data")
    check(data["program"].endswith("\ufffd/interval_leak") and
          "</script>" not in page.text_by_id["mtrace-data"].replace(
              "\\u003c", "?"), "program path kept, escaped")
    h1 = [a for t, a, _ in page.tags if t == "h1"]
    eq(len(h1), 1, "one heading")
    check(report["program"] in text.replace("&lt;", "<").replace(
        "&gt;", ">").replace("&amp;", "&").replace("&#39;", "'").replace(
        "&quot;", '"'), "program path shown as text")
    # The known program's data: the tick site, a leak of TICKS buffers.
    tick = tick_site(report)
    eq(tick["verdict"], "leak", "JSON: tick is a leak")
    eq(tick["live_bytes"], TICKS * TICK_BYTES, "JSON: tick's live bytes")
    sites = {s["id"]: s for s in data["sites"]}
    check(tick["id"] in sites, "tick's site #%d in the page" % tick["id"])
    mine = sites[tick["id"]]
    eq((mine["function"], mine["verdict"], mine["live_bytes"],
        mine["allocs"]), ("tick", "leak", TICKS * TICK_BYTES, TICKS),
       "tick's site in the page's data")
    check(mine.get("timeline"), "tick's own timeline is charted")
    eq(mine["timeline"][-1][1], TICKS * TICK_BYTES, "its last point")
    check(all(a[1] <= b[1] for a, b in zip(mine["timeline"],
                                           mine["timeline"][1:])),
          "tick's timeline only grows")
    eq(data["totals"]["live_bytes"], report["totals"]["live_bytes"],
       "totals")
    eq(data["totals"]["allocs"], report["totals"]["allocs"], "allocs")
    eq(len(data["sites"]), len(report["sites"]), "every site in the table")
    # Drawn: the timeline, tick's chart marked as a leak, its table row,
    # its frame in the flame graph outlined as a leak's.
    check(page.find("svg", id="timeline-chart"), "timeline chart")
    figure = page.find("figure", data_site=str(tick["id"]))
    eq(len(figure), 1, "tick's own chart")
    check("leak" in figure[0]["class"].split(), "tick's chart is a leak's")
    row = page.find("tr", id="site-%d" % tick["id"])
    eq(len(row), 1, "tick's table row")
    eq(row[0]["class"], "leak", "tick's row is a leak's")
    eq(page.find("a", href="#site-%d" % tick["id"]) != [], True,
       "the chart links to the row")
    check('<g class="fr leak"' in text and "<title>tick\n" in text,
          "tick in the flame graph, outlined as a leak")
    # The flame graph is drawn from --format collapsed's stacks: the frames
    # of every stack wide enough to see (1%) are there.
    stacks = [line.rsplit(" ", 1)
              for line in got["collapsed"]["live"].splitlines()]
    for stack, value in stacks:
        if int(value) * 100 < report["totals"]["live_bytes"]:
            continue
        for frame in stack.split(";"):
            check("<title>%s\n" % frame in text,
                  "frame %r in the flame graph" % frame)
    for figure_name in ("duration", "peak RSS", "peak live heap",
                        "live at exit", "allocations", "frees",
                        "bytes allocated"):
        check("<dt>%s</dt>" % figure_name in text,
              "header figure %r" % figure_name)
    eq(page.find("p", id="truncated"), [], "no truncation warning")
    for key in ("live_bytes", "allocs", "growth_bytes_per_s"):
        eq(len(page.find("th", data_key=key)), 1, "sortable by " + key)


def chromium_or_skip():
    """The browser's path, installed when missing; None (after a SKIP
    line) when that is impossible here."""
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    if os.geteuid() != 0:
        print("SKIP html_report_in_chromium: chromium is not installed and "
              "installing it needs root (apt-get install chromium)")
        return None
    print("html_report_in_chromium: installing chromium (a minute or so)")
    sys.stdout.flush()
    p = subprocess.run([os.path.join(ROOT, "scripts", "install-deps.sh")],
                       env=dict(os.environ, MTRACE_EXTRA_PACKAGES="chromium"),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if p.returncode != 0 or not os.path.exists(CHROMIUM):
        print("SKIP html_report_in_chromium: chromium could not be installed "
              "(no network?): %s" % p.stdout.decode()[-300:].strip())
        return None
    return CHROMIUM


def chromium(browser, *args):
    profile = tempfile.mkdtemp(prefix="mtrace-chromium-")
    try:
        p = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--no-first-run", "--user-data-dir=" + profile,
             "--enable-logging=stderr", "--v=0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    stderr = p.stderr.decode(errors="replace")
    eq(p.returncode, 0, "chromium exit status: %s" % stderr[-500:])
    errors = [line for line in stderr.splitlines() if "Uncaught" in line]
    eq(errors, [], "script errors in the console")
    return p.stdout.decode(errors="replace")


@test
def html_report_in_chromium():
    browser = chromium_or_skip()
    if not browser:
        return
    got = interval_leak_page()
    url = "file://" + PAGE
    dom = chromium(browser, "--dump-dom", url + "#selftest=tick")
    page = Page(dom)
    body = page.find("body")
    eq(len(body), 1, "one body")
    eq(body[0].get("data-script"), "ran", "the page's script ran")
    # The self-test clicked the allocations header: the rows' order must be
    # the table's first order (by live bytes) sorted by allocations, the
    # largest first, ties kept in order.
    table_order = [int(a["data-id"]) for t, a, _ in Page(got["page"]).tags
                   if t == "tr" and "data-id" in a]
    allocs = {s["id"]: s["allocs"] for s in got["report"]["sites"]}
    expected = sorted(table_order, key=lambda i: -allocs[i])
    result = page.text_by_id.get("selftest-result", "").strip().split("\n")
    eq(len(result), 3, "self-test lines %r" % result)
    eq(result[0], "allocs: " + " ".join(map(str, expected)),
       "table sorted by allocations in the browser")
    check(expected != table_order, "the sort changed the order")
    # A click on tick's frame zoomed the flame graph: tick spans the whole
    # width, and a frame outside its stack (load_config) is hidden.
    eq(result[1], "zoomed: tick x=0.0 width=1200.0", "flame graph zoom")
    check(result[2].startswith("hidden frames: ") and
          int(result[2].split(": ")[1]) > 0, result[2])
    check('<g class="fr" style="display: none;"><title>load_config' in dom,
          "load_config hidden by the zoom")
    if os.path.exists(SCREENSHOT):
        os.unlink(SCREENSHOT)
    chromium(browser, "--screenshot=" + SCREENSHOT, "--window-size=1280,2000",
             url)
    with open(SCREENSHOT, "rb") as f:
        png = f.read()
    check(png.startswith(b"\x89PNG") and len(png) > 20000,
          "screenshot %s written (%d bytes)" % (SCREENSHOT, len(png)))


@test
def collapsed_sums_to_json_totals():
    got = interval_leak_page()
    totals = got["report"]["totals"]
    for cost, key in (("live", "live_bytes"), ("allocs", "allocs")):
        lines = got["collapsed"][cost].splitlines()
        check(lines, "collapsed --cost %s has stacks" % cost)
        total = 0
        for line in lines:
            stack, value = line.rsplit(" ", 1)
            check(stack and int(value) > 0, "line %r" % line)
            total += int(value)
        eq(total, totals[key], "collapsed --cost %s sums to totals.%s" %
           (cost, key))
    tick_lines = [line for line in got["collapsed"]["live"].splitlines()
                  if line.rsplit(" ", 1)[0].split(";")[-1] == "tick"]
    eq([int(line.rsplit(" ", 1)[1]) for line in tick_lines],
       [TICKS * TICK_BYTES], "tick's stack ends in tick with its live bytes")


@test
def html_format_on_the_command_line():
    p = subprocess.run([ANALYZE, "--help"], stdout=subprocess.PIPE,
                       check=True)
    check(b"html" in p.stdout.split(b"--format FORMAT", 1)[1].split(
        b"\n  -o", 1)[0], "--help lists --format html")
    p = subprocess.run([ANALYZE, "--format", "htm", "x.trace"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    eq((p.returncode, p.stderr.decode()),
       (2, "mtrace-analyze: unknown --format 'htm' (use text, json, html "
           "or collapsed)\n"), "a wrong format")


@test
def diff_matches_sites_by_stack_across_builds():
    prog = compile_prog("interval_leak")
    # The same source built differently: every address moves.
    other = os.path.join(os.path.dirname(prog), "interval_leak_O0")
    subprocess.run(["gcc", "-O0", "-g", "-o", other,
                    os.path.join(os.path.dirname(__file__), "progs",
                                 "interval_leak.c")], check=True)
    before = Run([prog, "10"])
    after = Run([other, "30"])
    try:
        out = subprocess.run([ANALYZE, "--diff", "--format", "json",
                              before.only_trace(), after.only_trace()],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        eq(out.returncode, 0, "exit status: %s" % out.stderr.decode())
        diff = json.loads(out.stdout)
        by_top = {}
        for s in diff["sites"]:
            if s["frames"]:
                by_top.setdefault(s["frames"][0]["function"], []).append(s)
        tick = by_top["tick"]
        eq(len(tick), 1, "tick matched across builds, not split in two")
        eq((tick[0]["before"]["live_blocks"], tick[0]["after"]["live_blocks"]),
           (10, 30), "tick's blocks")
        eq(tick[0]["delta_live_bytes"], 20 * 64 * 1024, "tick grew by 20 buffers")
        eq(diff["sites"][0]["frames"][0]["function"], "tick", "largest change first")
        cache = by_top["cache_put"]
        eq(cache[0]["delta_live_bytes"], 20 * 4096, "cache entries")
        config = by_top["load_config"]
        eq(config[0]["delta_live_bytes"], 0, "start-up data unchanged")
        text = subprocess.run([ANALYZE, "--diff", before.only_trace(),
                               after.only_trace()], stdout=subprocess.PIPE,
                              check=True).stdout.decode()
        check("+1.2 MiB  live 640.0 KiB -> 1.9 MiB, blocks 10 -> 30" in text,
              "text row for tick: %r" % text[:400])
        bad = subprocess.run([ANALYZE, "--diff", before.only_trace()],
                             stderr=subprocess.PIPE)
        eq(bad.returncode, 2, "one file is a usage error")
    finally:
        before.cleanup()
        after.cleanup()


def remove_kept_traces(stderr):
    """mtrace-run keeps its traces in a temporary directory it names."""
    for line in stderr.decode(errors="replace").splitlines():
        if line.startswith("mtrace-run: traces kept in "):
            shutil.rmtree(line.rsplit(" ", 1)[1], ignore_errors=True)


@test
def mtrace_run_reports_and_keeps_the_exit_status():
    prog = compile_prog("fork_exec")
    run_script = os.path.join(ROOT, "scripts", "mtrace-run")
    out = subprocess.run([run_script, "--top", "2", "--", prog],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         timeout=120)
    eq(out.returncode, 0, "the program's status")
    stdout = out.stdout.decode()
    check("parent" in stdout and "fork child" in stdout,
          "the program's own output on stdout: %r" % stdout)
    check("mtrace report" not in stdout, "reports stay off stdout")
    remove_kept_traces(out.stderr)
    stderr = out.stderr.decode()
    eq(stderr.count("mtrace report: "), 3,
       "a report for the parent, the fork child and the exec'd child")
    check("parent_keeps" in stderr, "the parent's site")
    for argv, status in ((["sh", "-c", "exit 3"], 3),
                         (["sh", "-c", "kill -9 $$"], 128 + 9)):
        out = subprocess.run([run_script, "--"] + argv, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, timeout=60)
        remove_kept_traces(out.stderr)
        eq(out.returncode, status, "status of %r" % argv)
    bad = subprocess.run([run_script, "--top", "2"], stderr=subprocess.PIPE)
    eq(bad.returncode, 2, "no program is a usage error")


@test
def make_install_gives_a_working_prefix():
    prefix = tempfile.mkdtemp(prefix="mtrace-prefix-")
    try:
        subprocess.run(["make", "-s", "-C", ROOT, "install", "PREFIX=" + prefix,
                        "BUILD=" + os.path.relpath(os.path.dirname(ANALYZE),
                                                   ROOT)],
                       stdout=subprocess.PIPE, check=True)
        for path in ("lib/libmtrace.so", "bin/mtrace-analyze",
                     "bin/mtrace-run"):
            check(os.path.isfile(os.path.join(prefix, path)), path)
        prog = compile_prog("entry_points")
        out = subprocess.run([os.path.join(prefix, "bin", "mtrace-run"),
                              "--format", "json", "--", prog],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             timeout=60)
        eq((out.returncode, out.stdout), (0, b"kept 25 blocks\n"),
           "the installed wrapper runs the program")
        report = json.loads(out.stderr.decode().split("mtrace-run:")[0])
        check(any(s["frames"] and s["frames"][0]["function"] == "use_malloc"
                  for s in report["sites"]),
              "the installed library traced it")
        remove_kept_traces(out.stderr)
    finally:
        shutil.rmtree(prefix, ignore_errors=True)


PYTHON = "/usr/bin/python3"
# 50,000 small objects kept: pymalloc serves them all from its pools.
PYTHON_SMALL_OBJECTS = ("keep = [(i, str(i)) for i in range(50000)]; "
                        "print(len(keep))")
POOLS_NOTE = "NOTE: Python kept its objects in pools of its own"


def reports(argv, env):
    """The JSON, text and HTML reports of argv run traced with env, and
    what it printed."""
    run = Run(argv, env=env)
    try:
        eq(run.status, 0, "%s ran: %s" % (argv[0], run.stderr[-300:]))
        trace = run.only_trace()
        report, _ = analyze(trace)
        text = subprocess.run([ANALYZE, trace], stdout=subprocess.PIPE,
                              check=True).stdout.decode()
        page = subprocess.run([ANALYZE, "--format", "html", trace],
                              stdout=subprocess.PIPE,
                              check=True).stdout.decode()
        return report, text, page, run.stdout
    finally:
        run.cleanup()


def check_pools_named(argv, env, named):
    """argv run with env: its report says Python kept its pools (named) or
    not, with the allocation counts that go with it."""
    report, text, page, out = reports(argv, env)
    what = "%s with %r" % (" ".join(argv[:2]), env)
    eq(out, b"50000\n", "output of " + what)
    eq((report["object_pools"], report["js_heap"]), (named, False),
       "object_pools, js_heap of " + what)
    allocs = report["totals"]["allocs"]
    if named:
        check(allocs < 20000, "pymalloc's objects unseen, %s: %d "
              "allocations" % (what, allocs))
        check(POOLS_NOTE in text and "PYTHONMALLOC=malloc" in text,
              "text report of %s names pymalloc: %s" % (what, text[:800]))
        check('id="object-pools"' in page, "HTML report of %s names "
              "pymalloc" % what)
    else:
        check(allocs >= 100000, "every object seen, %s: %d allocations" %
              (what, allocs))
        check(POOLS_NOTE not in text and 'id="object-pools"' not in page,
              "no pymalloc note for " + what)


@test
def python_object_pools_are_named():
    """CPython's pymalloc hides every object of up to 512 bytes in pools
    it maps itself: the report says so and how to see them, unless
    PYTHONMALLOC sent them to malloc and Python heeded it."""
    argv = [PYTHON, "-c", PYTHON_SMALL_OBJECTS]
    for pythonmalloc in ("", "pymalloc", "pymalloc_debug"):
        check_pools_named(argv, {"PYTHONMALLOC": pythonmalloc}, True)
    check_pools_named(argv, {"PYTHONMALLOC": "malloc"}, False)
    # -I (and -E): Python ignores PYTHONMALLOC.
    check_pools_named([PYTHON, "-I", "-c", PYTHON_SMALL_OBJECTS],
                      {"PYTHONMALLOC": "malloc"}, True)
    report, text, page, _ = reports(["sort", "-r", "/etc/services"], {})
    eq((report["object_pools"], report["js_heap"]), (False, False),
       "object_pools, js_heap of sort")
    check("NOTE" not in text and 'id="object-pools"' not in page and
          'id="js-heap"' not in page, "no note on sort's report")


@test
def python_loaded_late_is_named():
    """A program that dlopen()s libpython (PyInstaller's bootloader,
    uwsgi) is not Python by its name: the libraries the trace saw loaded
    tell."""
    prog = compile_prog("embed_python", ["-ldl"])
    check_pools_named([prog], {"PYTHONMALLOC": ""}, True)
    check_pools_named([prog], {"PYTHONMALLOC": "malloc"}, False)


@test
def node_js_heap_is_named():
    """Node.js keeps JavaScript's objects in V8's heap: without
    MTRACE_MMAP the report says they are missing and how to count them."""
    if not shutil.which("node"):
        raise Failure("node is not installed")
    hint = "MTRACE_MMAP=1"
    argv = ["node", "-e", "const a = []; for (let i = 0; i < 100000; i++) "
            "a.push({i}); console.log(a.length)"]
    report, text, page, out = reports(argv, {})
    eq(out, b"100000\n", "node's output")
    eq((report["js_heap"], report["object_pools"], report["mmap_traced"]),
       (True, False, False), "js_heap, object_pools, mmap_traced")
    check("NOTE: Node.js keeps JavaScript's objects" in text and hint in text,
          "text report names V8's heap: %s" % text[:800])
    check('id="js-heap"' in page, "HTML report names V8's heap")
    report, text, page, _ = reports(argv, {"MTRACE_MMAP": "1"})
    eq((report["js_heap"], report["mmap_traced"]), (True, True),
       "js_heap, mmap_traced with MTRACE_MMAP=1")
    check("Node.js keeps" not in text and 'id="js-heap"' not in page,
          "no V8 note when its pages are counted")
