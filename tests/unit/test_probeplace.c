// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "drip/probeplace.h"

#define ALLOC_KEEP (PP_RDI | PP_RSI | PP_RDX)
#define FREE_KEEP  PP_RDI

/* Debian bookworm's libjemalloc2 5.3.0: malloc, `cmp $0x1000,%rdi; ja` */
static const uint8_t je_malloc[] = { 0x48, 0x81, 0xff, 0x00, 0x10, 0x00, 0x00,
				     0x0f, 0x87, 0x93, 0x00, 0x00, 0x00 };

/* its free: nine loads and ALU ops (rax, rdx, rcx, a %fs: add) before `jne` */
static const uint8_t je_free[] = { 0x48, 0x89, 0xf8, 0x48, 0x8b, 0x15, 0x0e, 0x53, 0x0a, 0x00, 0x48,
				   0x89, 0xf9, 0x48, 0xc1, 0xe8, 0x1a, 0x48, 0x81, 0xe1, 0x00, 0x00,
				   0x00, 0xc0, 0x25, 0xf0, 0x00, 0x00, 0x00, 0x64, 0x48, 0x03, 0x04,
				   0x25, 0x00, 0x00, 0x00, 0x00, 0x48, 0x01, 0xd0, 0x48, 0x3b, 0x88,
				   0xb0, 0x01, 0x00, 0x00, 0x0f, 0x85, 0x8a, 0x00, 0x00, 0x00 };

/* its sdallocx(ptr, size, flags): `mov %rdi,%r8; cmp $0x1000,%rsi; ja` */
static const uint8_t je_sdallocx[] = { 0x49, 0x89, 0xf8, 0x48, 0x81, 0xfe, 0x00,
				       0x10, 0x00, 0x00, 0x77, 0x0c, 0x85, 0xd2 };

/* its mallocx: `push %r15`, already emulated */
static const uint8_t je_mallocx[] = { 0x41, 0x57, 0x41, 0x56 };

/* libtcmalloc_minimal4: malloc, `mov 0xab59(%rip),%rax; test %rax,%rax; jne` */
static const uint8_t tc_malloc[] = { 0x48, 0x8b, 0x05, 0x59, 0xab, 0x00, 0x00, 0x48,
				     0x85, 0xc0, 0x75, 0x75, 0x48, 0x8b, 0x05, 0x05 };

/* its memalign: `mov %rdi,%r8; cmp $0x2000,%rdi; ja` */
static const uint8_t tc_memalign[] = { 0x49, 0x89, 0xf8, 0x48, 0x81, 0xff, 0x00, 0x20,
				       0x00, 0x00, 0x0f, 0x87, 0xe8, 0x00, 0x00, 0x00 };

/* glibc 2.36 free: `test %rdi,%rdi; je` */
static const uint8_t glibc_free[] = { 0x48, 0x85, 0xff, 0x0f, 0x84, 0xbf, 0x00, 0x00, 0x00, 0x55 };

static void test_real_allocators_move_to_their_first_branch(void **state)
{
	struct probe_window w;

	assert_int_equal(probeplace__window(je_malloc, sizeof(je_malloc), ALLOC_KEEP, &w), 0);
	assert_int_equal(w.site, 7);
	assert_int_equal(w.site_len, 6);
	assert_int_equal(w.nr, 1);

	assert_int_equal(probeplace__window(je_free, sizeof(je_free), FREE_KEEP, &w), 0);
	assert_int_equal(w.site, 0x30);
	assert_int_equal(w.nr, 9);
	assert_int_equal(w.ends[0], 3);
	assert_int_equal(w.ends[6], 0x26); /* past the 9-byte %fs: add */

	assert_int_equal(probeplace__window(je_sdallocx, sizeof(je_sdallocx), FREE_KEEP, &w), 0);
	assert_int_equal(w.site, 10);
	assert_int_equal(w.site_len, 2);

	assert_int_equal(probeplace__window(tc_malloc, sizeof(tc_malloc), ALLOC_KEEP, &w), 0);
	assert_int_equal(w.site, 10);
	assert_int_equal(probeplace__window(tc_memalign, sizeof(tc_memalign), ALLOC_KEEP, &w), 0);
	assert_int_equal(w.site, 10);
	assert_int_equal(probeplace__window(glibc_free, sizeof(glibc_free), FREE_KEEP, &w), 0);
	assert_int_equal(w.site, 3);
}

static void test_stays_at_entry(void **state)
{
	/* mov %rsi,%rdi; jne: an argument register is rewritten */
	static const uint8_t writes_rdi[] = { 0x48, 0x89, 0xf7, 0x75, 0x00 };
	/* sub $8,%rsp; jne: the return address moved */
	static const uint8_t moves_sp[] = { 0x48, 0x83, 0xec, 0x08, 0x75, 0x00 };
	/* mov %rdi,(%rsp); jne: a store */
	static const uint8_t stores[] = { 0x48, 0x89, 0x3c, 0x24, 0x75, 0x00 };
	/* mul %rsi; jo: writes rdx:rax */
	static const uint8_t mul[] = { 0x48, 0xf7, 0xe6, 0x70, 0x00 };
	/* cmp $0x1000,%rdi then the buffer ends */
	static const uint8_t cut[] = { 0x48, 0x81, 0xff, 0x00, 0x10, 0x00 };
	struct probe_window w;

	assert_int_equal(probeplace__window(je_mallocx, sizeof(je_mallocx), ALLOC_KEEP, &w),
			 -ENOENT);
	assert_int_equal(probeplace__window(writes_rdi, sizeof(writes_rdi), FREE_KEEP, &w),
			 -ENOENT);
	assert_int_equal(probeplace__window(moves_sp, sizeof(moves_sp), FREE_KEEP, &w), -ENOENT);
	assert_int_equal(probeplace__window(stores, sizeof(stores), FREE_KEEP, &w), -ENOENT);
	assert_int_equal(probeplace__window(mul, sizeof(mul), FREE_KEEP, &w), -ENOENT);
	assert_int_equal(probeplace__window(cut, sizeof(cut), FREE_KEEP, &w), -ENOENT);
	/* jemalloc's free clobbers rdx, an allocation's third argument */
	assert_int_equal(probeplace__window(je_free, sizeof(je_free), ALLOC_KEEP, &w), -ENOENT);
	/* a write to r8 (REX.B) counts when r8 must be kept */
	assert_int_equal(probeplace__window(je_sdallocx, sizeof(je_sdallocx), PP_RDI | PP_R8, &w),
			 -ENOENT);
}

#define ENTRY 64

/* int3 padding, jemalloc's malloc at ENTRY */
static void text_init(uint8_t *text, size_t len)
{
	memset(text, 0xcc, len);
	memcpy(text + ENTRY, je_malloc, sizeof(je_malloc));
}

static void test_branch_into_the_stretch_is_found(void **state)
{
	uint8_t text[512];
	struct probe_window w;

	text_init(text, sizeof(text));
	assert_int_equal(probeplace__window(text + ENTRY, sizeof(je_malloc), ALLOC_KEEP, &w), 0);
	assert_false(probeplace__branch_into(text, sizeof(text), ENTRY, &w));

	text[120] = 0xeb; /* jmp back to the entry: passes both probes, fine */
	text[121] = (uint8_t)(ENTRY - 122);
	assert_false(probeplace__branch_into(text, sizeof(text), ENTRY, &w));
	text[121] = (uint8_t)(ENTRY + 7 - 122); /* to the ja: skips the entry */
	assert_true(probeplace__branch_into(text, sizeof(text), ENTRY, &w));

	text_init(text, sizeof(text));
	text[20] = 0x74; /* je forward from the function before */
	text[21] = ENTRY + 7 - 22;
	assert_true(probeplace__branch_into(text, sizeof(text), ENTRY, &w));

	text_init(text, sizeof(text));
	text[400] = 0xe8; /* call rel32 */
	int32_t rel = ENTRY + 7 - 405;
	memcpy(text + 401, &rel, 4);
	assert_true(probeplace__branch_into(text, sizeof(text), ENTRY, &w));

	text_init(text, sizeof(text));
	text[300] = 0x0f; /* jne rel32 */
	text[301] = 0x85;
	rel = ENTRY + 7 - 306;
	memcpy(text + 302, &rel, 4);
	assert_true(probeplace__branch_into(text, sizeof(text), ENTRY, &w));

	/* the site's own branch looping back onto itself */
	text_init(text, sizeof(text));
	rel = -6;
	memcpy(text + ENTRY + 9, &rel, 4);
	assert_true(probeplace__branch_into(text, sizeof(text), ENTRY, &w));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_allocators_move_to_their_first_branch),
		cmocka_unit_test(test_stays_at_entry),
		cmocka_unit_test(test_branch_into_the_stretch_is_found),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
