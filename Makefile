# xstate — plain GNU Make, C11, libc only.
#
#   make            build libxstate.a and the xstate tool (build/)
#   make test       build and run every test, then again under ASan+UBSan (build-san/)
#   make demo       build and run the main job on the built-in default CPU model
#   make CC=clang   any C11 compiler that takes gcc-style flags
#
# Layers depend downward only: tools -> oracle -> sim -> kernel -> arch.
# Each layer is its own archive so a test links only what it may use.

CC      ?= cc
SAN     ?= 0
BUILD   ?= build
OPT     ?= -O2

# Link-time optimization of the xstate tool (about a quarter more explorer
# steps per second): gcc only, since clang's needs the LLVM linker plugin.
# The objects are fat, so the tests link their plain code without LTO and
# build as fast as before. `make LTO=` turns it off.
ifeq ($(origin LTO),undefined)
LTO     := $(if $(shell $(CC) --version 2>/dev/null | grep -q "Free Software Foundation" && echo gcc),-flto=auto -ffat-lto-objects)
endif

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
CFLAGS_ALL = -std=c11 -D_GNU_SOURCE $(OPT) $(LTO) -g $(WARN) -Iinclude -Isrc -I$(BUILD)/gen $(CFLAGS)
LDLIBS_ALL = -lpthread -lm $(LDLIBS)

ifeq ($(SAN),1)
BUILD   := build-san
OPT     := -O1
LTO     :=
CFLAGS  += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif

LAYERS  := arch kernel sim oracle
SRC_arch   := $(sort $(wildcard src/arch/*.c))
SRC_kernel := $(sort $(wildcard src/kernel/*.c))
SRC_sim    := $(sort $(wildcard src/sim/*.c))
SRC_oracle := $(sort $(wildcard src/oracle/*.c))
SRC_tool   := $(sort $(wildcard tools/xstate/*.c))

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
OBJ_arch   := $(call obj,$(SRC_arch)) $(BUILD)/gen/builtin_models.o
OBJ_kernel := $(call obj,$(SRC_kernel))
OBJ_sim    := $(call obj,$(SRC_sim))
OBJ_oracle := $(call obj,$(SRC_oracle))
OBJ_tool   := $(call obj,$(SRC_tool))

LIB_arch   := $(BUILD)/lib/libxsarch.a
LIB_kernel := $(BUILD)/lib/libxskernel.a
LIB_sim    := $(BUILD)/lib/libxssim.a
LIB_oracle := $(BUILD)/lib/libxsoracle.a
LIBXSTATE  := $(BUILD)/libxstate.a
XSTATE     := $(BUILD)/xstate

# Link order: a layer's archive, then everything below it.
LINK_arch   := $(LIB_arch)
LINK_kernel := $(LIB_kernel) $(LINK_arch)
LINK_sim    := $(LIB_sim) $(LINK_kernel)
LINK_oracle := $(LIB_oracle) $(LINK_sim)

TESTS_arch   := $(patsubst tests/%.c,$(BUILD)/tests/%,$(sort $(wildcard tests/arch/test_*.c)))
TESTS_kernel := $(patsubst tests/%.c,$(BUILD)/tests/%,$(sort $(wildcard tests/kernel/test_*.c)))
TESTS_sim    := $(patsubst tests/%.c,$(BUILD)/tests/%,$(sort $(wildcard tests/sim/test_*.c)))
TESTS_oracle := $(patsubst tests/%.c,$(BUILD)/tests/%,$(sort $(wildcard tests/oracle/test_*.c)))
TESTS        := $(TESTS_arch) $(TESTS_kernel) $(TESTS_sim) $(TESTS_oracle)

HEADERS := $(wildcard include/xstate/*.h) $(wildcard src/*/*.h) tests/tap.h $(wildcard tests/*/*.h)

.PHONY: all lib tests test test-run test-arch test-kernel test-sim test-oracle demo clean
all: lib $(XSTATE)
lib: $(LIBXSTATE)

$(BUILD)/gen/builtin_models.c: tools/gen-builtin.sh $(sort $(wildcard data/cpus/*.txt))
	@mkdir -p $(dir $@)
	sh tools/gen-builtin.sh $(sort $(wildcard data/cpus/*.txt)) > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/builtin_models.o: $(BUILD)/gen/builtin_models.c $(HEADERS)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(BUILD)/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(NOLTO) -c $< -o $@

# Top-level assembly names this file's variables, which LTO would rename.
$(BUILD)/src/oracle/ktarget_host.o: NOLTO := -fno-lto

define archive
$(LIB_$(1)): $(OBJ_$(1))
	@mkdir -p $$(dir $$@)
	rm -f $$@
	$$(if $$^,ar rcs $$@ $$^,ar rcs $$@)
endef
$(foreach l,$(LAYERS),$(eval $(call archive,$(l))))

$(LIBXSTATE): $(OBJ_arch) $(OBJ_kernel) $(OBJ_sim) $(OBJ_oracle)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(XSTATE): $(OBJ_tool) $(LIB_oracle) $(LIB_sim) $(LIB_kernel) $(LIB_arch)
	$(CC) $(OPT) $(LTO) $(LDFLAGS) -o $@ $(OBJ_tool) $(LINK_oracle) $(LDLIBS_ALL)

define testrule
$(BUILD)/tests/$(1)/%: tests/$(1)/%.c $(LINK_$(1)) $(HEADERS)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS_ALL) $$(if $$(LTO),-fno-lto) -Itests $$(LDFLAGS) -o $$@ $$< $$(LINK_$(1)) $$(LDLIBS_ALL)
endef
$(foreach l,$(LAYERS),$(eval $(call testrule,$(l))))

tests: $(TESTS) $(XSTATE)

# One pass: run every test program and CLI test against $(BUILD).
test-run: tests
	@sh tests/run.sh $(BUILD)

# Per-layer runs for quick iteration (normal build only).
test-arch: $(TESTS_arch) $(XSTATE)
	@sh tests/run.sh $(BUILD) arch
test-kernel: $(TESTS_kernel) $(XSTATE)
	@sh tests/run.sh $(BUILD) kernel
test-sim: $(TESTS_sim) $(XSTATE)
	@sh tests/run.sh $(BUILD) sim
test-oracle: $(TESTS_oracle) $(XSTATE)
	@sh tests/run.sh $(BUILD) oracle

# The whole suite twice: plain, then under AddressSanitizer + UBSan.
test:
	@rm -f build/test-counts build-san/test-counts
	@$(MAKE) --no-print-directory test-run || true
	@$(MAKE) --no-print-directory SAN=1 test-run || true
	@sh tests/summary.sh build/test-counts build-san/test-counts

demo: all
	@sh tools/demo.sh $(XSTATE)

clean:
	rm -rf build build-san
