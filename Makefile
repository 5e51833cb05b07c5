# verifyd: one Makefile. `make run` and `make test` install what is missing first.
CC      ?= cc
PKGS    := libmicrohttpd sqlite3 libcrypto libcurl libpq
# Only the unit tests read JSON (jansson); the server and libverifyd.a are built without it.
TEST_PKGS := jansson
VERSION := 0.1.0
BUILD   ?= build
OPT     ?= -O2
SAN     ?=

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))
TEST_PKG_CFLAGS = $(shell pkg-config --cflags $(TEST_PKGS))
TEST_PKG_LIBS   = $(shell pkg-config --libs $(TEST_PKGS))
CFLAGS  = -std=c11 -D_GNU_SOURCE -DVERIFYD_VERSION='"$(VERSION)"' -Wall -Wextra -Werror \
          -Wshadow -Wstrict-prototypes -Wno-missing-field-initializers -g $(OPT) $(SAN) $(PKG_CFLAGS) -Isrc -MMD -MP
LDLIBS  = $(PKG_LIBS) -lpthread
ASAN    := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

SRC       := $(shell find src -name '*.c' | sort)
LIB_SRC   := $(filter-out src/main.c,$(SRC))
LIB_OBJ   := $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o)
UNIT_SRC  := $(shell find test/unit -name 'test_*.c' | sort)
UNIT_BIN  := $(UNIT_SRC:test/unit/%.c=$(BUILD)/unit/%)

FORMAT_SRC = $(shell find src test/unit test/fuzz -name '*.[ch]' | sort) bench/baseline.c

# `make run DATA_DIR=... LISTEN=...` pass --data-dir / --listen. Left empty, no flag is passed
# and verifyd reads VERIFYD_DATA_DIR / VERIFYD_LISTEN from the environment, or its own defaults
# (./data, 127.0.0.1:12111): a flag wins over its variable, as on verifyd's command line.
DATA_DIR ?=
LISTEN   ?=

# libFuzzer harnesses (test/fuzz/fuzz_<name>.c, seeds in test/fuzz/corpus/<name>/, a dictionary
# in test/fuzz/<name>.dict, and libFuzzer flags of its own in test/fuzz/<name>.options when it
# needs some), built with clang into build/fuzz: the library's objects with coverage
# instrumentation and ASan + UBSan, linked without main.c and without the real HTTP adapter (the
# harnesses bring their own http.h). New inputs go to a scratch corpus, build/fuzz/corpus/<name>,
# crashes to build/fuzz/artifacts/; `make fuzz-merge` adds what widens coverage to the seeds.
FUZZ_BUILD   := build/fuzz
FUZZ_SAN     := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
                -fno-omit-frame-pointer
FUZZ_NAMES   := $(patsubst test/fuzz/fuzz_%.c,%,$(sort $(wildcard test/fuzz/fuzz_*.c)))
FUZZ_BIN     := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz_%)
FUZZ_LIB_OBJ  = $(filter-out $(BUILD)/obj/http/http_mhd.o,$(LIB_OBJ))
FUZZ_TIME    ?= 60
FUZZ_SMOKE   ?= 8
FUZZ_ARGS    ?=
# The flags of every run of harness $$n (a shell variable of the loops below): FUZZ_ARGS last,
# so that it overrides the harness's own.
FUZZ_RUN      = -max_len=8192 -timeout=30 -print_final_stats=1 -dict=test/fuzz/$$n.dict \
                -artifact_prefix=$(FUZZ_BUILD)/artifacts/$$n- \
                $$(grep -hv '^\#' test/fuzz/$$n.options 2>/dev/null) $(FUZZ_ARGS)

.PHONY: FORCE all run test test-unit test-postgres test-blackbox test-asan deps deps-test bench mutate clean format \
        check-format fuzz fuzz-build fuzz-bins fuzz-smoke fuzz-merge

all: $(BUILD)/verifyd

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# The archive is made afresh whenever an object changes or the list of objects does (a file
# added, moved or removed): `ar r` never drops a member, so a moved file would stay behind twice.
$(BUILD)/objects.txt: FORCE
	@mkdir -p $(dir $@)
	@echo '$(LIB_OBJ)' | cmp -s - $@ || echo '$(LIB_OBJ)' > $@

$(BUILD)/libverifyd.a: $(LIB_OBJ) $(BUILD)/objects.txt
	rm -f $@
	$(AR) rcs $@ $(LIB_OBJ)

$(BUILD)/verifyd: $(BUILD)/obj/main.o $(BUILD)/libverifyd.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/main.o: src/main.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/unit/%: test/unit/%.c $(BUILD)/libverifyd.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(TEST_PKG_CFLAGS) -Itest/unit -o $@ $< $(BUILD)/libverifyd.a $(LDLIBS) \
	  $(TEST_PKG_LIBS) -lcmocka

deps:
	@scripts/deps.sh build

deps-test:
	@scripts/deps.sh test

# Install what is missing, build, start on the embedded default (SQLite in ./data, 127.0.0.1:12111)
# or where VERIFYD_* / DATA_DIR / LISTEN say.
run: deps
	@$(MAKE) --no-print-directory all
	$(BUILD)/verifyd $(if $(LISTEN),--listen $(LISTEN)) $(if $(DATA_DIR),--data-dir $(DATA_DIR)) $(ARGS)

# Everything: unit tests and black-box tests, the store contract suite and the PostgreSQL tests
# on a throwaway PostgreSQL 15 (test-postgres), then unit and black-box again under ASan + UBSan
# (built with clang), then the fuzz smoke run.
test: deps-test
	@$(MAKE) --no-print-directory check-format test-unit test-blackbox test-postgres
	@$(MAKE) --no-print-directory CC=clang BUILD=build/asan OPT=-O1 SAN="$(ASAN)" test-unit test-blackbox
	@$(MAKE) --no-print-directory fuzz-smoke

test-unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

# The store contract suite, the PostgreSQL backend's own tests and the black-box PostgreSQL tests
# on a throwaway PostgreSQL 15
# (test/pg/pg.sh: initdb + pg_ctl in a temporary directory), stopped and removed on the way out,
# failure included.
PG_UNIT := $(BUILD)/unit/store/test_store_contract $(BUILD)/unit/store/postgres/test_postgres
test-postgres: $(PG_UNIT) $(BUILD)/verifyd
	@set -e; url=$$(test/pg/pg.sh start); trap 'test/pg/pg.sh stop "$$url"' EXIT; \
	  for t in $(PG_UNIT); do echo "== $$t (postgres)"; VERIFYD_TEST_STORE="$$url" $$t; done; \
	  echo "== test/blackbox/postgres.test.js (postgres)"; \
	  VERIFYD_TEST_STORE="$$url" VERIFYD_BIN=$(abspath $(BUILD)/verifyd) node --test test/blackbox/postgres.test.js

test-blackbox: $(BUILD)/verifyd
	@cd test/blackbox && { cmp -s package-lock.json node_modules/.verifyd-lock || \
	  { npm ci --no-audit --no-fund --loglevel=error && cp package-lock.json node_modules/.verifyd-lock; }; }
	VERIFYD_BIN=$(abspath $(BUILD)/verifyd) node --test --test-concurrency=1 test/blackbox/

# The harnesses, each for FUZZ_TIME seconds from its seeds and the scratch corpus (one process
# each, one after the other: FUZZ_ARGS adds libFuzzer flags, e.g. -jobs=1 or -runs=N).
fuzz: deps-test
	@$(MAKE) --no-print-directory fuzz-build
	@set -e; for n in $(FUZZ_NAMES); do echo "== fuzz_$$n ($(FUZZ_TIME) s)"; \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$n $(FUZZ_BUILD)/artifacts; \
	  $(FUZZ_BUILD)/fuzz_$$n $(FUZZ_RUN) -max_total_time=$(FUZZ_TIME) \
	    $(FUZZ_BUILD)/corpus/$$n test/fuzz/corpus/$$n; done

# What `make test` runs: every seed, then FUZZ_SMOKE seconds of fuzzing per harness, from the
# seeds only (a fresh scratch corpus), so that a run never depends on an earlier one.
fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz-build
	@set -e; for n in $(FUZZ_NAMES); do echo "== fuzz_$$n (smoke, $(FUZZ_SMOKE) s)"; \
	  rm -rf $(FUZZ_BUILD)/smoke/$$n; mkdir -p $(FUZZ_BUILD)/smoke/$$n $(FUZZ_BUILD)/artifacts; \
	  $(FUZZ_BUILD)/fuzz_$$n $(FUZZ_RUN) -max_total_time=$(FUZZ_SMOKE) \
	    $(FUZZ_BUILD)/smoke/$$n test/fuzz/corpus/$$n 2>$(FUZZ_BUILD)/smoke/$$n.log || \
	    { tail -n 60 $(FUZZ_BUILD)/smoke/$$n.log; exit 1; }; \
	  grep -E '^stat::(number_of_executed_units|average_exec_per_sec)' \
	    $(FUZZ_BUILD)/smoke/$$n.log | tr '\n' ' '; echo; done

# Add the scratch corpus's inputs that widen coverage to the checked-in seeds.
fuzz-merge:
	@$(MAKE) --no-print-directory fuzz-build
	@set -e; for n in $(FUZZ_NAMES); do mkdir -p $(FUZZ_BUILD)/corpus/$$n; \
	  $(FUZZ_BUILD)/fuzz_$$n -merge=1 $(FUZZ_RUN) test/fuzz/corpus/$$n \
	    $(FUZZ_BUILD)/corpus/$$n; done

fuzz-build:
	@$(MAKE) --no-print-directory CC=clang BUILD=$(FUZZ_BUILD) OPT=-O1 SAN="$(FUZZ_SAN)" fuzz-bins

fuzz-bins: $(FUZZ_BIN)
	@:

# The fuzz build's own archive: every library object but the real HTTP adapter.
$(BUILD)/libverifyd-fuzz.a: $(FUZZ_LIB_OBJ) $(BUILD)/objects.txt
	rm -f $@
	$(AR) rcs $@ $(FUZZ_LIB_OBJ)

$(FUZZ_BUILD)/fuzz_%: test/fuzz/fuzz_%.c $(BUILD)/libverifyd-fuzz.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(TEST_PKG_CFLAGS) -Itest/fuzz -Itest/unit -fsanitize=fuzzer -o $@ $< \
	  $(BUILD)/libverifyd-fuzz.a $(LDLIBS) $(TEST_PKG_LIBS)

bench: 
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory all
	bench/run.sh

# The mutation run (test/mutants.txt): long, so not part of `make test`. MUTATE_ARGS, e.g.
# "--jobs 2" or "--only idem-expiry-ignored,list-default-limit".
mutate: deps-test
	@cd test/blackbox && { cmp -s package-lock.json node_modules/.verifyd-lock || \
	  { npm ci --no-audit --no-fund --loglevel=error && cp package-lock.json node_modules/.verifyd-lock; }; }
	node scripts/mutate.mjs $(MUTATE_ARGS)

format:
	clang-format -i $(FORMAT_SRC)

check-format:
	clang-format --dry-run -Werror $(FORMAT_SRC)

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(BUILD)/obj/main.d $(UNIT_BIN:=.d) $(FUZZ_BIN:=.d)
