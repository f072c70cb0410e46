# mtrace - see README.md. `make`, `make check`, `make demo`, `make install`,
# `make fuzz` (FUZZ_SECONDS=600 by default).

PREFIX ?= /usr/local
BUILD  ?= build
CC     ?= gcc
CXX    ?= g++

# Recursive (=) on purpose: pkg-config runs only after install-deps.sh.
PKGS_PRELOAD  = libunwind
PKGS_ANALYZER = libdw
CFLAGS_BASE   = -std=gnu11 -O2 -g -Wall -Wextra -Werror -MMD -MP \
                -D_GNU_SOURCE -Ipreload -Ianalyzer
PRELOAD_CFLAGS  = $(CFLAGS_BASE) -fPIC -fno-plt -fvisibility=hidden -ftls-model=initial-exec \
                  $(shell pkg-config --cflags $(PKGS_PRELOAD)) $(CFLAGS)
# Link-time optimisation for the library only: the allocation path crosses
# interpose.c, record.c, stack_cache.c and live.c, and inlining across them
# cut the tracer's instructions a malloc/free pair by about 7% (callgrind).
PRELOAD_LTO     = -flto=auto
PRELOAD_LIBS    = $(shell pkg-config --libs $(PKGS_PRELOAD)) -ldl -pthread
ANALYZER_CFLAGS = $(CFLAGS_BASE) $(shell pkg-config --cflags $(PKGS_ANALYZER)) $(CFLAGS)
ANALYZER_LIBS   = $(shell pkg-config --libs $(PKGS_ANALYZER)) -lstdc++ -lm
CHECK_CFLAGS    = $(shell pkg-config --cflags check)
CHECK_LIBS      = $(shell pkg-config --libs check)

PRELOAD_SRCS  := $(wildcard preload/*.c)
ANALYZER_SRCS := $(wildcard analyzer/*.c)
ANALYZER_LIB_SRCS := $(filter-out analyzer/main.c,$(ANALYZER_SRCS))
# Preload modules that have no hooks and can be linked into a test program.
PRELOAD_PURE_SRCS := $(filter-out preload/interpose.c preload/cxx_new.c \
                     preload/cxx_next.c preload/mmap_interpose.c \
                     preload/lifecycle.c preload/exit_status.c \
                     preload/thread_create.c,$(PRELOAD_SRCS))
UNIT_SRCS     := $(wildcard tests/unit/*.c)

PRELOAD_OBJS  := $(PRELOAD_SRCS:%.c=$(BUILD)/obj/%.o)
ANALYZER_OBJS := $(ANALYZER_SRCS:%.c=$(BUILD)/obj/%.o)
ANALYZER_LIB_OBJS := $(ANALYZER_LIB_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_OBJS     := $(UNIT_SRCS:%.c=$(BUILD)/obj/%.o)
# The unit tests link the preload's pure modules as ordinary objects.
UNIT_PRELOAD_OBJS := $(PRELOAD_PURE_SRCS:%.c=$(BUILD)/obj/unit/%.o)

DEPS_STAMP := $(BUILD)/.deps-ok

# Sanitizer builds of the analyzer and the unit tests, each in its own
# directory under $(BUILD): ASan+UBSan for everything, TSan for the suites
# that run threads. Any report aborts (no recovery), so a test run fails.
# GCC leaves float-cast-overflow out of "undefined"; a double cast to an
# integer it does not fit is exactly what damaged traces cause.
ASAN_FLAGS := -fsanitize=address,undefined,float-cast-overflow \
              -fno-omit-frame-pointer -fno-sanitize-recover=all
TSAN_FLAGS := -fsanitize=thread
TSAN_SUITES := sites unwind live chain_memo nursery
# The fuzzer needs clang's libFuzzer (package libclang-rt-dev).
FUZZ_CC    ?= clang
FUZZ_FLAGS := -fsanitize=fuzzer-no-link,address,undefined \
              -fno-omit-frame-pointer -fno-sanitize-recover=all
FUZZ_SECONDS ?= 600
FUZZ_CHECK_SECONDS ?= 60
FUZZ_DIR   := $(BUILD)/fuzz
# End-to-end programs whose traces seed the fuzzer; interval_leak also
# feeds the unit test that runs mtrace-analyze on damaged traces.
SEED_PROGS := $(addprefix $(BUILD)/progs/,interval_leak lost_blocks \
                mmap_anon dl_host endings stack_reuse libdl_plugin.so)

.PHONY: all check unit e2e demo install clean deps bench bench-instr \
        sanitize asan-unit tsan-unit fuzz fuzz-build
all: $(BUILD)/libmtrace.so $(BUILD)/mtrace-analyze

deps: $(DEPS_STAMP)
$(DEPS_STAMP): scripts/install-deps.sh
	@mkdir -p $(BUILD)
	@scripts/install-deps.sh
	@touch $@

$(BUILD)/obj/preload/%.o: preload/%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(PRELOAD_CFLAGS) $(PRELOAD_LTO) -c $< -o $@

$(BUILD)/obj/unit/preload/%.o: preload/%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(PRELOAD_CFLAGS) -c $< -o $@

$(BUILD)/obj/analyzer/%.o: analyzer/%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ANALYZER_CFLAGS) -c $< -o $@

$(BUILD)/obj/tests/unit/%.o: tests/unit/%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ANALYZER_CFLAGS) $(CHECK_CFLAGS) -c $< -o $@

$(BUILD)/obj/tests/fuzz/%.o: tests/fuzz/%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ANALYZER_CFLAGS) -c $< -o $@

# One instrumented build: $(1) its directory under $(BUILD), $(2) the
# compiler, $(3) the flags it compiles and links with.
define INSTRUMENTED_BUILD
$(BUILD)/$(1)/obj/analyzer/%.o: analyzer/%.c | $(DEPS_STAMP)
	@mkdir -p $$(@D)
	$(2) $$(ANALYZER_CFLAGS) $(3) -c $$< -o $$@

$(BUILD)/$(1)/obj/unit/preload/%.o: preload/%.c | $(DEPS_STAMP)
	@mkdir -p $$(@D)
	$(2) $$(PRELOAD_CFLAGS) $(3) -c $$< -o $$@

$(BUILD)/$(1)/obj/tests/%.o: tests/%.c | $(DEPS_STAMP)
	@mkdir -p $$(@D)
	$(2) $$(ANALYZER_CFLAGS) $$(CHECK_CFLAGS) $(3) -c $$< -o $$@

$(BUILD)/$(1)/mtrace-analyze: $(ANALYZER_SRCS:%.c=$(BUILD)/$(1)/obj/%.o)
	$(2) $(3) -o $$@ $$^ $$(ANALYZER_LIBS)

$(BUILD)/$(1)/unit-tests: $(UNIT_SRCS:%.c=$(BUILD)/$(1)/obj/%.o) \
                          $(ANALYZER_LIB_SRCS:%.c=$(BUILD)/$(1)/obj/%.o) \
                          $(PRELOAD_PURE_SRCS:%.c=$(BUILD)/$(1)/obj/unit/%.o)
	$(2) $(3) -o $$@ $$^ $$(ANALYZER_LIBS) $$(PRELOAD_LIBS) $$(CHECK_LIBS)
endef
$(eval $(call INSTRUMENTED_BUILD,asan,$(CC),$(ASAN_FLAGS)))
$(eval $(call INSTRUMENTED_BUILD,tsan,$(CC),$(TSAN_FLAGS)))
$(eval $(call INSTRUMENTED_BUILD,fuzz,$(FUZZ_CC),$(FUZZ_FLAGS)))

$(BUILD)/libmtrace.so: $(PRELOAD_OBJS)
	$(CC) -shared $(PRELOAD_LTO) -O2 -Wall -Wextra -Werror -o $@ $^ $(PRELOAD_LIBS) -Wl,-z,now -Wl,--version-script=preload/exports.map

$(BUILD)/mtrace-analyze: $(ANALYZER_OBJS)
	$(CC) -o $@ $^ $(ANALYZER_LIBS)

$(BUILD)/unit-tests: $(UNIT_OBJS) $(ANALYZER_LIB_OBJS) $(UNIT_PRELOAD_OBJS)
	$(CC) -o $@ $^ $(ANALYZER_LIBS) $(PRELOAD_LIBS) $(CHECK_LIBS)

$(BUILD)/progs/%: tests/e2e/progs/%.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) -O1 -g -fno-omit-frame-pointer -fno-optimize-sibling-calls \
	    -pthread -o $@ $< -ldl

$(BUILD)/progs/lib%.so: tests/e2e/progs/%.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) -O1 -g -fno-omit-frame-pointer -shared -fPIC -o $@ $<

# The damaged-trace test runs $(BUILD)/progs/interval_leak under the tracer
# and MTRACE_TEST_ANALYZE on what it wrote.
UNIT_RUN_DEPS := all $(BUILD)/progs/interval_leak
unit: $(BUILD)/unit-tests $(UNIT_RUN_DEPS)
	MTRACE_TEST_BUILD=$(BUILD) MTRACE_TEST_ANALYZE=$(BUILD)/mtrace-analyze \
	    $(BUILD)/unit-tests

e2e: all
	tests/e2e/run.sh $(BUILD)

sanitize: asan-unit tsan-unit

asan-unit: $(BUILD)/asan/unit-tests $(BUILD)/asan/mtrace-analyze $(UNIT_RUN_DEPS)
	MTRACE_TEST_BUILD=$(BUILD) \
	    MTRACE_TEST_ANALYZE=$(BUILD)/asan/mtrace-analyze \
	    $(BUILD)/asan/unit-tests

# CK_FORK=no: one process, so TSan sees every test's threads together and
# its exit status (66 on a report) is the run's.
# CK_RUN_SUITE names one suite (a list would run none): one run each.
tsan-unit: $(BUILD)/tsan/unit-tests
	for suite in $(TSAN_SUITES); do \
	    CK_FORK=no CK_RUN_SUITE=$$suite TSAN_OPTIONS=halt_on_error=1 \
	        $(BUILD)/tsan/unit-tests || exit 1; \
	done

$(FUZZ_DIR)/fuzz-trace: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_trace.o \
                        $(ANALYZER_LIB_SRCS:%.c=$(FUZZ_DIR)/obj/%.o)
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(ANALYZER_LIBS)

$(BUILD)/forge-seeds: $(BUILD)/obj/tests/fuzz/forge_seeds.o \
                      $(BUILD)/obj/unit/preload/trace_encode.o
	$(CC) -o $@ $^

# Seeds are remade when the tracer or the seed programs change.
$(FUZZ_DIR)/seeds.stamp: $(BUILD)/libmtrace.so $(BUILD)/forge-seeds \
                         $(SEED_PROGS) tests/fuzz/real_seeds.sh
	rm -rf $(FUZZ_DIR)/seeds
	mkdir -p $(FUZZ_DIR)/seeds
	$(BUILD)/forge-seeds $(FUZZ_DIR)/seeds
	tests/fuzz/real_seeds.sh $(BUILD) $(FUZZ_DIR)/seeds
	@touch $@

fuzz-build: $(FUZZ_DIR)/fuzz-trace $(FUZZ_DIR)/seeds.stamp

# Crashes, hangs and sanitizer reports fail; the corpus under
# $(FUZZ_DIR)/corpus grows from one run to the next.
fuzz: fuzz-build
	tests/fuzz/run.sh $(FUZZ_DIR) $(FUZZ_SECONDS)

# The short fuzzing run comes last and alone, so that it gets a whole CPU
# and does not slow the timing-sensitive end-to-end tests.
check: unit e2e sanitize fuzz-build
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_CHECK_SECONDS)

demo: all
	@tests/e2e/demo.sh $(BUILD)

# Speed and memory against native and heaptrack; QUICK=1 for a short run,
# LSAN=1 to run LeakSanitizer (preloaded) too.
bench: all
	@MTRACE_EXTRA_PACKAGES="heaptrack$(if $(LSAN), liblsan0)" scripts/install-deps.sh
	scripts/bench.py --build $(BUILD) $(if $(QUICK),--quick) $(if $(LSAN),--lsan)

# The same workloads (QUICK sizes) counted in instructions by callgrind:
# stable where wall time is not, for changes to the allocation path.
bench-instr: all
	scripts/bench_instructions.py --build $(BUILD) $(if $(ONLY),--only $(ONLY))

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/libmtrace.so $(DESTDIR)$(PREFIX)/lib/libmtrace.so
	install -m 0755 $(BUILD)/mtrace-analyze $(DESTDIR)$(PREFIX)/bin/mtrace-analyze
	install -m 0755 scripts/mtrace-run $(DESTDIR)$(PREFIX)/bin/mtrace-run

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -path '*/obj/*' -name '*.d' 2>/dev/null)
