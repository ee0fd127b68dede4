# followupd -- see README.md. `make` builds build/followupd; `make test`
# installs what is missing, builds, and runs every test. `make soak`
# (minutes, not in `make test`): the daemon under load and faults.

BUILD ?= build
CC ?= cc
PKGS := rdkafka hiredis jansson yaml-0.1 libmicrohttpd
DEB_PKGS := build-essential pkg-config librdkafka-dev libhiredis-dev \
            libjansson-dev libyaml-dev libmicrohttpd-dev redis-server tzdata \
            valgrind curl python3-jsonschema python3-yaml prometheus shellcheck \
            tidy

WARN := -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes \
        -Wwrite-strings -Wvla -Wformat=2 -Wshadow
OPT ?= -O2
CFLAGS ?= $(OPT) -g
override CFLAGS += -std=c11 $(WARN) -fno-common
override CPPFLAGS += -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Ilib \
                     -I$(BUILD)/gen
ifeq ($(DEVELOPER),1)
override CFLAGS += -Werror
endif
ifneq ($(SAN),)
override CFLAGS += -fsanitize=$(SAN) -fno-sanitize-recover=all \
                   -fno-omit-frame-pointer
override LDFLAGS += -fsanitize=$(SAN)
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
override CPPFLAGS += $(PKG_CFLAGS)
LIBS = $(PKG_LIBS) -lm -lpthread

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRCS := $(sort $(wildcard lib/*.c))
DAEMON_SRCS := $(sort $(wildcard daemon/*.c))
TEST_SRCS := $(sort $(wildcard tests/test_*.c))
LUA_SRCS := $(sort $(wildcard lib/lua/*.lua))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/gen/lua_scripts.o
DAEMON_OBJS := $(DAEMON_SRCS:%.c=$(BUILD)/%.o)
TEST_BINS := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
TOOL_BINS := $(BUILD)/tests/tools/jsonl_match $(BUILD)/tests/tools/taskid \
             $(BUILD)/tests/tools/feed $(BUILD)/tests/tools/store_check \
             $(BUILD)/tests/tools/kmock $(BUILD)/tests/tools/kafka_tool \
             $(BUILD)/tests/tools/e2e_check $(BUILD)/tests/tools/cluster_check
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_NAMES := $(FUZZ_SRCS:tests/fuzz/%.c=%)
REPLAY_BINS := $(FUZZ_NAMES:%=$(BUILD)/tests/fuzz/replay_%)
LIBA := $(BUILD)/libfollowupd.a

.PHONY: all clean deps test unit asan valgrind demo bench bench-curves bench-cluster fmt \
        fuzz fuzz-bins soak report-shot
all: $(BUILD)/followupd $(TEST_BINS) $(TOOL_BINS) $(REPLAY_BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

# The Lua scripts are embedded as C strings (never a checked-in copy).
$(BUILD)/gen/lua_scripts.c: $(LUA_SRCS) Makefile
	@mkdir -p $(@D)
	@$(if $(Q),echo "  GEN     $@")
	$(Q){ echo '/* generated from the scripts in lib/lua by the Makefile */'; \
	  for f in $(LUA_SRCS); do \
	    n=$$(basename $$f .lua); \
	    echo "const char lua_$${n}[] ="; \
	    sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$$/\\n"/' $$f; \
	    echo '    ;'; \
	  done; } > $@

$(BUILD)/gen/lua_scripts.o: $(BUILD)/gen/lua_scripts.c
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-missing-variable-declarations -c $< -o $@

$(LIBA): $(LIB_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/followupd: $(DAEMON_OBJS) $(LIBA)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(DAEMON_OBJS) $(LIBA) $(LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(LIBA)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBA) $(LIBS)

$(BUILD)/tests/tools/%: $(BUILD)/tests/tools/%.o $(LIBA)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBA) $(LIBS)

# A fuzz target run over files (tests/run.sh: its corpus and regressions).
$(BUILD)/tests/fuzz/replay_%: $(BUILD)/tests/fuzz/%.o $(BUILD)/tests/fuzz/replay.o $(LIBA)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

# The same target under libFuzzer (make fuzz, with clang).
$(BUILD)/fuzz/%: $(BUILD)/tests/fuzz/%.o $(LIBA)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -fsanitize=fuzzer -o $@ $< $(LIBA) $(LIBS)

fuzz-bins: $(FUZZ_NAMES:%=$(BUILD)/fuzz/%)
.SECONDARY: $(FUZZ_NAMES:%=$(BUILD)/tests/fuzz/%.o) $(BUILD)/tests/fuzz/replay.o

# Install the Debian packages the build and the tests need, only when
# something is missing (pkg-config modules, redis-server, valgrind, tzdata,
# curl, promtool from prometheus, Debian's python3 with jsonschema, tidy
# for the report page).
deps:
	@if ! command -v pkg-config >/dev/null 2>&1 || \
	    ! pkg-config --exists $(PKGS) || \
	    ! command -v redis-server >/dev/null 2>&1 || \
	    ! command -v valgrind >/dev/null 2>&1 || \
	    ! command -v cc >/dev/null 2>&1 || \
	    ! command -v curl >/dev/null 2>&1 || \
	    ! command -v promtool >/dev/null 2>&1 || \
	    ! /usr/bin/python3 -c 'import jsonschema, yaml' >/dev/null 2>&1 || \
	    ! command -v shellcheck >/dev/null 2>&1 || \
	    ! command -v tidy >/dev/null 2>&1 || \
	    [ ! -f /usr/share/zoneinfo/Europe/Berlin ]; then \
		echo "deps: installing $(DEB_PKGS)"; \
		apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends $(DEB_PKGS) >/dev/null || exit 1; \
	fi

# Every test: unit binaries, golden policies, simulate stories, integration.
test: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) sh tests/run.sh

unit: all
	@BUILD=$(BUILD) ONLY=unit sh tests/run.sh

asan:
	@$(MAKE) --no-print-directory BUILD=build-asan OPT=-O1 \
		SAN=address,undefined test

# Every fuzz target (tests/fuzz/fuzz_*.c) under libFuzzer with ASan and
# UBSan for FUZZ_SECONDS each, from its seed corpus; clang is installed
# when missing. Crashes land in build-fuzz/crashes/.
FUZZ_SECONDS ?= 60
fuzz: deps
	@command -v clang >/dev/null 2>&1 || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends clang >/dev/null; }
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang OPT=-O1 \
		SAN=fuzzer-no-link,address,undefined fuzz-bins
	@FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/run.sh build-fuzz $(FUZZ_NAMES)

# Valgrind over the unit tests and a simulate run of every example story.
valgrind: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) VALGRIND=1 sh tests/run.sh

# Figures, never assertions: the daemon end to end against its limits
# (bench/bench_e2e.sh, minutes), then the store path alone.
bench: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) sh bench/bench_e2e.sh
	@BUILD=$(BUILD) sh bench/bench_redis.sh

# how cost grows with batch size, users, rules and state per user
bench-curves: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) sh bench/bench_curves.sh

# the decision path on one Redis and on clusters of 1, 2 and 3 masters
bench-cluster: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) sh bench/bench_cluster.sh

# The soak (tests/soak/soak.sh, minutes; not in `make test` or CI): the
# daemon for SOAK_SECONDS under a steady load, with Redis and broker
# outages, reloads, kills and a slow consumer on a schedule, then judged
# by tests/soak/soak_check.py; exits with its status.
SOAK_SECONDS ?= 300
soak: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) SOAK_SECONDS=$(SOAK_SECONDS) sh tests/soak/soak.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@sh deploy/demo.sh $(BUILD)

# The report page in a real browser: `report --compare --html` of the
# example policy against a tightened copy, loaded from disk by headless
# Chromium (Debian's chromium, installed when missing), screenshot in
# $(BUILD)/report-shot.png. Not in `make test`: Chromium is large.
report-shot: deps
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends chromium >/dev/null; }
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) sh tests/report_shot.sh

clean:
	rm -rf build build-asan

-include $(LIB_OBJS:.o=.d) $(DAEMON_OBJS:.o=.d) $(TEST_BINS:=.d) $(TOOL_BINS:=.d) \
         $(FUZZ_NAMES:%=$(BUILD)/tests/fuzz/%.d) $(BUILD)/tests/fuzz/replay.d
