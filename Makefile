# Backstop build.  `make` builds optimised binaries into build/bin; `make asan`
# builds AddressSanitizer+UBSan binaries into build-asan/bin and runs every
# test suite against them.  See README.md for the two set-up commands.

CC      ?= gcc
SAN     ?= 0
PKGS    := libevent libcurl jansson lmdb libsodium

ifeq ($(SAN),1)
BUILD   ?= build-asan
OPT     := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD   ?= build
OPT     := -O2 -g
endif

CFLAGS  := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $(OPT) -MMD -MP
LDFLAGS := $(filter -fsanitize=%,$(OPT))
LIBS    := -levent -lcurl -ljansson -llmdb -lsodium -lm

SHARED_SRC := $(wildcard shared/*.c)
GW_SRC     := $(wildcard gateway/*.c)
CTR_SRC    := $(wildcard controller/*.c)
CTL_SRC    := $(wildcard ctl/*.c)
SIM_SRC    := $(wildcard tests/simprov/*.c)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

SHARED_OBJ := $(call obj,$(SHARED_SRC))
GW_OBJ     := $(call obj,$(GW_SRC))
CTR_OBJ    := $(call obj,$(filter-out controller/ctr_main.c,$(CTR_SRC)))
SIM_OBJ    := $(call obj,$(filter-out tests/simprov/sim_main.c,$(SIM_SRC)))
# Every module but the programs' main() files, so a unit test can reach any
# of them and the linker takes only what it uses.
LIB        := $(BUILD)/lib/libbackstop.a

BINS  := $(BUILD)/bin/backstopd $(BUILD)/bin/simprov
ifneq ($(CTL_SRC),)
BINS  += $(BUILD)/bin/backstopctl
endif
UNITS := $(patsubst tests/unit/%.c,$(BUILD)/test/%,$(UNIT_SRC))

.PHONY: all deps run test unit integration sdk asan bench clean
all: $(BINS) $(UNITS)

$(LIB): $(SHARED_OBJ) $(GW_OBJ) $(CTR_OBJ) $(SIM_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

# backstopd is the controller and, re-executed with --worker, each worker:
# one binary keeps the workers' code identical to the controller's.
$(BUILD)/bin/backstopd: $(BUILD)/obj/controller/ctr_main.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/bin/backstopctl: $(call obj,$(CTL_SRC)) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/bin/simprov: $(BUILD)/obj/tests/simprov/sim_main.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ -levent -ljansson -lsodium -lm

$(BUILD)/test/%: $(BUILD)/obj/tests/unit/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) -lpthread

# Each directory sees only its own headers and shared/'s: the controller
# and the gateway reach each other only through shared/.
INC_shared          := -Ishared
INC_gateway         := -Ishared -Igateway
INC_controller      := -Ishared -Icontroller
INC_ctl             := -Ishared -Ictl
INC_tests/simprov   := -Ishared -Itests/simprov
INC_tests/unit      := -Ishared -Igateway -Icontroller -Itests/simprov

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(INC_$(patsubst %/,%,$(dir $<))) -c -o $@ $<

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# Installs the Debian packages that are missing; does nothing when all are there.
DEB_PKGS := gcc make pkg-config libevent-dev libcurl4-openssl-dev libjansson-dev liblmdb-dev \
            libsodium-dev lmdb-utils python3 curl json-schema-test-suite
deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi
	@# node and npm may come from elsewhere than Debian (nodesource bundles npm):
	@# installed from Debian only when the commands are missing.
	@if ! command -v npm >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq nodejs npm; \
	fi
	@# The SDK conformance suite's npm packages, pinned by tests/sdk/package-lock.json;
	@# reinstalled only when the lock changed.  Without the npm registry the rest
	@# of the build goes on and `make sdk` says what is missing.
	@if [ ! -f tests/sdk/node_modules/.package-lock.json ] || \
	    [ tests/sdk/package-lock.json -nt tests/sdk/node_modules/.package-lock.json ]; then \
	  (cd tests/sdk && npm ci --no-audit --no-fund --loglevel=error) || \
	  echo "deps: npm ci in tests/sdk failed (is the npm registry reachable?); the SDK conformance suite cannot run"; \
	fi

bench: deps all
	./tests/bench/run.sh $(BUILD)/bin

run: deps all
	./tests/run_demo.sh $(BUILD)/bin etc/backstop.json

unit: $(UNITS)
	@fail=0; for t in $(UNITS); do echo "== $$t"; $$t || fail=1; done; exit $$fail

integration: $(BINS)
	python3 tests/integration/run.py --bin $(BUILD)/bin

# The official OpenAI and Anthropic SDKs against the gateway (tests/sdk).
sdk: $(BINS)
	python3 tests/sdk/run.py --bin $(BUILD)/bin

test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory integration
	@$(MAKE) --no-print-directory sdk

asan: deps
	@$(MAKE) --no-print-directory SAN=1 all
	@$(MAKE) --no-print-directory SAN=1 unit
	@$(MAKE) --no-print-directory SAN=1 integration
	@$(MAKE) --no-print-directory SAN=1 sdk

clean:
	rm -rf build build-asan
