# Backstop build.  `make` builds optimised binaries into build/bin; `make asan`
# builds AddressSanitizer+UBSan binaries into build-asan/bin and runs every
# test suite against them.  See README.md for the two set-up commands.

CC         ?= gcc
PKG_CONFIG ?= pkg-config
SAN        ?= 0

ifeq ($(SAN),1)
BUILD   ?= build-asan
OPT     := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD   ?= build
OPT     := -O2 -g
endif

# The libraries' flags come from pkg-config, each with a fallback to its
# plain -l flag for a library pkg-config does not know: Debian's liblmdb-dev
# may ship no lmdb.pc, and before `make deps` has run (`make
# test` on a fresh machine) pkg-config itself may be missing.
pc_known  = $(shell $(PKG_CONFIG) --exists $(1) 2>/dev/null && echo y)
pc_cflags = $(if $(call pc_known,$(1)),$(shell $(PKG_CONFIG) --cflags $(1)))
pc_libs   = $(if $(call pc_known,$(1)),$(shell $(PKG_CONFIG) --libs $(1)),$(2))
PKG_CPPFLAGS := $(strip $(foreach p,libevent libcurl jansson lmdb libsodium,$(call pc_cflags,$(p))))
PKG_LIBS     := $(strip $(call pc_libs,libevent,-levent) $(call pc_libs,libcurl,-lcurl) \
                $(call pc_libs,jansson,-ljansson) $(call pc_libs,lmdb,-llmdb) \
                $(call pc_libs,libsodium,-lsodium))
# The simulator needs neither libcurl nor LMDB.
SIM_PKG_LIBS := $(strip $(call pc_libs,libevent,-levent) $(call pc_libs,jansson,-ljansson) \
                $(call pc_libs,libsodium,-lsodium))

# Hardening.  A _FORTIFY_SOURCE the caller chose (say =3) is kept, since
# defining it twice differently is an error under -Werror.
HARDEN_CPPFLAGS := $(if $(findstring _FORTIFY_SOURCE,$(CPPFLAGS) $(CFLAGS)),,-D_FORTIFY_SOURCE=2)
HARDEN_CFLAGS   := -fstack-protector-strong -fPIE
HARDEN_LDFLAGS  := -pie -Wl,-z,relro,-z,now

STRICT_WARN := -Wshadow -Wmissing-prototypes -Wstrict-prototypes -Wformat=2

# CFLAGS, CPPFLAGS, LDFLAGS and LDLIBS from the environment or the command
# line come first and ours are appended (never replacing theirs): that way
# a caller adds flags, and ours, which the code relies on, still hold.
BS_CPPFLAGS := -D_GNU_SOURCE $(HARDEN_CPPFLAGS) $(PKG_CPPFLAGS)
BS_CFLAGS   := -std=c11 -Wall -Wextra -Werror $(STRICT_WARN) $(OPT) $(HARDEN_CFLAGS) -MMD -MP
BS_LDFLAGS  := $(filter -fsanitize=%,$(OPT)) $(HARDEN_LDFLAGS)
LIBS        := $(PKG_LIBS) -lm


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
# The product's modules but the programs' main() files, so a unit test can
# reach any of them and the linker takes only what it uses.
LIB        := $(BUILD)/lib/libbackstop.a
# The simulated providers, apart: linked into simprov and the unit tests of
# the simulator, never into backstopd or backstopctl.
SIM_LIB    := $(BUILD)/lib/libsimprov.a

BINS  := $(BUILD)/bin/backstopd $(BUILD)/bin/simprov
ifneq ($(CTL_SRC),)
BINS  += $(BUILD)/bin/backstopctl
endif
UNITS     := $(patsubst tests/unit/%.c,$(BUILD)/test/%,$(UNIT_SRC))
SIM_UNITS := $(filter $(BUILD)/test/test_sim_%,$(UNITS))
LIB_UNITS := $(filter-out $(SIM_UNITS),$(UNITS))

.PHONY: all deps run test unit lint integration sdk asan bench clean
all: $(BINS) $(UNITS)

$(LIB): $(SHARED_OBJ) $(GW_OBJ) $(CTR_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(SIM_LIB): $(SIM_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

LINK = $(CC) $(LDFLAGS) $(BS_LDFLAGS) -o $@

# backstopd is the controller and, re-executed with --worker, each worker:
# one binary keeps the workers' code identical to the controller's.
$(BUILD)/bin/backstopd: $(BUILD)/obj/controller/ctr_main.o $(LIB)
	@mkdir -p $(@D)
	$(LINK) $^ $(LDLIBS) $(LIBS)

$(BUILD)/bin/backstopctl: $(call obj,$(CTL_SRC)) $(LIB)
	@mkdir -p $(@D)
	$(LINK) $^ $(LDLIBS) $(LIBS)

$(BUILD)/bin/simprov: $(BUILD)/obj/tests/simprov/sim_main.o $(SIM_LIB) $(LIB)
	@mkdir -p $(@D)
	$(LINK) $^ $(LDLIBS) $(SIM_PKG_LIBS) -lm

$(LIB_UNITS): $(BUILD)/test/%: $(BUILD)/obj/tests/unit/%.o $(LIB)
	@mkdir -p $(@D)
	$(LINK) $^ $(LDLIBS) $(LIBS) -lpthread

$(SIM_UNITS): $(BUILD)/test/%: $(BUILD)/obj/tests/unit/%.o $(SIM_LIB) $(LIB)
	@mkdir -p $(@D)
	$(LINK) $^ $(LDLIBS) $(LIBS) -lpthread

# Each directory sees only its own headers and shared/'s: the controller
# and the gateway reach each other only through shared/.
INC_shared          := -Ishared
INC_gateway         := -Ishared -Igateway
INC_controller      := -Ishared -Icontroller
INC_ctl             := -Ishared -Ictl
INC_tests/simprov   := -Ishared -Itests/simprov
INC_tests/unit      := -Ishared -Igateway -Icontroller -Itests/simprov


# The flags a build used are kept in a stamp; objects depend on it, so a
# build with other CFLAGS (or LDFLAGS) rebuilds what they change.
FLAGS_STAMP := $(BUILD)/flags
FLAGS_NOW   := $(CC) $(CPPFLAGS) $(BS_CPPFLAGS) $(CFLAGS) $(BS_CFLAGS) $(STRICT_WARN) / $(LDFLAGS) $(BS_LDFLAGS) $(LDLIBS) $(LIBS)
ifeq ($(filter clean deps,$(MAKECMDGOALS)),)
$(shell mkdir -p $(BUILD) && { [ "$$(cat $(FLAGS_STAMP) 2>/dev/null)" = "$(subst ",\",$(FLAGS_NOW))" ] || printf '%s\n' "$(subst ",\",$(FLAGS_NOW))" > $(FLAGS_STAMP); })
endif

$(BUILD)/obj/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(BS_CPPFLAGS) $(INC_$(patsubst %/,%,$(dir $<))) $(CFLAGS) $(BS_CFLAGS) -c -o $@ $<

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
	@./tests/unit/run.sh $(UNITS)

# The gateway's file-level call graph has no cycle longer than two files
# (docs/design.md, "The request path").
lint: all
	@python3 tests/lint/cycles.py gateway $(BUILD)/obj/gateway 2

integration: $(BINS)
	python3 tests/integration/run.py --bin $(BUILD)/bin

# The official OpenAI and Anthropic SDKs against the gateway (tests/sdk).
sdk: $(BINS)
	python3 tests/sdk/run.py --bin $(BUILD)/bin

test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory integration
	@$(MAKE) --no-print-directory sdk

asan: deps
	@$(MAKE) --no-print-directory SAN=1 all
	@$(MAKE) --no-print-directory SAN=1 unit
	@$(MAKE) --no-print-directory SAN=1 lint
	@$(MAKE) --no-print-directory SAN=1 integration
	@$(MAKE) --no-print-directory SAN=1 sdk

clean:
	rm -rf build build-asan
