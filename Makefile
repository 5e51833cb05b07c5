# verifyd: one Makefile. `make run` and `make test` install what is missing first.
CC      ?= cc
PKGS    := libmicrohttpd sqlite3 libcrypto libcurl
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

FORMAT_SRC = $(shell find src test/unit -name '*.[ch]' | sort) bench/baseline.c

DATA_DIR ?= ./data
LISTEN   ?= 127.0.0.1:12111

.PHONY: FORCE all run test test-unit test-blackbox test-asan deps deps-test bench mutate clean format check-format

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

# Install what is missing, build, start on the embedded default (SQLite in ./data, 127.0.0.1:12111).
run: deps
	@$(MAKE) --no-print-directory all
	$(BUILD)/verifyd --listen $(LISTEN) --data-dir $(DATA_DIR) $(ARGS)

# Everything: unit tests and black-box tests, then both again under ASan + UBSan (built with
# clang).
test: deps-test
	@$(MAKE) --no-print-directory check-format test-unit test-blackbox
	@$(MAKE) --no-print-directory CC=clang BUILD=build/asan OPT=-O1 SAN="$(ASAN)" test-unit test-blackbox

test-unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

test-blackbox: $(BUILD)/verifyd
	@cd test/blackbox && { cmp -s package-lock.json node_modules/.verifyd-lock || \
	  { npm ci --no-audit --no-fund --loglevel=error && cp package-lock.json node_modules/.verifyd-lock; }; }
	VERIFYD_BIN=$(abspath $(BUILD)/verifyd) node --test --test-concurrency=1 test/blackbox/

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

-include $(LIB_OBJ:.o=.d) $(BUILD)/obj/main.d $(UNIT_BIN:=.d)
