// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The svg and html writers with hostile names: the output must parse (the
 * SVG with python3's xml.dom.minidom, the page's embedded JSON with json),
 * carry each name intact or visibly replaced, and load nothing from outside.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "drip/formats.h"

#define EXE	 "/app/srv"
#define LONG_LEN 10240

static char long_name[LONG_LEN + 1];

/* frames[0] of each stack; the outer frame is main */
static const char *const hostile[] = {
	"a;b c",
	"<script>alert(1)</script>",
	"</script><!--<script>",
	"&amp;\"'",
	"line1\nline2\r\t",
	"esc\x1b[31m\x01",
	"bad\xff\xfe\xc0",
	"nonchar\xef\xbf\xbe\xef\xbf\xbf",
	"]]>",
	"bidi\xe2\x80\xae"
	"evil",
	long_name,
};
#define NR_HOSTILE (sizeof(hostile) / sizeof(hostile[0]))

static struct report_frame frames[NR_HOSTILE][2];
static struct report_stack stacks[NR_HOSTILE];
static struct report_merged merged[NR_HOSTILE];

static const struct report_process procs[] = {
	{ .pid = 42, .ppid = 1, .comm = "evil</title><b>\x1b", .exe = "/app/<srv>&" },
};

static struct report rep;

static void fill_report(void)
{
	uint64_t total = 0;

	memset(long_name, 'x', LONG_LEN);
	memcpy(long_name, "long<", 5);
	for (size_t i = 0; i < NR_HOSTILE; i++) {
		frames[i][0] = (struct report_frame){ .kind = FRAME_NATIVE,
						      .function = hostile[i],
						      .module = "/app/lib<evil>.so\n" };
		frames[i][1] = (struct report_frame){ .kind = FRAME_NATIVE,
						      .function = "main",
						      .module = EXE };
		stacks[i] = (struct report_stack){ .pid = 42,
						   .outstanding_bytes = 1000 - i * 10,
						   .outstanding_allocs = 1 + i,
						   .nr_frames = 2,
						   .frames = frames[i] };
		snprintf(stacks[i].stack_id, sizeof(stacks[i].stack_id), "%016zx", i + 1);
		merged[i] =
			(struct report_merged){ .pids = 1,
						.outstanding_bytes = stacks[i].outstanding_bytes,
						.outstanding_allocs = stacks[i].outstanding_allocs,
						.first_stack = i };
		memcpy(merged[i].stack_id, stacks[i].stack_id, sizeof(merged[i].stack_id));
		total += stacks[i].outstanding_bytes;
	}
	rep = (struct report){
		.duration_s = 1.5,
		.totals = { .outstanding_bytes = total, .outstanding_allocs = 66 },
		.nr_processes = 1,
		.processes = procs,
		.nr_stacks = NR_HOSTILE,
		.stacks = stacks,
		.nr_merged = NR_HOSTILE,
		.merged = merged,
	};
}

/* The writer's output in memory (NUL-terminated) */
static char *render(int (*write)(const struct report *, const struct format_opts *, FILE *),
		    const struct report *r, const struct format_opts *o, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	assert_non_null(f);
	assert_int_equal(write(r, o, f), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static char *save(const char *data, size_t len, const char *suffix)
{
	char *path = strdup("/tmp/drip-test-XXXXXX.suffix"), *dot = strrchr(path, '.');
	int fd;

	strcpy(dot, suffix);
	fd = mkstemps(path, strlen(suffix));
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

/* Run a python3 script on file; its exit status */
static int python(const char *script, const char *file)
{
	char *sp = save(script, strlen(script), ".py");
	char cmd[256];
	int rc;

	snprintf(cmd, sizeof(cmd), "python3 %s %s", sp, file);
	rc = system(cmd);
	unlink(sp);
	free(sp);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* Every name, as a tooltip's first line shows it (replaced where XML cannot carry it) */
static const char svg_check[] =
	"import sys, xml.dom.minidom\n"
	"doc = xml.dom.minidom.parse(sys.argv[1])\n"
	"def text(e): return ''.join(n.data for n in e.childNodes if n.nodeType == n.TEXT_NODE)\n"
	"names = [text(t).split('\\n')[0] for t in doc.getElementsByTagName('title')]\n"
	"want = ['a;b c', '<script>alert(1)</script>', '</script><!--<script>', '&amp;\"\\'',\n"
	"        'line1\\ufffdline2\\ufffd\\ufffd', 'esc\\ufffd[31m\\ufffd', 'bad\\ufffd\\ufffd\\ufffd',\n"
	"        'nonchar\\ufffd\\ufffd', ']]>', 'bidi\\ufffdevil', 'main', 'all']\n"
	"missing = [w for w in want if w not in names]\n"
	"assert not missing, ('missing', missing, names)\n"
	"longs = [n for n in names if n.startswith('long<')]\n"
	"assert len(longs) == 1 and len(longs[0]) == 1024 and longs[0].endswith('\\u2026'), longs\n"
	"tips = [text(t) for t in doc.getElementsByTagName('title')]\n"
	"assert any('module: /app/lib<evil>.so\\ufffd' in t for t in tips), tips\n"
	"ids = {e.getAttribute('id'): text(e) for e in doc.getElementsByTagName('text')}\n"
	"assert ids['title'] == 'T</title><script>x</script>\\ufffd', ids['title']\n"
	"assert '10450 B (10.2 KiB) outstanding in 66 allocs' in ids['subtitle'], ids['subtitle']\n"
	"assert len(doc.getElementsByTagName('script')) == 1\n";

static void test_svg_parses_with_hostile_names(void **state)
{
	struct format_opts o = { .title = "T</title><script>x</script>\x07" };
	size_t len;
	char *svg = render(format_svg, &rep, &o, &len), *path;

	assert_int_equal(strlen(svg), len); /* no NUL byte */
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)svg[i] < 0x20 && svg[i] != '\n')
			fail_msg("control byte 0x%02x at offset %zu", svg[i], i);
	assert_null(strstr(svg, "<script>alert"));
	assert_non_null(strstr(svg, "&lt;script&gt;alert(1)&lt;/script&gt;"));
	path = save(svg, len, ".svg");
	assert_int_equal(python(svg_check, path), 0);
	unlink(path);
	free(path);
	free(svg);
}

static void test_svg_is_self_contained_and_bounded(void **state)
{
	size_t len;
	char *svg = render(format_svg, &rep, NULL, &len);

	assert_null(strstr(svg, "href"));
	assert_null(strstr(svg, "url(http"));
	assert_null(strstr(svg, "@import"));
	/* the only URL is the SVG namespace, which is a name, not a fetch */
	for (const char *p = svg; (p = strstr(p, "http")); p++)
		assert_memory_equal(p, "http://www.w3.org/2000/svg\"", 27);
	assert_true(len < 64 * 1024); /* the 10 KiB name is cut */
	free(svg);
}

static const struct report_frame grow_frames[] = {
	{ .kind = FRAME_NATIVE, .function = "grows", .module = EXE },
	{ .kind = FRAME_NATIVE, .function = "main", .module = EXE },
};
static const struct report_frame shrink_frames[] = {
	{ .kind = FRAME_NATIVE, .function = "shrinks", .module = EXE },
	{ .kind = FRAME_NATIVE, .function = "main", .module = EXE },
};

static void diff_reports(struct report *now, struct report *old, struct report_stack s[4],
			 struct report_merged m[4])
{
	s[0] = (struct report_stack){ .pid = 1,
				      .stack_id = "00000000000000a1",
				      .outstanding_bytes = 3000,
				      .outstanding_allocs = 3,
				      .nr_frames = 2,
				      .frames = grow_frames };
	s[1] = (struct report_stack){ .pid = 1,
				      .stack_id = "00000000000000b2",
				      .outstanding_bytes = 1000,
				      .outstanding_allocs = 1,
				      .nr_frames = 2,
				      .frames = shrink_frames };
	s[2] = (struct report_stack){ .pid = 9,
				      .stack_id = "00000000000000a1",
				      .outstanding_bytes = 1000,
				      .outstanding_allocs = 1,
				      .nr_frames = 2,
				      .frames = grow_frames };
	s[3] = (struct report_stack){ .pid = 9,
				      .stack_id = "00000000000000b2",
				      .outstanding_bytes = 4000,
				      .outstanding_allocs = 4,
				      .nr_frames = 2,
				      .frames = shrink_frames };
	for (int i = 0; i < 4; i++) {
		m[i] = (struct report_merged){ .pids = 1,
					       .outstanding_bytes = s[i].outstanding_bytes,
					       .outstanding_allocs = s[i].outstanding_allocs,
					       .first_stack = i % 2 };
		memcpy(m[i].stack_id, s[i].stack_id, sizeof(m[i].stack_id));
	}
	*now = (struct report){ .totals = { .outstanding_bytes = 4000, .outstanding_allocs = 4 },
				.nr_stacks = 2,
				.stacks = s,
				.nr_merged = 2,
				.merged = m };
	*old = (struct report){ .totals = { .outstanding_bytes = 5000, .outstanding_allocs = 5 },
				.nr_stacks = 2,
				.stacks = s + 2,
				.nr_merged = 2,
				.merged = m + 2 };
}

static void test_svg_diff_colours_and_deltas(void **state)
{
	struct report_stack s[4];
	struct report_merged m[4];
	struct report now, old;
	struct format_opts o = { 0 };
	size_t len;
	char *svg, *grows, *shrinks;

	diff_reports(&now, &old, s, m);
	o.base = &old;
	svg = render(format_svg, &now, &o, &len);
	grows = strstr(svg, "<title>grows");
	shrinks = strstr(svg, "<title>shrinks");
	assert_non_null(grows);
	assert_non_null(shrinks);
	/* 1000 -> 3000: +2.0 KiB, +200%, red at 2/3 intensity; 4000 -> 1000: blue at 3/4 */
	assert_non_null(strstr(grows, "new 2.9 KiB, old 1000 B, delta +2.0 KiB (+200.0%)"));
	assert_non_null(strstr(grows, "fill=\"rgb(255,102,102)\""));
	assert_non_null(strstr(shrinks, "delta -2.9 KiB (-75.0%)"));
	assert_non_null(strstr(shrinks, "fill=\"rgb(85,85,255)\""));
	assert_non_null(
		strstr(svg, "new 4000 B (3.9 KiB) vs old 5000 B (4.9 KiB): -1000 B (-20.0%)"));
	free(svg);
}

/* The page's data: one JSON block that nothing inside can end early */
static const char html_check[] =
	"import sys, json, re\n"
	"s = open(sys.argv[1], encoding='utf-8').read()\n"
	"m = re.search(r'<script type=\"application/json\" id=\"drip-data\">(.*?)</script>', s, re.S)\n"
	"d = json.loads(m.group(1))\n"
	"assert s.count('<script') == 2, s.count('<script')\n"
	"assert '<!--' not in s\n"
	"for bad in ('http:', 'https:', 'src=', 'href=', '@import', 'url('):\n"
	"    assert bad not in s, bad\n"
	"assert \"default-src 'none'\" in s\n"
	"assert '<title>T&lt;/title&gt;&lt;script&gt;x&lt;/script&gt;\\ufffd</title>' in s\n"
	"S = d['strings']\n"
	"want = ['a;b c', '<script>alert(1)</script>', '</script><!--<script>', '&amp;\"\\'',\n"
	"        'line1\\nline2\\r\\t', 'esc\\x1b[31m\\x01', 'bad\\ufffd\\ufffd\\ufffd',\n"
	"        'nonchar\\ufffe\\uffff', ']]>', 'bidi\\u202eevil', 'main', 'all', '/app/<srv>&']\n"
	"missing = [w for w in want if w not in S]\n"
	"assert not missing, missing\n"
	"longs = [n for n in S if n.startswith('long<')]\n"
	"assert len(longs) == 1 and len(longs[0]) == 2049 and longs[0].endswith('\\u2026'), longs\n"
	"assert d['title'] == 'T</title><script>x</script>\\x07'\n"
	"assert d['processes'][0][2] == 'evil</title><b>\\x1b'\n"
	"assert S[d['processes'][0][6]] == '/app/<srv>&'\n"
	"assert d['total'] == {'bytes': 10450, 'allocs': 66}, d['total']\n"
	"n = d['nodes']\n"
	"assert len(n) % 10 == 0 and n[:6] == [0, 0, 10450, 66, 0, 0], n[:10]\n"
	"assert S[n[6]] == 'all' and S[n[16]] == 'main'\n"
	"top = d['stacks'][0]\n"
	"assert S[top['f'][0]] == 'a;b c' and S[top['f'][1]] == '/app/lib<evil>.so\\n', top\n"
	"assert top['b'] == 1000 and top['a'] == 1 and top['p'] == 1, top\n"
	"assert d['stacks_total'] == 11 and len(d['stacks']) == 11\n";

static void test_html_data_parses_with_hostile_names(void **state)
{
	struct format_opts o = { .title = "T</title><script>x</script>\x07" };
	size_t len;
	char *html = render(format_html, &rep, &o, &len), *path;

	assert_int_equal(strlen(html), len);
	assert_null(strstr(html, "<script>alert"));
	assert_null(strstr(html, "</script><!--"));
	path = save(html, len, ".html");
	assert_int_equal(python(html_check, path), 0);
	unlink(path);
	free(path);
	free(html);
}

static const char html_diff_check[] =
	"import sys, json, re\n"
	"s = open(sys.argv[1], encoding='utf-8').read()\n"
	"m = re.search(r'<script type=\"application/json\" id=\"drip-data\">(.*?)</script>', s, re.S)\n"
	"d = json.loads(m.group(1))\n"
	"S = d['strings']\n"
	"assert d['diff'] is True and d['old_total'] == {'bytes': 5000, 'allocs': 5}\n"
	"rows = [(S[r['f'][0]], r['b'], r['ob'], r['a'], r['oa']) for r in d['stacks']]\n"
	"assert rows == [('shrinks', 1000, 4000, 1, 4), ('grows', 3000, 1000, 3, 1)], rows\n"
	"n = d['nodes']\n"
	"nodes = {S[n[i + 6]]: n[i:i + 6] for i in range(0, len(n), 10)}\n"
	"assert nodes['grows'][2:] == [3000, 3, 1000, 1], nodes\n"
	"assert nodes['shrinks'][2:] == [1000, 1, 4000, 4], nodes\n";

static void test_html_diff_rows_carry_old_and_new(void **state)
{
	struct report_stack s[4];
	struct report_merged m[4];
	struct report now, old;
	struct format_opts o = { 0 };
	size_t len;
	char *html, *path;

	diff_reports(&now, &old, s, m);
	o.base = &old;
	html = render(format_html, &now, &o, &len);
	path = save(html, len, ".html");
	assert_int_equal(python(html_diff_check, path), 0);
	unlink(path);
	free(path);
	free(html);
}

static void test_html_table_keeps_top_rows(void **state)
{
	enum { N = 600 };
	struct report_stack *s = calloc(N, sizeof(*s));
	struct report_merged *m = calloc(N, sizeof(*m));
	struct report r = { .nr_stacks = N, .stacks = s, .nr_merged = N, .merged = m };
	size_t len;
	char *html, *p;
	int rows = 0;

	assert_non_null(s);
	assert_non_null(m);
	for (int i = 0; i < N; i++) {
		s[i] = (struct report_stack){ .pid = 1,
					      .outstanding_bytes = N - i,
					      .outstanding_allocs = 1,
					      .nr_frames = 2,
					      .frames = grow_frames };
		snprintf(s[i].stack_id, sizeof(s[i].stack_id), "%016x", i);
		m[i] = (struct report_merged){ .pids = 1,
					       .outstanding_bytes = N - i,
					       .outstanding_allocs = 1,
					       .first_stack = i };
		memcpy(m[i].stack_id, s[i].stack_id, sizeof(m[i].stack_id));
		r.totals.outstanding_bytes += N - i;
	}
	html = render(format_html, &r, NULL, &len);
	assert_non_null(strstr(html, "\"stacks_total\":600,"));
	for (p = html; (p = strstr(p, "{\"id\":")); p++)
		rows++;
	assert_int_equal(rows, 500);
	assert_non_null(strstr(html, "{\"id\":\"00000000000001f3\",\"b\":101,")); /* the 500th */
	assert_null(strstr(html, "\"b\":100,"));
	free(html);
	free(s);
	free(m);
}

static void test_empty_report_still_renders(void **state)
{
	struct report r = { 0 };
	size_t len;
	char *svg = render(format_svg, &r, NULL, &len), *html, *path;

	assert_non_null(strstr(svg, "no outstanding memory"));
	path = save(svg, len, ".svg");
	assert_int_equal(
		python("import sys, xml.dom.minidom\nxml.dom.minidom.parse(sys.argv[1])\n", path),
		0);
	unlink(path);
	free(path);
	html = render(format_html, &r, NULL, &len);
	assert_non_null(strstr(html, "\"nodes\":[]"));
	free(html);
	free(svg);
}

static void test_write_errors_are_reported(void **state)
{
	FILE *f = fopen("/dev/full", "w");

	assert_non_null(f);
	assert_int_equal(format_svg(&rep, NULL, f), -EIO);
	clearerr(f);
	assert_int_equal(format_html(&rep, NULL, f), -EIO);
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_svg_parses_with_hostile_names),
		cmocka_unit_test(test_svg_is_self_contained_and_bounded),
		cmocka_unit_test(test_svg_diff_colours_and_deltas),
		cmocka_unit_test(test_html_data_parses_with_hostile_names),
		cmocka_unit_test(test_html_diff_rows_carry_old_and_new),
		cmocka_unit_test(test_html_table_keeps_top_rows),
		cmocka_unit_test(test_empty_report_still_renders),
		cmocka_unit_test(test_write_errors_are_reported),
	};

	fill_report();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
