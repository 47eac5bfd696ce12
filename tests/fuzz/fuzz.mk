# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# libFuzzer targets for the parsers of untrusted input (ELF files, /proc maps, Python line
# tables read from targets).
# `make fuzz` builds each target into build/fuzz/<name> and runs it for
# FUZZ_SECONDS on build/fuzz/corpus-<name>, a copy of tests/fuzz/seed-<input>/
# that keeps what earlier runs found.  Crashes land in build/fuzz/<name>-crash-*.
# Needs clang with compiler-rt (Debian: libclang-rt-14-dev).
# seed-elf/img.so is the image tests/unit/elf_image.h builds.

FUZZ_SECONDS ?= 20
FUZZ_CC	     ?= clang
FUZZ_DIR     := build/fuzz
FUZZ_CFLAGS  := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-Wall -Wextra -Wno-unused-parameter -Iinclude -D_GNU_SOURCE
FUZZ_NAMES   := fuzz_elf fuzz_procmaps fuzz_cfi fuzz_json fuzz_dwarf fuzz_pyline
FUZZ_BINS    := $(addprefix $(FUZZ_DIR)/,$(FUZZ_NAMES))

.PHONY: fuzz fuzz-build

fuzz: $(FUZZ_BINS)
	@set -e; for t in $(FUZZ_NAMES); do \
		c=$(FUZZ_DIR)/corpus-$$t; mkdir -p $$c; \
		cp tests/fuzz/seed-$${t#fuzz_}/* $$c/; \
		echo "== $$t: $(FUZZ_SECONDS) s"; \
		$(FUZZ_DIR)/$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
			-print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/$$t- \
			$$(test -f tests/fuzz/$$t.dict && echo -dict=tests/fuzz/$$t.dict) $$c; \
	done

fuzz-build: $(FUZZ_BINS)

$(FUZZ_DIR)/fuzz_elf: tests/fuzz/fuzz_elf.c src/elf.c src/log.c include/drip/elf.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^)

$(FUZZ_DIR)/fuzz_procmaps: tests/fuzz/fuzz_procmaps.c src/procmaps.c src/log.c \
		include/drip/procmaps.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^)

$(FUZZ_DIR)/fuzz_cfi: tests/fuzz/fuzz_cfi.c src/cfi.c include/drip/cfi.h include/drip/unwind.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^) -ldw -lelf

# JSON reports (`drip report`): the loader, then the writers run on what it loaded
FUZZ_JSON_SRCS := src/json_parse.c src/report/load.c src/u64map.c src/json_writer.c src/utf8.c \
	src/report/json.c src/report/text.c src/report/folded.c src/report/pprof.c \
	src/report/protobuf.c src/report/diff_text.c src/report/units.c
$(FUZZ_DIR)/fuzz_json: tests/fuzz/fuzz_json_report.c $(FUZZ_JSON_SRCS) $(wildcard include/drip/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^) -lz

# DWARF (srcline.c, through libdw), read from a memfd as the symbolizer reads files
$(FUZZ_DIR)/fuzz_dwarf: tests/fuzz/fuzz_dwarf.c src/srcline.c src/demangle.c src/u64map.c \
		src/log.c include/drip/srcline.h include/drip/symbolize.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^) -ldw -lelf -lz -liberty

# CPython line tables (pyline.c), as read from a target's code objects
$(FUZZ_DIR)/fuzz_pyline: tests/fuzz/fuzz_pyline.c src/pyline.c include/drip/pyline.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^)
