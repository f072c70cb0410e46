# mtrace - see README.md. `make`, `make check`, `make demo`, `make install`.

PREFIX ?= /usr/local
BUILD  ?= build
CC     ?= gcc
CXX    ?= g++

# Recursive (=) on purpose: pkg-config runs only after install-deps.sh.
PKGS_PRELOAD  = libunwind
PKGS_ANALYZER = libdw
CFLAGS_BASE   = -std=gnu11 -O2 -g -Wall -Wextra -Werror -MMD -MP \
                -D_GNU_SOURCE -Ipreload -Ianalyzer
PRELOAD_CFLAGS  = $(CFLAGS_BASE) -fPIC -fvisibility=hidden -ftls-model=initial-exec \
                  $(shell pkg-config --cflags $(PKGS_PRELOAD)) $(CFLAGS)
PRELOAD_LIBS    = $(shell pkg-config --libs $(PKGS_PRELOAD)) -ldl -pthread
ANALYZER_CFLAGS = $(CFLAGS_BASE) $(shell pkg-config --cflags $(PKGS_ANALYZER)) $(CFLAGS)
ANALYZER_LIBS   = $(shell pkg-config --libs $(PKGS_ANALYZER)) -lstdc++ -lm
CHECK_CFLAGS    = $(shell pkg-config --cflags check)
CHECK_LIBS      = $(shell pkg-config --libs check)

PRELOAD_SRCS  := $(wildcard preload/*.c)
ANALYZER_SRCS := $(wildcard analyzer/*.c)
ANALYZER_LIB_SRCS := $(filter-out analyzer/main.c,$(ANALYZER_SRCS))
# Preload modules that have no hooks and can be linked into a test program.
PRELOAD_PURE_SRCS := $(filter-out preload/interpose.c preload/lifecycle.c,$(PRELOAD_SRCS))
UNIT_SRCS     := $(wildcard tests/unit/*.c)

PRELOAD_OBJS  := $(PRELOAD_SRCS:%.c=$(BUILD)/obj/%.o)
ANALYZER_OBJS := $(ANALYZER_SRCS:%.c=$(BUILD)/obj/%.o)
ANALYZER_LIB_OBJS := $(ANALYZER_LIB_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_OBJS     := $(UNIT_SRCS:%.c=$(BUILD)/obj/%.o)
# The unit tests link the preload's pure modules as ordinary objects.
UNIT_PRELOAD_OBJS := $(PRELOAD_PURE_SRCS:%.c=$(BUILD)/obj/unit/%.o)

DEPS_STAMP := $(BUILD)/.deps-ok

.PHONY: all check unit e2e demo install clean deps bench
all: $(BUILD)/libmtrace.so $(BUILD)/mtrace-analyze

deps: $(DEPS_STAMP)
$(DEPS_STAMP): scripts/install-deps.sh
	@mkdir -p $(BUILD)
	@scripts/install-deps.sh
	@touch $@

$(BUILD)/obj/preload/%.o: preload/%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(PRELOAD_CFLAGS) -c $< -o $@

$(BUILD)/obj/unit/preload/%.o: preload/%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(PRELOAD_CFLAGS) -c $< -o $@

$(BUILD)/obj/analyzer/%.o: analyzer/%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ANALYZER_CFLAGS) -c $< -o $@

$(BUILD)/obj/tests/unit/%.o: tests/unit/%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ANALYZER_CFLAGS) $(CHECK_CFLAGS) -c $< -o $@

$(BUILD)/libmtrace.so: $(PRELOAD_OBJS)
	$(CC) -shared -o $@ $^ $(PRELOAD_LIBS) -Wl,-z,now -Wl,--version-script=preload/exports.map

$(BUILD)/mtrace-analyze: $(ANALYZER_OBJS)
	$(CC) -o $@ $^ $(ANALYZER_LIBS)

$(BUILD)/unit-tests: $(UNIT_OBJS) $(ANALYZER_LIB_OBJS) $(UNIT_PRELOAD_OBJS)
	$(CC) -o $@ $^ $(ANALYZER_LIBS) $(PRELOAD_LIBS) $(CHECK_LIBS)

unit: $(BUILD)/unit-tests all
	$(BUILD)/unit-tests

e2e: all
	tests/e2e/run.sh $(BUILD)

check: unit e2e

demo: all
	@tests/e2e/demo.sh $(BUILD)

# Speed and memory against native and heaptrack; QUICK=1 for a short run.
bench: all
	@MTRACE_EXTRA_PACKAGES=heaptrack scripts/install-deps.sh
	scripts/bench.py --build $(BUILD) $(if $(QUICK),--quick)

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/libmtrace.so $(DESTDIR)$(PREFIX)/lib/libmtrace.so
	install -m 0755 $(BUILD)/mtrace-analyze $(DESTDIR)$(PREFIX)/bin/mtrace-analyze
	install -m 0755 scripts/mtrace-run $(DESTDIR)$(PREFIX)/bin/mtrace-run

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
