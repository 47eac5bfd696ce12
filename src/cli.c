// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* Command table, option parsing with checked limits, exit codes. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drip/doctor.h"
#include "drip/formats.h"
#include "drip/log.h"
#include "drip/report.h"
#include "drip/report_cmd.h"
#include "drip/trace.h"

#define DEFAULT_RINGBUF (32u << 20)

static const char usage_main[] =
	"usage: drip <command> [options]\n"
	"\n"
	"drip traces memory that running processes allocate and do not free, by call\n"
	"stack and PID, across whole process trees, without restarting anything.\n"
	"\n"
	"commands:\n"
	"  trace    trace until Ctrl-C, --duration or the targets exit, then report\n"
	"  report   write a JSON report in another format, or diff two reports\n"
	"  doctor   check the kernel, permissions and features drip needs\n"
	"\n"
	"Run 'drip <command> --help' for its options.\n";

static const char usage_trace[] =
	"usage: drip trace -p PID[,PID...] [options]\n"
	"       drip trace [options] -- COMMAND [ARGS...]\n"
	"\n"
	"Report which call stacks hold memory allocated while drip watched and not\n"
	"freed, in which processes.  Children, threads and exec'd images follow.\n"
	"\n"
	"target:\n"
	"  -p, --pid PID[,PID...]   attach to running processes and all their descendants\n"
	"      --no-children        do not follow children (only the given processes)\n"
	"      --cgroup PATH        only processes in this cgroup v2 directory (or below)\n"
	"  -- COMMAND [ARGS...]     start COMMAND traced from its first instruction\n"
	"\n"
	"when to report:\n"
	"  -d, --duration SECONDS   stop after this long\n"
	"  -i, --interval SECONDS   also report every SECONDS\n"
	"      --grace SECONDS      on stop, wait this long for COMMAND to exit after\n"
	"                           SIGINT so its memory at exit is captured (default 5)\n"
	"\n"
	"report:\n"
	"  -o, --output FILE        write the report here (default stdout)\n"
	"  -f, --format FMT         text | json | folded | pprof | svg | html\n"
	"                           (default: from the -o extension, else text)\n"
	"      --top N              stacks to show in text output (default 20)\n"
	"      --weight bytes|count folded, svg, html: weigh stacks by outstanding\n"
	"                           bytes (default) or outstanding blocks\n"
	"      --per-pid            folded, svg, html: one root frame per process\n"
	"      --min-age SECONDS    only count allocations at least this old (default 0)\n"
	"\n"
	"tracing:\n"
	"      --ringbuf-size MB    BPF ring buffer size in MiB, power of two (default 32)\n"
	"      --no-stacks          do not capture stacks (totals per process only)\n"
	"      --no-python          native stacks only in CPython processes: no Python\n"
	"                           frames (the interpreter's eval-loop frames instead)\n"
	"      --unwind MODE        dwarf (default: .eh_frame tables, frame pointers as\n"
	"                           fallback) or fp (frame pointers only)\n"
	"      --no-mmap            do not count anonymous mmap/munmap made by the program\n"
	"      --empty-programs     benchmark aid: probes fire but record nothing\n"
	"\n"
	"  -v, --verbose            more messages (-vv: debug)\n"
	"  -q, --quiet              errors only\n"
	"  -h, --help               this help\n"
	"\n"
	"Exit status: 0 ok, 1 usage, 2 target not found or not runnable, 3 permission\n"
	"or kernel feature missing, 4 other failure.\n";

/* A number within [lo, hi], or a usage error naming the option. */
static int parse_double(const char *opt, const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || isnan(v) || v < lo || v > hi) {
		pr_err("invalid %s '%s': expected a number from %g to %g", opt, s, lo, hi);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int parse_pids(const char *s, struct trace_opts *o)
{
	const char *p = s;

	while (*p) {
		char *end;
		long v;
		pid_t *n;

		errno = 0;
		v = strtol(p, &end, 10);
		if (errno || end == p || v <= 0 || v > INT_MAX || (*end && *end != ',')) {
			pr_err("invalid PID list '%s': expected PID[,PID...]", s);
			return -EINVAL;
		}
		n = realloc(o->pids, (o->nr_pids + 1) * sizeof(*n));
		if (!n)
			return -ENOMEM;
		o->pids = n;
		o->pids[o->nr_pids++] = (pid_t)v;
		p = *end ? end + 1 : end;
	}
	return 0;
}

/* -f wins; else the -o extension; else text. */
static int pick_format(const char *name, const char *output, const struct report_format **f)
{
	if (name) {
		*f = format__find(name);
		if (!*f) {
			pr_err("unknown format '%s': expected one of %s", name, format__names());
			return -EINVAL;
		}
	} else {
		*f = output ? format__for_path(output) : NULL;
		if (!*f)
			*f = format__find("text");
	}
	if ((*f)->binary && !output && isatty(STDOUT_FILENO)) {
		pr_err("format '%s' is binary: write it to a file with -o", (*f)->name);
		return -EINVAL;
	}
	return 0;
}

enum {
	OPT_NO_CHILDREN = 256,
	OPT_GRACE,
	OPT_TOP,
	OPT_MIN_AGE,
	OPT_RINGBUF,
	OPT_NO_STACKS,
	OPT_NO_MMAP,
	OPT_EMPTY_PROGRAMS,
	OPT_UNWIND,
	OPT_WEIGHT,
	OPT_PER_PID,
	OPT_CGROUP,
	OPT_NO_PYTHON,
};

static int cmd_trace(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "all", no_argument, NULL, 'a' },
		{ "no-children", no_argument, NULL, OPT_NO_CHILDREN },
		{ "cgroup", required_argument, NULL, OPT_CGROUP },
		{ "duration", required_argument, NULL, 'd' },
		{ "interval", required_argument, NULL, 'i' },
		{ "grace", required_argument, NULL, OPT_GRACE },
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, 'f' },
		{ "top", required_argument, NULL, OPT_TOP },
		{ "weight", required_argument, NULL, OPT_WEIGHT },
		{ "per-pid", no_argument, NULL, OPT_PER_PID },
		{ "min-age", required_argument, NULL, OPT_MIN_AGE },
		{ "ringbuf-size", required_argument, NULL, OPT_RINGBUF },
		{ "no-stacks", no_argument, NULL, OPT_NO_STACKS },
		{ "no-python", no_argument, NULL, OPT_NO_PYTHON },
		{ "no-mmap", no_argument, NULL, OPT_NO_MMAP },
		{ "empty-programs", no_argument, NULL, OPT_EMPTY_PROGRAMS },
		{ "unwind", required_argument, NULL, OPT_UNWIND },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct trace_opts o = {
		.follow_children = true,
		.grace_s = 5,
		.top = 20,
		.ringbuf_size = DEFAULT_RINGBUF,
		.stacks = true,
		.python = true,
		.trace_mmap = true,
	};
	const char *format = NULL;
	enum weight weight;
	unsigned given = 0; /* enum format_opt */
	int c, verbose = 0, ret = EXIT_USAGE;
	double v;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+p:ad:i:o:f:vqh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_pids(optarg, &o))
				goto out;
			break;
		case 'a':
			pr_err("-a/--all is not available yet");
			goto out;
		case OPT_CGROUP:
			o.cgroup = optarg;
			break;
		case OPT_NO_CHILDREN:
			o.follow_children = false;
			break;
		case 'd':
			if (parse_double("--duration", optarg, 0.001, 1e9, &o.duration_s))
				goto out;
			break;
		case 'i':
			if (parse_double("--interval", optarg, 0.1, 1e9, &o.interval_s))
				goto out;
			break;
		case OPT_GRACE:
			if (parse_double("--grace", optarg, 0, 3600, &o.grace_s))
				goto out;
			break;
		case 'o':
			o.output = optarg;
			break;
		case 'f':
			format = optarg;
			break;
		case OPT_TOP:
			if (parse_double("--top", optarg, 1, 1e6, &v))
				goto out;
			o.top = (size_t)v;
			given |= FORMAT_OPT_TOP;
			break;
		case OPT_WEIGHT:
			if (report_cmd__parse_weight(optarg, &weight))
				goto out;
			o.weight = weight;
			given |= FORMAT_OPT_WEIGHT;
			break;
		case OPT_PER_PID:
			o.per_pid = true;
			given |= FORMAT_OPT_PER_PID;
			break;
		case OPT_MIN_AGE:
			if (parse_double("--min-age", optarg, 0, 1e9, &o.min_age_s))
				goto out;
			break;
		case OPT_RINGBUF:
			if (parse_double("--ringbuf-size", optarg, 1, 4096, &v))
				goto out;
			o.ringbuf_size = (size_t)v << 20;
			if (o.ringbuf_size & (o.ringbuf_size - 1)) {
				pr_err("invalid --ringbuf-size '%s': expected a power of two",
				       optarg);
				goto out;
			}
			break;
		case OPT_NO_STACKS:
			o.stacks = false;
			break;
		case OPT_NO_PYTHON:
			o.python = false;
			break;
		case OPT_NO_MMAP:
			o.trace_mmap = false;
			break;
		case OPT_EMPTY_PROGRAMS:
			o.empty_programs = true;
			break;
		case OPT_UNWIND:
			if (strcmp(optarg, "dwarf") && strcmp(optarg, "fp")) {
				pr_err("invalid --unwind '%s': expected dwarf or fp", optarg);
				goto out;
			}
			o.fp_only = !strcmp(optarg, "fp");
			break;
		case 'v':
			verbose++;
			break;
		case 'q':
			verbose = -1;
			break;
		case 'h':
			fputs(usage_trace, stdout);
			ret = EXIT_OK;
			goto out;
		default:
			if (optopt)
				pr_err("unknown or incomplete option '-%c'", optopt);
			else
				pr_err("unknown option '%s'", argv[optind - 1]);
			pr_hint("see 'drip trace --help'");
			goto out;
		}
	}
	log_level = verbose < 0	 ? LOG_ERR :
		    verbose == 0 ? LOG_WARN :
		    verbose == 1 ? LOG_INFO :
				   LOG_DEBUG;
	o.verbose = verbose > 0;
	if (optind < argc) {
		/* getopt stops at "--" or the first non-option */
		if (strcmp(argv[optind - 1], "--")) {
			pr_err("unexpected argument '%s': put the command after '--'",
			       argv[optind]);
			goto out;
		}
		o.argv = &argv[optind];
	}
	if (!o.argv == !o.nr_pids) {
		pr_err(o.argv ? "give either -p PID or -- COMMAND, not both" :
				"no target: give -p PID or -- COMMAND");
		pr_hint("see 'drip trace --help'");
		goto out;
	}
	if (pick_format(format, o.output, &o.format) || format__check_opts(o.format, given, false))
		goto out;
	ret = trace__run(&o);
out:
	free(o.pids);
	return ret;
}

static int cmd_doctor(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		puts("usage: drip doctor\n\nCheck the kernel, permissions and features drip needs.\n"
		     "Exit status 0 when everything required works, 3 otherwise.");
		return EXIT_OK;
	}
	return doctor__run(stdout);
}

static const struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
} cmds[] = {
	{ "trace", cmd_trace },
	{ "report", cmd_report },
	{ "doctor", cmd_doctor },
};

/* INTERFACE.md commands that arrive with later work */
static const char *const later_cmds[] = { "top", "record", "serve", "sample" };

int cli__main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : NULL;

	if (!name || !strcmp(name, "-h") || !strcmp(name, "--help") || !strcmp(name, "help")) {
		fputs(usage_main, name ? stdout : stderr);
		return name ? EXIT_OK : EXIT_USAGE;
	}
	if (!strcmp(name, "--version") || !strcmp(name, "version")) {
		printf("drip %s\n", DRIP_VERSION);
		return EXIT_OK;
	}
	/* names match exactly: the command set is a contract */
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(name, cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	for (size_t i = 0; i < sizeof(later_cmds) / sizeof(later_cmds[0]); i++) {
		if (!strcmp(name, later_cmds[i])) {
			pr_err("command '%s' is not available yet", name);
			return EXIT_USAGE;
		}
	}
	pr_err("unknown command '%s'", name);
	pr_hint("see 'drip --help'");
	return EXIT_USAGE;
}
