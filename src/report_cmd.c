// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * `drip report REPORT.json` re-exports a JSON report in any format;
 * `drip report --diff OLD.json NEW.json` shows what grew and shrank.
 *
 * Exit status (INTERFACE.md's codes, read for a file instead of a process):
 * 1 usage, including a format that cannot show a diff or is not available
 * yet; 2 a REPORT that is not there or cannot be read (the "target" of this
 * command: ENOENT, EACCES, EISDIR ...); 4 a REPORT that is not a valid
 * format 1 JSON report (malformed, truncated, another format, too large),
 * or output that cannot be written (a half-written -o file is removed).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drip/formats.h"
#include "drip/log.h"
#include "drip/report_cmd.h"
#include "drip/report_load.h"
#include "drip/trace.h"

static const char usage_report[] =
	"usage: drip report REPORT.json [options]\n"
	"       drip report --diff OLD.json NEW.json [options]\n"
	"\n"
	"Write a JSON report (from 'drip trace -f json') in another format, or show\n"
	"what grew and shrank from OLD to NEW (stacks matched by stack_id).\n"
	"\n"
	"  -o, --output FILE        write here (default stdout)\n"
	"  -f, --format FMT         text | json | folded | pprof | svg | html\n"
	"                           (default: from the -o extension, else text);\n"
	"                           with --diff: text | folded | svg | html\n"
	"      --diff               compare two reports: OLD NEW\n"
	"      --top N              stacks to show in text output (default 20)\n"
	"      --weight bytes|count folded, svg, html: weigh stacks by outstanding\n"
	"                           bytes (default) or outstanding blocks\n"
	"      --per-pid            folded, svg, html: one root frame per process\n"
	"      --color[=WHEN]       text diff: growth red, shrink green; WHEN is\n"
	"                           auto (default: when writing to a terminal and\n"
	"                           NO_COLOR is unset), always (--color) or never\n"
	"  -v, --verbose            more messages\n"
	"  -q, --quiet              errors only\n"
	"  -h, --help               this help\n"
	"\n"
	"Exit status: 0 ok, 1 usage, 2 a report file not found or not readable,\n"
	"4 a report that is not a valid drip JSON report (format 1), or other failure.\n";

enum {
	OPT_TOP = 256,
	OPT_WEIGHT,
	OPT_PER_PID,
	OPT_DIFF,
	OPT_COLOR,
};

enum color_when { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER };

static int parse_color(const char *s, enum color_when *when)
{
	if (!s || !strcmp(s, "always")) /* --color alone, as git and grep take it */
		*when = COLOR_ALWAYS;
	else if (!strcmp(s, "never"))
		*when = COLOR_NEVER;
	else if (!strcmp(s, "auto"))
		*when = COLOR_AUTO;
	else {
		pr_err("invalid --color '%s': expected auto, always or never", s);
		return -EINVAL;
	}
	return 0;
}

/* auto: a terminal, unless NO_COLOR is set and not empty (no-color.org) or TERM is dumb */
static bool want_color(enum color_when when, FILE *f)
{
	const char *no = getenv("NO_COLOR"), *term = getenv("TERM");

	if (when != COLOR_AUTO)
		return when == COLOR_ALWAYS;
	if ((no && *no) || (term && !strcmp(term, "dumb")))
		return false;
	return isatty(fileno(f));
}

int report_cmd__parse_weight(const char *s, enum weight *w)
{
	if (!strcmp(s, "bytes")) {
		*w = WEIGHT_BYTES;
		return 0;
	}
	if (!strcmp(s, "count")) {
		*w = WEIGHT_COUNT;
		return 0;
	}
	pr_err("invalid --weight '%s': expected bytes or count", s);
	return -EINVAL;
}

static int parse_top(const char *s, size_t *top)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || isnan(v) || v < 1 || v > 1e6) {
		pr_err("invalid --top '%s': expected a number from 1 to 1e+06", s);
		return -EINVAL;
	}
	*top = (size_t)v;
	return 0;
}

/* -f wins; else the -o extension; else text (as `drip trace`) */
static const struct report_format *pick_format(const char *name, const char *output)
{
	const struct report_format *f;

	if (name) {
		f = format__find(name);
		if (!f)
			pr_err("unknown format '%s': expected one of %s", name, format__names());
		return f;
	}
	f = output ? format__for_path(output) : NULL;
	return f ? f : format__find("text");
}

static bool can_diff(const struct report_format *f)
{
	return !strcmp(f->name, "text") || !strcmp(f->name, "folded") || !strcmp(f->name, "svg") ||
	       !strcmp(f->name, "html");
}

static int load(const char *path, struct report **r)
{
	char why[256];
	int err;

	err = report_load__file(path, r, why, sizeof(why));
	if (!err)
		return EXIT_OK;
	pr_err("cannot read report '%s': %s", path, why);
	switch (err) {
	case -ENOENT:
	case -ENOTDIR:
	case -EACCES:
	case -EPERM:
	case -EISDIR:
	case -ELOOP:
	case -ENAMETOOLONG:
		return EXIT_TARGET;
	default:
		return EXIT_FAILURE_;
	}
}

static int write_out(const struct report_format *fmt, const struct report *r,
		     struct format_opts *fo, const char *output, enum color_when color)
{
	FILE *f = stdout;
	int err;

	if (output) {
		f = fopen(output, "we");
		if (!f) {
			err = -errno;
			pr_err("cannot write '%s': %s", output, strerror(-err));
			return EXIT_FAILURE_;
		}
	}
	fo->color = want_color(color, f);
	if (fo->base && !strcmp(fmt->name, "text"))
		err = format_diff_text(r, fo, f);
	else
		err = fmt->write(r, fo, f);
	if (f != stdout) {
		if (fclose(f) && !err)
			err = -errno;
		if (err)
			unlink(output); /* not a report: do not leave half of one */
	} else if (fflush(f) && !err) {
		err = -errno;
	}
	if (err == -ENOSYS) {
		pr_err("format '%s' is not available yet", fmt->name);
		return EXIT_USAGE;
	}
	if (err == -ENOTSUP && fo->base) {
		pr_err("format '%s' cannot show a diff yet", fmt->name);
		pr_hint("use -f text or -f folded");
		return EXIT_USAGE;
	}
	if (err) {
		pr_err("cannot write report%s%s%s: %s", output ? " '" : "", output ? output : "",
		       output ? "'" : "", strerror(-err));
		return EXIT_FAILURE_;
	}
	return EXIT_OK;
}

int cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, 'f' },
		{ "diff", no_argument, NULL, OPT_DIFF },
		{ "top", required_argument, NULL, OPT_TOP },
		{ "weight", required_argument, NULL, OPT_WEIGHT },
		{ "per-pid", no_argument, NULL, OPT_PER_PID },
		{ "color", optional_argument, NULL, OPT_COLOR },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct format_opts fo = { .top = 20, .weight = WEIGHT_BYTES };
	const char *format = NULL, *output = NULL;
	const struct report_format *fmt;
	struct report *old = NULL, *r = NULL;
	unsigned given = 0; /* enum format_opt */
	enum color_when color = COLOR_AUTO;
	int c, verbose = 0, ret = EXIT_USAGE, want;
	bool diff = false;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "o:f:vqh", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			output = optarg;
			break;
		case 'f':
			format = optarg;
			break;
		case OPT_DIFF:
			diff = true;
			break;
		case OPT_TOP:
			if (parse_top(optarg, &fo.top))
				return EXIT_USAGE;
			given |= FORMAT_OPT_TOP;
			break;
		case OPT_WEIGHT:
			if (report_cmd__parse_weight(optarg, &fo.weight))
				return EXIT_USAGE;
			given |= FORMAT_OPT_WEIGHT;
			break;
		case OPT_PER_PID:
			fo.per_pid = true;
			given |= FORMAT_OPT_PER_PID;
			break;
		case OPT_COLOR:
			if (parse_color(optarg, &color))
				return EXIT_USAGE;
			if (color == COLOR_ALWAYS) /* never and auto ask for nothing to be lost */
				given |= FORMAT_OPT_COLOR;
			else
				given &= ~FORMAT_OPT_COLOR;
			break;
		case 'v':
			verbose++;
			break;
		case 'q':
			verbose = -1;
			break;
		case 'h':
			fputs(usage_report, stdout);
			return EXIT_OK;
		default:
			if (optopt)
				pr_err("unknown or incomplete option '-%c'", optopt);
			else
				pr_err("unknown option '%s'", argv[optind - 1]);
			pr_hint("see 'drip report --help'");
			return EXIT_USAGE;
		}
	}
	log_level = verbose < 0	 ? LOG_ERR :
		    verbose == 0 ? LOG_WARN :
		    verbose == 1 ? LOG_INFO :
				   LOG_DEBUG;
	fo.verbose = verbose > 0;
	want = diff ? 2 : 1;
	if (argc - optind != want) {
		pr_err(diff ? "--diff needs two reports: OLD NEW" :
			      "give one report file: drip report REPORT.json");
		pr_hint("see 'drip report --help'");
		return EXIT_USAGE;
	}
	fmt = pick_format(format, output);
	if (!fmt)
		return EXIT_USAGE;
	if (diff && !can_diff(fmt)) {
		pr_err("format '%s' cannot show a diff: use text, folded, svg or html", fmt->name);
		if (!strcmp(fmt->name, "pprof"))
			pr_hint("export both with -f pprof and run 'go tool pprof -diff_base OLD NEW'");
		return EXIT_USAGE;
	}
	if (format__check_opts(fmt, given, diff))
		return EXIT_USAGE;
	if (fmt->binary && !output && isatty(STDOUT_FILENO)) {
		pr_err("format '%s' is binary: write it to a file with -o", fmt->name);
		return EXIT_USAGE;
	}
	if (diff) {
		ret = load(argv[optind], &old);
		if (ret)
			goto out;
		fo.base = old;
	}
	ret = load(argv[argc - 1], &r);
	if (ret)
		goto out;
	ret = write_out(fmt, r, &fo, output, color);
out:
	report_load__free(r);
	report_load__free(old);
	return ret;
}
