// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * symbolizer__source: functions, files, lines and inlined calls from DWARF,
 * wherever the debug information is kept.
 *
 * Each test compiles a small program with gcc/g++ -g -O2 into a temporary
 * directory, runs it, and reads the return address of an allocation call the
 * program reports (its own operator new or malloc wrapper records
 * __builtin_return_address(0)).  The expected line is found independently, by
 * scanning the program's source for its marker comment.
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "drip/demangle.h"
#include "drip/procmaps.h"
#include "drip/srcline.h"
#include "drip/symbolize.h"

/* A template member with an always-inlined helper that calls new: the chain to see. */
static const char cpp_src[] = "#include <cstdio>\n"
			      "#include <cstdlib>\n"
			      "#include <unistd.h>\n"
			      "struct Foo { int v; };\n"
			      "static void *where;\n"
			      "__attribute__((noinline)) void *operator new(std::size_t n)\n"
			      "{\n"
			      "\twhere = __builtin_return_address(0);\n"
			      "\tvoid *p = std::malloc(n);\n"
			      "\tif (!p)\n"
			      "\t\tstd::abort();\n"
			      "\treturn p;\n"
			      "}\n"
			      "template <typename T> struct Cache {\n"
			      "\tT *slots[64];\n"
			      "\tunsigned n;\n"
			      "\t__attribute__((noinline)) void insert(int v);\n"
			      "};\n"
			      "static inline __attribute__((always_inline)) Foo *make_foo(int v)\n"
			      "{\n"
			      "\treturn new Foo{ v }; /* LEAK_LINE */\n"
			      "}\n"
			      "template <typename T> void Cache<T>::insert(int v)\n"
			      "{\n"
			      "\tslots[n++ % 64] = make_foo(v); /* CALL_LINE */\n"
			      "}\n"
			      "int main()\n"
			      "{\n"
			      "\tstatic Cache<Foo> c;\n"
			      "\tchar b;\n"
			      "\tc.insert(42);\n"
			      "\tprintf(\"%p\\n\", where);\n"
			      "\tfflush(stdout);\n"
			      "\treturn read(0, &b, 1) < 0;\n"
			      "}\n";

/* PAD lines first, so that two builds differ in their lines (and build-ids) */
static const char c_src[] = "%s"
			    "#include <stdio.h>\n"
			    "#include <stdlib.h>\n"
			    "#include <unistd.h>\n"
			    "static void *where;\n"
			    "__attribute__((noinline)) void *grab(size_t n)\n"
			    "{\n"
			    "\twhere = __builtin_return_address(0);\n"
			    "\treturn malloc(n);\n"
			    "}\n"
			    "__attribute__((noinline)) void *leak(int k)\n"
			    "{\n"
			    "\tvoid *p = grab(64 + k); /* LEAK_LINE */\n"
			    "\treturn p;\n"
			    "}\n"
			    "int main(int argc, char **argv)\n"
			    "{\n"
			    "\tchar b;\n"
			    "\tvoid *p = leak(argc);\n"
			    "\tprintf(\"%%p\\n\", where);\n"
			    "\tfflush(stdout);\n"
			    "\treturn read(0, &b, 1) < 0 || !p;\n"
			    "}\n";

static char dir[] = "/tmp/drip-test-source-XXXXXX";

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc)
		fail_msg("`%s` failed (%d)", cmd, rc);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* The line holding marker in text, counted independently of any DWARF. */
static uint32_t marked_line(const char *text, const char *marker)
{
	const char *at = strstr(text, marker);
	uint32_t line = 1;

	assert_non_null(at);
	for (const char *p = text; p < at; p++)
		line += *p == '\n';
	return line;
}

/* The C program with pad blank lines at its top, and its LEAK_LINE. */
static uint32_t c_program(const char *path, int pad)
{
	char text[4096], lines[64] = "";

	for (int i = 0; i < pad && i < 60; i++)
		strcat(lines, "\n");
	snprintf(text, sizeof(text), c_src, lines);
	write_file(path, text);
	return marked_line(text, "LEAK_LINE");
}

struct child {
	pid_t pid;
	int in; /* its stdin: closing it ends the program */
	uint64_t addr;
};

/* Run path; it prints the return address of its allocation call, then waits on stdin. */
static struct child spawn(const char *path)
{
	struct child c = { 0 };
	int in[2], out[2];
	char buf[64];
	ssize_t n, got = 0;

	/* close-on-exec: a second child must not hold the first one's stdin open */
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	c.pid = fork();
	assert_true(c.pid >= 0);
	if (!c.pid) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	while (got < (ssize_t)sizeof(buf) - 1 &&
	       (n = read(out[0], buf + got, sizeof(buf) - 1 - got)) > 0) {
		got += n;
		if (memchr(buf, '\n', got))
			break;
	}
	close(out[0]);
	buf[got] = 0;
	c.addr = strtoull(buf, NULL, 16);
	c.in = in[1];
	assert_true(c.addr != 0);
	return c;
}

static void reap(struct child *c)
{
	close(c->in);
	assert_int_equal(waitpid(c->pid, NULL, 0), c->pid);
}

/* Resolve the child's address as the collector does, then ask for its source. */
static size_t source_of(struct symbolizer *s, const struct child *c, struct sym_info *si,
			struct sym_line *out, size_t max)
{
	struct procmaps *m;

	assert_int_equal(procmaps__read(c->pid, &m), 0);
	assert_int_equal(symbolizer__resolve(s, c->pid, m, c->addr, si), 0);
	procmaps__free(m);
	assert_non_null(si->module);
	/* a return address: the call is the byte before */
	return symbolizer__source(s, si->module, si->build_id, si->build_id_len,
				  si->file_offset - 1, out, max);
}

static void expect_line(const struct sym_line *l, const char *fn, const char *file, uint32_t line,
			bool inlined)
{
	char copy[PATH_MAX];

	if (!l->function || strcmp(l->function, fn))
		fail_msg("function: got %s, want %s", l->function ? l->function : "NULL", fn);
	assert_non_null(l->file);
	snprintf(copy, sizeof(copy), "%s", l->file);
	assert_string_equal(basename(copy), file);
	assert_int_equal(l->line, line);
	assert_int_equal(l->inlined, inlined);
}

static int setup(void **state)
{
	if (!mkdtemp(dir))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) ? -1 : 0;
}

static void test_cpp_template_and_inlined_new(void **state)
{
	char src[PATH_MAX], bin[PATH_MAX];
	struct symbolizer *s = symbolizer__new();
	struct sym_line l[8];
	struct sym_info si;
	struct child c;
	size_t n;

	snprintf(src, sizeof(src), "%s/cache.cc", dir);
	snprintf(bin, sizeof(bin), "%s/cache", dir);
	write_file(src, cpp_src);
	sh("g++ -g -O2 -o '%s' '%s'", bin, src);
	c = spawn(bin);
	n = source_of(s, &c, &si, l, 8);
	/* the ELF symbol, demangled: what a frame says without DWARF */
	assert_string_equal(symbolizer__demangle(s, si.function), "Cache<Foo>::insert");
	assert_int_equal(n, 2);
	expect_line(&l[0], "make_foo", "cache.cc", marked_line(cpp_src, "LEAK_LINE"), true);
	expect_line(&l[1], "Cache<Foo>::insert", "cache.cc", marked_line(cpp_src, "CALL_LINE"),
		    false);
	/* room for one: the function itself, not the inlined call */
	assert_int_equal(source_of(s, &c, &si, l, 1), 1);
	expect_line(&l[0], "Cache<Foo>::insert", "cache.cc", marked_line(cpp_src, "CALL_LINE"),
		    false);
	reap(&c);
	symbolizer__free(s);
}

/*
 * A 64-bit constant that gcc writes as a 10-byte LEB128 (DW_OP_constu or a
 * const_value): valid DWARF that must not cost the unit its lines.
 */
static void test_ten_byte_leb128(void **state)
{
	char src[PATH_MAX], bin[PATH_MAX], text[4096];
	static const char big[] = "#include <stdint.h>\n"
				  "__attribute__((noinline)) uint64_t flagged(uint64_t x)\n"
				  "{\n"
				  "\tconst uint64_t flag = 0x8000000000000001ull;\n"
				  "\treturn x ^ flag;\n"
				  "}\n";
	struct symbolizer *s = symbolizer__new();
	struct sym_line l[4];
	struct sym_info si;
	struct child c;
	uint32_t line;

	snprintf(text, sizeof(text), c_src, big);
	line = marked_line(text, "LEAK_LINE");
	snprintf(src, sizeof(src), "%s/big.c", dir);
	snprintf(bin, sizeof(bin), "%s/big", dir);
	write_file(src, text);
	sh("gcc -g -O2 -fno-optimize-sibling-calls -o '%s' '%s'", bin, src);
	/* the DWARF really holds a 10-byte LEB128: 0x8000000000000001 as (S)LEB128 */
	sh("objcopy --dump-section .debug_info='%s.info' '%s' && "
	   "LC_ALL=C grep -q -a -P '\\x81(\\x80){8}[\\x01\\x7f]' '%s.info'",
	   bin, bin, bin);
	c = spawn(bin);
	assert_int_equal(source_of(s, &c, &si, l, 4), 1);
	expect_line(&l[0], "leak", "big.c", line, false);
	reap(&c);
	symbolizer__free(s);
}

/* Two processes of one binary (two copies of it): DWARF read once, each address looked up once. */
static void test_one_build_id_one_load(void **state)
{
	char bin[PATH_MAX], copy[PATH_MAX + 8];
	struct symbolizer *s = symbolizer__new();
	struct symbolizer_stats st;
	struct sym_line l[8], l2[8];
	struct sym_info si;
	struct child a, b;

	snprintf(bin, sizeof(bin), "%s/cache", dir);
	if (access(bin, X_OK))
		test_cpp_template_and_inlined_new(state);
	snprintf(copy, sizeof(copy), "%s-copy", bin);
	sh("cp '%s' '%s'", bin, copy);
	a = spawn(bin);
	b = spawn(copy);
	assert_int_equal(source_of(s, &a, &si, l, 8), 2);
	assert_int_equal(source_of(s, &b, &si, l2, 8), 2);
	assert_ptr_equal(l[0].function, l2[0].function); /* the cached answer */
	symbolizer__stats(s, &st);
	assert_int_equal(st.modules >= 2, 1);
	assert_int_equal(st.debug_files, 1);
	assert_int_equal(st.addresses, 1);
	assert_int_equal(st.source_calls, 2);
	reap(&a);
	reap(&b);
	symbolizer__free(s);
}

static const char *build_id_hex(const char *bin, char *hex, size_t len)
{
	char cmd[PATH_MAX + 64];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "readelf -n '%s' | awk '/Build ID/ { print $3 }'", bin);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(hex, len, p));
	pclose(p);
	hex[strcspn(hex, "\n")] = 0;
	assert_true(strlen(hex) > 2);
	return hex;
}

/* A stripped binary finds its DWARF wherever users keep it, and nowhere else. */
static void test_stripped_binary_debug_places(void **state)
{
	char src[PATH_MAX], bin[PATH_MAX], dbg[PATH_MAX], root[PATH_MAX], hex[256];
	char place[4][2 * PATH_MAX];
	uint32_t line;

	snprintf(src, sizeof(src), "%s/leak.c", dir);
	snprintf(bin, sizeof(bin), "%s/leak", dir);
	snprintf(dbg, sizeof(dbg), "%s/leak.debug.orig", dir);
	snprintf(root, sizeof(root), "%s/debugroot", dir);
	line = c_program(src, 0);
	sh("gcc -g -O2 -fno-optimize-sibling-calls -o '%s' '%s'", bin, src);
	sh("objcopy --only-keep-debug '%s' '%s'", bin, dbg);
	sh("cd '%s' && cp leak.debug.orig leak.debug && objcopy --strip-debug "
	   "--add-gnu-debuglink=leak.debug leak && rm leak.debug",
	   dir);
	build_id_hex(bin, hex, sizeof(hex));
	snprintf(place[0], sizeof(place[0]), "%s/leak.debug", dir);
	snprintf(place[1], sizeof(place[1]), "%s/.debug/leak.debug", dir);
	snprintf(place[2], sizeof(place[2]), "%s%s/leak.debug", root, dir);
	snprintf(place[3], sizeof(place[3]), "%s/.build-id/%.2s/%s.debug", root, hex, hex + 2);
	for (int i = -1; i < 4; i++) {
		struct symbolizer *s = symbolizer__new();
		struct sym_line l[8];
		struct sym_info si;
		struct child c;
		size_t n;
		char *copy = NULL;

		assert_int_equal(symbolizer__set_debug_root(s, root), 0);
		if (i >= 0) {
			copy = strdup(place[i]);
			sh("mkdir -p '%s' && cp '%s' '%s'", dirname(copy), dbg, place[i]);
		}
		c = spawn(bin);
		n = source_of(s, &c, &si, l, 8);
		if (i < 0) {
			/* nothing placed: the binary alone knows no lines */
			assert_int_equal(n, 0);
		} else {
			assert_int_equal(n, 1);
			expect_line(&l[0], "leak", "leak.c", line, false);
			sh("rm '%s'", place[i]);
		}
		free(copy);
		reap(&c);
		symbolizer__free(s);
	}
}

/* A debug file of another build (another build-id, or another CRC) is not used. */
static void test_wrong_debug_file_refused(void **state)
{
	char src[PATH_MAX], root[PATH_MAX], hex[256];

	snprintf(src, sizeof(src), "%s/other.c", dir);
	snprintf(root, sizeof(root), "%s/emptyroot", dir);
	for (int no_id = 0; no_id < 2; no_id++) {
		const char *ldflags = no_id ? "-Wl,--build-id=none" : "";
		uint32_t line;

		/* "other": stripped, linked to other.debug; "twin": the same, moved by 3 lines */
		c_program(src, 3);
		sh("cd '%s' && gcc -g -O2 -fno-optimize-sibling-calls %s -o twin other.c && "
		   "objcopy --only-keep-debug twin twin.debug",
		   dir, ldflags);
		line = c_program(src, 0);
		sh("cd '%s' && gcc -g -O2 -fno-optimize-sibling-calls %s -o other other.c && "
		   "objcopy --only-keep-debug other other.debug && "
		   "objcopy --strip-debug --add-gnu-debuglink=other.debug other && "
		   "mv other.debug other.debug.right && cp twin.debug other.debug",
		   dir, ldflags);
		if (!no_id) {
			char bin[PATH_MAX];

			snprintf(bin, sizeof(bin), "%s/other", dir);
			build_id_hex(bin, hex, sizeof(hex));
			/* the twin also sits under the right build-id */
			sh("mkdir -p '%s/.build-id/%.2s' && cp '%s/twin.debug' '%s/.build-id/%.2s/%s.debug'",
			   root, hex, dir, root, hex, hex + 2);
		}
		for (int right = 0; right < 2; right++) {
			struct symbolizer *s = symbolizer__new();
			char bin[PATH_MAX];
			struct sym_line l[8];
			struct sym_info si;
			struct child c;
			size_t n;

			assert_int_equal(symbolizer__set_debug_root(s, root), 0);
			if (right)
				sh("cd '%s' && cp other.debug.right other.debug", dir);
			snprintf(bin, sizeof(bin), "%s/other", dir);
			c = spawn(bin);
			n = source_of(s, &c, &si, l, 8);
			if (!right) {
				assert_int_equal(n, 0);
			} else {
				assert_int_equal(n, 1);
				expect_line(&l[0], "leak", "other.c", line, false);
			}
			reap(&c);
			symbolizer__free(s);
		}
		sh("rm -rf '%s'", root);
	}
}

/* Replaced on disk while it runs: the lines are those of the file the process maps. */
static void test_replaced_binary_through_map_files(void **state)
{
	char src[PATH_MAX], bin[PATH_MAX], next[PATH_MAX];
	struct symbolizer *s = symbolizer__new();
	struct sym_line l[8];
	struct sym_info si;
	uint32_t old_line, new_line;
	struct child c;

	snprintf(src, sizeof(src), "%s/swap.c", dir);
	snprintf(bin, sizeof(bin), "%s/swap", dir);
	snprintf(next, sizeof(next), "%s/swap.next", dir);
	old_line = c_program(src, 0);
	sh("gcc -g -O2 -fno-optimize-sibling-calls -o '%s' '%s'", bin, src);
	c = spawn(bin);
	new_line = c_program(src, 5);
	assert_int_not_equal(old_line, new_line);
	sh("gcc -g -O2 -fno-optimize-sibling-calls -o '%s' '%s' && mv '%s' '%s'", next, src, next,
	   bin);
	assert_int_equal(source_of(s, &c, &si, l, 8), 1);
	expect_line(&l[0], "leak", "swap.c", old_line, false);
	reap(&c);
	symbolizer__free(s);
}

/*
 * A file loaded through a live process is held: when the process is gone and
 * the file replaced or deleted by report time, the lines are still those of
 * the code that ran, and the descriptor is let go once they are read.
 */
static void test_held_file_outlives_its_process(void **state)
{
	char src[PATH_MAX], bin[PATH_MAX], next[PATH_MAX];

	snprintf(src, sizeof(src), "%s/gone.c", dir);
	snprintf(bin, sizeof(bin), "%s/gone", dir);
	snprintf(next, sizeof(next), "%s/gone.next", dir);
	for (int deleted = 0; deleted < 2; deleted++) {
		struct symbolizer *s = symbolizer__new();
		struct symbolizer_stats before, after;
		struct sym_line l[8];
		struct sym_info si;
		struct procmaps *m;
		uint32_t line;
		struct child c;

		line = c_program(src, deleted);
		sh("gcc -g -O2 -fno-optimize-sibling-calls -o '%s' '%s'", bin, src);
		c = spawn(bin);
		assert_int_equal(procmaps__read(c.pid, &m), 0);
		symbolizer__learn_maps(s, c.pid, m);
		assert_int_equal(symbolizer__resolve(s, c.pid, m, c.addr, &si), 0);
		procmaps__free(m);
		reap(&c);
		if (deleted) {
			sh("rm '%s'", bin);
		} else {
			c_program(src, 9);
			sh("gcc -g -O2 -fno-optimize-sibling-calls -o '%s' '%s' && mv '%s' '%s'",
			   next, src, next, bin);
		}
		symbolizer__stats(s, &before);
		assert_true(before.files_held >= 1);
		assert_int_equal(before.files_not_held, 0);
		assert_int_equal(symbolizer__source(s, si.module, si.build_id, si.build_id_len,
						    si.file_offset - 1, l, 8),
				 1);
		expect_line(&l[0], "leak", "gone.c", line, false);
		symbolizer__stats(s, &after);
		assert_int_equal(after.debug_files, 1);
		assert_int_equal(after.files_held, before.files_held - 1); /* let go */
		symbolizer__free(s);
	}
}

/*
 * Held files are capped by RLIMIT_NOFILE (a quarter of it): past the cap a
 * file is not held, and counted; reading the DWARF of a build-id lets go of
 * every copy's.
 */
static void test_held_files_capped_and_let_go(void **state)
{
	char bin[PATH_MAX], copy[PATH_MAX + 16];
	struct rlimit saved, low;
	struct symbolizer_stats st;
	struct symbolizer *s;
	struct sym_info si;
	struct sym_line l[8];
	struct child c;
	struct procmaps *m;
	int copies = 0;

	snprintf(bin, sizeof(bin), "%s/cache", dir);
	if (access(bin, X_OK))
		test_cpp_template_and_inlined_new(state);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
	low = saved;
	low.rlim_cur = 64; /* a cap of 16 */
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	s = symbolizer__new();
	c = spawn(bin);
	assert_int_equal(procmaps__read(c.pid, &m), 0);
	assert_int_equal(symbolizer__resolve(s, c.pid, m, c.addr, &si), 0);
	procmaps__free(m);
	for (int i = 0; i < 24; i++) {
		snprintf(copy, sizeof(copy), "%s-%d", bin, i);
		sh("cp '%s' '%s'", bin, copy);
		copies += !symbolizer__learn_file(s, copy);
	}
	assert_int_equal(copies, 24);
	symbolizer__stats(s, &st);
	assert_int_equal(st.files_held, 16);
	assert_int_equal(st.files_not_held, 25 - 16);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
	assert_int_equal(symbolizer__source(s, si.module, si.build_id, si.build_id_len,
					    si.file_offset - 1, l, 8),
			 2);
	symbolizer__stats(s, &st);
	assert_int_equal(st.files_held, 0); /* one build-id: every copy let go */
	reap(&c);
	symbolizer__free(s);
}

/* nodw_alloc has no DWARF (its own unit, built without -g); bare_label has no size. */
static const char nodw_src[] =
	"#include <stddef.h>\n"
	"void *grab(size_t n);\n"
	"__attribute__((noinline)) void *nodw_alloc(size_t n)\n"
	"{\n"
	"\tvoid *p = grab(n);\n"
	"\t__asm__ volatile(\"\" ::: \"memory\");\n"
	"\treturn p;\n"
	"}\n"
	"__asm__(\".text\\n.globl bare_label\\n.type bare_label, @function\\n"
	"bare_label:\\n\\tret\\n\");\n";
static const char nodw_main[] = "#include <stdio.h>\n"
				"#include <stdlib.h>\n"
				"#include <unistd.h>\n"
				"static void *where;\n"
				"void *nodw_alloc(size_t n);\n"
				"__attribute__((noinline)) void *grab(size_t n)\n"
				"{\n"
				"\twhere = __builtin_return_address(0);\n"
				"\treturn malloc(n);\n"
				"}\n"
				"int main(void)\n"
				"{\n"
				"\tchar b;\n"
				"\tvoid *p = nodw_alloc(64);\n"
				"\tprintf(\"%p\\n\", where);\n"
				"\tfflush(stdout);\n"
				"\treturn read(0, &b, 1) < 0 || !p;\n"
				"}\n";

static uint64_t symbol_value(const char *file, const char *name)
{
	char cmd[2 * PATH_MAX], out[64] = "";
	FILE *p;

	snprintf(cmd, sizeof(cmd), "nm '%s' | awk '$3 == \"%s\" { print $1 }'", file, name);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(out, sizeof(out), p));
	pclose(p);
	return strtoull(out, NULL, 16);
}

/*
 * A binary stripped of its .symtab, its debug file under the build-id: code
 * DWARF does not describe is named from the debug file's .symtab, by sized
 * symbols only, and has no line.
 */
static void test_debug_file_symtab_names_code_without_dwarf(void **state)
{
	char src[PATH_MAX], root[PATH_MAX], bin[PATH_MAX], dbg[2 * PATH_MAX], hex[256];
	struct symbolizer *s = symbolizer__new();
	struct srcline *d;
	struct sym_line l[8];
	struct sym_info si;
	struct child c;
	uint64_t at, delta = 0;
	int fd;

	snprintf(src, sizeof(src), "%s/nodw.c", dir);
	write_file(src, nodw_src);
	snprintf(src, sizeof(src), "%s/nodw_main.c", dir);
	write_file(src, nodw_main);
	snprintf(root, sizeof(root), "%s/nodwroot", dir);
	snprintf(bin, sizeof(bin), "%s/nodw", dir);
	sh("cd '%s' && gcc -O2 -fno-optimize-sibling-calls -c nodw.c && "
	   "gcc -g -O2 -fno-optimize-sibling-calls -o nodw nodw_main.c nodw.o && "
	   "objcopy --only-keep-debug nodw nodw.debug && strip --strip-all nodw",
	   dir);
	build_id_hex(bin, hex, sizeof(hex));
	snprintf(dbg, sizeof(dbg), "%s/.build-id/%.2s/%s.debug", root, hex, hex + 2);
	sh("mkdir -p '%s/.build-id/%.2s' && cp '%s/nodw.debug' '%s'", root, hex, dir, dbg);
	assert_int_equal(symbolizer__set_debug_root(s, root), 0);
	c = spawn(bin);
	assert_int_equal(source_of(s, &c, &si, l, 8), 1);
	assert_null(si.function); /* the stripped binary names nothing */
	assert_string_equal(l[0].function, "nodw_alloc");
	assert_null(l[0].file);
	assert_int_equal(l[0].line, 0);
	assert_false(l[0].inlined);
	reap(&c);
	symbolizer__free(s);

	/* unsized: covers nothing, not even its own address */
	fd = open(dbg, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(srcline__open_fd(fd, &d), 0);
	close(fd);
	at = symbol_value(dbg, "nodw_alloc");
	assert_string_equal(srcline__symbol(d, at + 3, &delta), "nodw_alloc");
	assert_int_equal(delta, 3);
	assert_null(srcline__symbol(d, symbol_value(dbg, "bare_label"), &delta));
	assert_null(srcline__symbol(d, 0, &delta));
	assert_null(srcline__symbol(d, UINT64_MAX, &delta));
	srcline__close(d);
	assert_null(srcline__symbol(NULL, at, &delta));
}

/* Found through debuginfod (DEBUGINFOD_URLS), served here by python's http.server. */
static void test_debuginfod(void **state)
{
	char src[PATH_MAX], bin[PATH_MAX], hex[256], line_buf[256], url[64];
	void *lib = dlopen("libdebuginfod.so.1", RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	struct symbolizer *s;
	struct sym_line l[8];
	struct sym_info si;
	struct child c;
	uint32_t line;
	FILE *server;
	int port = 0;
	pid_t spid;
	size_t n;

	if (!lib || access("/usr/bin/python3", X_OK))
		skip();
	dlclose(lib);
	snprintf(src, sizeof(src), "%s/dfd.c", dir);
	snprintf(bin, sizeof(bin), "%s/dfd", dir);
	line = c_program(src, 2);
	sh("gcc -g -O2 -fno-optimize-sibling-calls -o '%s' '%s'", bin, src);
	build_id_hex(bin, hex, sizeof(hex));
	sh("cd '%s' && mkdir -p srv/buildid/%s && objcopy --only-keep-debug dfd "
	   "srv/buildid/%s/debuginfo && objcopy --strip-debug dfd",
	   dir, hex, hex);
	snprintf(line_buf, sizeof(line_buf),
		 "exec /usr/bin/python3 -u -m http.server 0 --bind 127.0.0.1 --directory '%s/srv' "
		 "2>/dev/null & echo $!",
		 dir);
	server = popen(line_buf, "r");
	assert_non_null(server);
	assert_non_null(fgets(line_buf, sizeof(line_buf), server));
	spid = atoi(line_buf);
	while (fgets(line_buf, sizeof(line_buf), server))
		if (sscanf(line_buf, "Serving HTTP on 127.0.0.1 port %d", &port) == 1)
			break;
	assert_true(port > 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	setenv("DEBUGINFOD_URLS", url, 1);
	snprintf(line_buf, sizeof(line_buf), "%s/dfd-cache", dir);
	setenv("DEBUGINFOD_CACHE_PATH", line_buf, 1);

	s = symbolizer__new();
	assert_int_equal(symbolizer__set_debug_root(s, "/nonexistent"), 0);
	c = spawn(bin);
	n = source_of(s, &c, &si, l, 8);
	/* the server goes before anything is judged: a failed test must not leave it behind */
	kill(spid, SIGTERM);
	pclose(server);
	unsetenv("DEBUGINFOD_URLS");
	unsetenv("DEBUGINFOD_CACHE_PATH");
	reap(&c);
	assert_int_equal(n, 1);
	expect_line(&l[0], "leak", "dfd.c", line, false);
	symbolizer__free(s);
}

/*
 * dwz moves shared DWARF into a supplementary file the binary names: names
 * come from there; without it they are unknown (lines are not), never guessed.
 */
static void test_dwz_supplementary_file(void **state)
{
	char src[PATH_MAX], sub[PATH_MAX], bin[PATH_MAX + 8];

	if (access("/usr/bin/dwz", X_OK))
		skip();
	snprintf(sub, sizeof(sub), "%s/dwz", dir);
	snprintf(src, sizeof(src), "%s/dwz/cache.cc", dir);
	snprintf(bin, sizeof(bin), "%s/a", sub);
	sh("mkdir -p '%s'", sub);
	write_file(src, cpp_src);
	sh("cd '%s' && g++ -g -O2 -o a cache.cc && g++ -g -O2 -DOTHER -o b cache.cc && "
	   "dwz -m common.debug -M '%s/common.debug' a b",
	   sub, sub);
	for (int hidden = 0; hidden < 2; hidden++) {
		struct symbolizer *s = symbolizer__new();
		struct sym_line l[8];
		struct sym_info si;
		struct child c;

		if (hidden)
			sh("mv '%s/common.debug' '%s/common.hidden'", sub, sub);
		c = spawn(bin);
		assert_int_equal(source_of(s, &c, &si, l, 8), 2);
		if (!hidden) {
			expect_line(&l[0], "make_foo", "cache.cc",
				    marked_line(cpp_src, "LEAK_LINE"), true);
			expect_line(&l[1], "Cache<Foo>::insert", "cache.cc",
				    marked_line(cpp_src, "CALL_LINE"), false);
		} else {
			assert_null(l[0].function);
			assert_null(l[1].function);
			assert_int_equal(l[0].line, marked_line(cpp_src, "LEAK_LINE"));
			assert_int_equal(l[1].line, marked_line(cpp_src, "CALL_LINE"));
		}
		reap(&c);
		symbolizer__free(s);
	}
}

static void test_nothing_known_is_nothing(void **state)
{
	static const uint8_t unknown[20] = { 1, 2, 3 };
	struct symbolizer *s = symbolizer__new();
	struct sym_line l[4];

	assert_int_equal(symbolizer__source(s, "/nonexistent/lib.so", unknown, sizeof(unknown),
					    0x1000, l, 4),
			 0);
	assert_int_equal(symbolizer__source(s, "[anon]", NULL, 0, 0x1000, l, 4), 0);
	assert_int_equal(symbolizer__source(s, NULL, NULL, 0, 0x1000, l, 4), 0);
	assert_int_equal(symbolizer__source(s, "/bin/sh", NULL, 0, 0x1000, l, 0), 0);
	assert_int_equal(symbolizer__source(NULL, "/bin/sh", NULL, 0, 0x1000, l, 4), 0);
	symbolizer__free(s);
}

static void test_demangle_once_per_name(void **state)
{
	struct symbolizer *s = symbolizer__new();
	const char *a = symbolizer__demangle(s, "_ZN5CacheI3FooE6insertEi");
	char long_name[5000];

	assert_string_equal(a, "Cache<Foo>::insert");
	assert_ptr_equal(symbolizer__demangle(s, "_ZN5CacheI3FooE6insertEi"), a);
	assert_string_equal(symbolizer__demangle(s, "_Znwm@@GLIBCXX_3.4"),
			    "operator new@@GLIBCXX_3.4");
	assert_string_equal(symbolizer__demangle(s, "_ZL8make_fooi.isra.0"), "make_foo");
	assert_string_equal(symbolizer__demangle(s, "main"), "main");
	assert_string_equal(symbolizer__demangle(s, "_Zgarbage("), "_Zgarbage(");
	assert_null(symbolizer__demangle(s, NULL));
	memset(long_name, 'x', sizeof(long_name));
	memcpy(long_name, "_ZN", 3);
	long_name[sizeof(long_name) - 1] = 0;
	assert_null(demangle__name(long_name));
	symbolizer__free(s);
}

/*
 * A hand-made DWARF 4 unit: f [0x1000, 0x1080) holding a lexical block whose
 * DW_AT_sibling is `sib`.  68 is right (the end of the block).  47 (itself),
 * 28 (f) and 11 (the unit DIE) point back: libdw before 0.188 loops on them
 * in dwarf_siblingof.  69 points past the block's end, into the null entry
 * that ends f's children: libdw would skip it and read on as f's siblings.
 */
static size_t dwarf_image(uint8_t *img, size_t cap, uint32_t sib)
{
	static const uint8_t abbrev[] = {
		1, 0x11, 1, 0x11, 0x01, 0x12, 0x07, 0,	  0,	      /* CU: low_pc, high_pc */
		2, 0x2e, 1, 0x03, 0x08, 0x11, 0x01, 0x12, 0x07, 0, 0, /* subprogram: name too */
		3, 0x0b, 0, 0x01, 0x13, 0x11, 0x01, 0x12, 0x07, 0, 0, /* block: sibling too */
		0
	};
	uint8_t info[70] = { 66, 0, 0, 0, 4, 0, 0, 0, 0, 0, 8 };
	static const char names[] = "\0.debug_info\0.debug_abbrev\0.shstrtab";
	size_t off_info = sizeof(Elf64_Ehdr), off_abbrev = off_info + sizeof(info);
	size_t off_names = off_abbrev + sizeof(abbrev);
	size_t shoff = (off_names + sizeof(names) + 7) & ~(size_t)7;
	uint64_t v;
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	Elf64_Shdr *sh;
	uint8_t *p = info + 11;

	assert_true(shoff + 4 * sizeof(*sh) <= cap);
	memset(img, 0, cap);
	*p++ = 1;
	v = 0x1000, memcpy(p, &v, 8), p += 8;
	v = 0x100, memcpy(p, &v, 8), p += 8;
	*p++ = 2;
	*p++ = 'f', *p++ = 0;
	v = 0x1000, memcpy(p, &v, 8), p += 8;
	v = 0x80, memcpy(p, &v, 8), p += 8;
	*p++ = 3;
	memcpy(p, &sib, 4), p += 4;
	v = 0x1000, memcpy(p, &v, 8), p += 8;
	v = 0x10, memcpy(p, &v, 8), p += 8;
	*p++ = 0;
	*p++ = 0;
	assert_int_equal(p - info, sizeof(info));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_DYN;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_shoff = shoff;
	eh->e_ehsize = sizeof(*eh);
	eh->e_shentsize = sizeof(*sh);
	eh->e_shnum = 4;
	eh->e_shstrndx = 3;
	memcpy(img + off_info, info, sizeof(info));
	memcpy(img + off_abbrev, abbrev, sizeof(abbrev));
	memcpy(img + off_names, names, sizeof(names));
	sh = (Elf64_Shdr *)(img + shoff);
	sh[1] = (Elf64_Shdr){ .sh_name = 1,
			      .sh_type = SHT_PROGBITS,
			      .sh_offset = off_info,
			      .sh_size = sizeof(info),
			      .sh_addralign = 1 };
	sh[2] = (Elf64_Shdr){ .sh_name = 13,
			      .sh_type = SHT_PROGBITS,
			      .sh_offset = off_abbrev,
			      .sh_size = sizeof(abbrev),
			      .sh_addralign = 1 };
	sh[3] = (Elf64_Shdr){ .sh_name = 27,
			      .sh_type = SHT_STRTAB,
			      .sh_offset = off_names,
			      .sh_size = sizeof(names),
			      .sh_addralign = 1 };
	return shoff + 4 * sizeof(*sh);
}

static void test_bad_sibling_refuses_the_unit(void **state)
{
	uint8_t img[1024];
	struct srcline *d;
	struct sym_line l[4];
	size_t len;

	/* the well-formed unit: f is found (so the refusal below is the cycle's doing) */
	len = dwarf_image(img, sizeof(img), 68);
	assert_int_equal(srcline__open_mem(img, len, &d), 0);
	assert_true(srcline__has_dwarf(d));
	assert_int_equal(srcline__lookup(d, 0x1008, l, 4), 1);
	assert_string_equal(l[0].function, "f");
	assert_false(l[0].inlined);
	srcline__close(d);

	alarm(20); /* a hang inside libdw fails the test (SIGALRM) */
	for (size_t i = 0; i < 4; i++) {
		static const uint32_t bad[] = { 47, 28, 11, 69 };

		len = dwarf_image(img, sizeof(img), bad[i]);
		assert_int_equal(srcline__open_mem(img, len, &d), 0);
		assert_int_equal(srcline__lookup(d, 0x1008, l, 4), 0);
		assert_int_equal(srcline__lookup(d, 0x1008, l, 4), 0);
		srcline__close(d);
	}
	alarm(0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpp_template_and_inlined_new),
		cmocka_unit_test(test_ten_byte_leb128),
		cmocka_unit_test(test_one_build_id_one_load),
		cmocka_unit_test(test_stripped_binary_debug_places),
		cmocka_unit_test(test_wrong_debug_file_refused),
		cmocka_unit_test(test_replaced_binary_through_map_files),
		cmocka_unit_test(test_held_file_outlives_its_process),
		cmocka_unit_test(test_held_files_capped_and_let_go),
		cmocka_unit_test(test_debug_file_symtab_names_code_without_dwarf),
		cmocka_unit_test(test_debuginfod),
		cmocka_unit_test(test_dwz_supplementary_file),
		cmocka_unit_test(test_nothing_known_is_nothing),
		cmocka_unit_test(test_demangle_once_per_name),
		cmocka_unit_test(test_bad_sibling_refuses_the_unit),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
