# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# drip: eBPF memory-leak tracer.  `make` builds ./drip; `make check` runs all tests.

CC	?= gcc
CLANG	?= clang
BPFTOOL	?= bpftool
BUILD	:= build
ARCH	:= x86

CFLAGS	?= -O2 -g
CFLAGS	+= -Wall -Wextra -Wno-unused-parameter -std=gnu11 -D_GNU_SOURCE -Iinclude -I$(BUILD)
LDLIBS	:= -lbpf -ldw -lelf -lz -liberty

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Wextra -Werror \
	-Wno-unused-parameter -Ivmlinux -Iinclude

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS	 := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))

SRCS	:= $(wildcard src/*.c src/report/*.c)
OBJS	:= $(patsubst src/%.c,$(BUILD)/obj/%.o,$(SRCS))
LIB_OBJS := $(filter-out $(BUILD)/obj/main.o,$(OBJS))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
TARGET_SRCS := $(filter-out tests/targets/nofp_%.c,$(wildcard tests/targets/*.c))
TARGET_BINS := $(patsubst tests/targets/%.c,$(BUILD)/targets/%,$(TARGET_SRCS)) \
	$(BUILD)/targets/nofp_unwind $(BUILD)/targets/libnofp_dl.so $(BUILD)/targets/libpyleak.so
TARGET_BINS += $(patsubst tests/targets/%.cc,$(BUILD)/targets/%,$(wildcard tests/targets/*.cc))

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all clean check unit e2e demo bench bench-build fuzz fuzz-smoke vmlinux lint targets

all: drip

drip: $(OBJS) $(BUILD)/obj/holder_blob.o
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# BPF objects and skeletons
$(BUILD)/%.bpf.o: bpf/%.bpf.c include/drip/events.h vmlinux/vmlinux.h | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp
	$(BPFTOOL) gen object $@ $@.tmp
	rm -f $@.tmp

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@

# The holder: a libc-free static program that owns the perf events BPF
# programs hang on; embedded in ./drip and run from a memfd.
$(BUILD)/drip-holder: src/holder/holder.c | $(BUILD)
	$(CC) -Os -static -nostdlib -fno-stack-protector -fno-asynchronous-unwind-tables \
		-fno-pie -no-pie -Wall -Wextra -o $@ $<

$(BUILD)/obj/holder_blob.o: src/holder/blob.S $(BUILD)/drip-holder | $(BUILD)/obj
	$(CC) -c -DHOLDER_PATH='"$(BUILD)/drip-holder"' -o $@ $<

$(BUILD)/obj/%.o: src/%.c $(wildcard include/drip/*.h) $(SKELS) | $(BUILD)/obj
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD) $(BUILD)/obj $(BUILD)/tests $(BUILD)/targets $(BUILD)/bench:
	mkdir -p $@

# Unit tests (cmocka): pure C, no root needed
# (the shared fixtures in tests/unit/*.h rebuild every test that may include them)
$(BUILD)/tests/test_%: tests/unit/test_%.c $(LIB_OBJS) $(BUILD)/obj/holder_blob.o \
		$(wildcard tests/unit/*.h) | $(BUILD)/tests
	$(CC) $(CFLAGS) -o $@ $(filter-out %.h,$^) $(LDLIBS) -lcmocka

# Test targets: programs that know what they leak
TARGET_CFLAGS := -O0 -g -fno-omit-frame-pointer -fno-optimize-sibling-calls -Wall -Wextra -pthread
$(BUILD)/targets/%: tests/targets/%.c tests/targets/target.h | $(BUILD)/targets
	$(CC) $(TARGET_CFLAGS) -o $@ $< -ldl

# C++ targets, built as C++ ships: -O2 -g, so templates and inlined calls are in the DWARF
CXX_TARGET_FLAGS := -O2 -g -Wall -Wextra -Wno-missing-field-initializers -Wno-narrowing -pthread
$(BUILD)/targets/%: tests/targets/%.cc tests/targets/target.h | $(BUILD)/targets
	$(CXX) $(CXX_TARGET_FLAGS) -o $@ $<

# Allocator targets: linked with jemalloc or tcmalloc first (so theirs binds), static (musl,
# glibc: the executable's own malloc), and a program replacing operator new with a pool
ALLOC_CXXFLAGS := -O1 -g -fno-omit-frame-pointer -fno-optimize-sibling-calls -fno-inline \
	-Wall -Wextra -Wno-missing-field-initializers -Wno-narrowing -pthread
$(BUILD)/targets/alloc_jemalloc: tests/targets/alloc_jemalloc.cc tests/targets/target.h | $(BUILD)/targets
	$(CXX) $(ALLOC_CXXFLAGS) -o $@ $< -ljemalloc
$(BUILD)/targets/alloc_tcmalloc: tests/targets/alloc_tcmalloc.cc tests/targets/target.h | $(BUILD)/targets
	$(CXX) $(ALLOC_CXXFLAGS) -o $@ $< -ltcmalloc_minimal
$(BUILD)/targets/alloc_pool: tests/targets/alloc_pool.cc tests/targets/target.h | $(BUILD)/targets
	$(CXX) $(ALLOC_CXXFLAGS) -o $@ $<
$(BUILD)/targets/static_musl: tests/targets/static_alloc.c tests/targets/target.h | $(BUILD)/targets
	musl-gcc -static $(TARGET_CFLAGS) -o $@ $<
$(BUILD)/targets/static_glibc: tests/targets/static_alloc.c tests/targets/target.h | $(BUILD)/targets
	$(CC) -static $(TARGET_CFLAGS) -o $@ $<
TARGET_BINS += $(BUILD)/targets/static_musl $(BUILD)/targets/static_glibc

# Built like Debian's libc and python: no frame pointers, only .eh_frame to unwind with
NOFP_CFLAGS := -O2 -g -fomit-frame-pointer -fno-optimize-sibling-calls -fasynchronous-unwind-tables \
	-Wall -Wextra -pthread
$(BUILD)/targets/libnofp_%.so: tests/targets/lib/nofp_%.c | $(BUILD)/targets
	$(CC) $(NOFP_CFLAGS) -shared -fPIC -o $@ $<
# A C library Python calls through ctypes (tests/targets/py_leak.py), built as extensions are
$(BUILD)/targets/libpyleak.so: tests/targets/lib/pyleak.c | $(BUILD)/targets
	$(CC) -O2 -g -Wall -Wextra -shared -fPIC -o $@ $<
$(BUILD)/targets/nofp_unwind: tests/targets/nofp_unwind.c $(BUILD)/targets/libnofp_sort.so | $(BUILD)/targets
	$(CC) $(NOFP_CFLAGS) -o $@ $< -L$(BUILD)/targets -lnofp_sort -Wl,-rpath,'$$ORIGIN' -ldl

targets: $(TARGET_BINS)

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

e2e: drip targets
	tests/e2e/run.sh

# every fuzz target briefly, from its seed corpus: crashes found here fail the check
fuzz-smoke:
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=8

check: lint drip unit e2e fuzz-smoke

demo: drip targets
	./drip trace -- $(BUILD)/targets/demo_trainer

# Benchmarks of drip's own code (bench/run.sh runs them): linked as ./drip is
BENCH_BINS := $(BUILD)/bench/export_bench $(BUILD)/bench/flame_bench $(BUILD)/bench/symbolize_bench
$(BUILD)/bench/%_bench: bench/%_bench.c $(LIB_OBJS) $(BUILD)/obj/holder_blob.o | $(BUILD)/bench
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) -lm

bench-build: $(BENCH_BINS)

bench: drip targets bench-build
	bench/run.sh

vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/vmlinux.h

lint:
	clang-format-14 --dry-run -Werror $(SRCS) $(BPF_SRCS) include/drip/*.h

clean:
	rm -rf $(BUILD) drip

-include tests/fuzz/fuzz.mk
