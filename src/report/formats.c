// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "drip/formats.h"
#include "drip/log.h"

static const char *const ext_text[] = { ".txt", ".text", NULL };
static const char *const ext_json[] = { ".json", NULL };
static const char *const ext_folded[] = { ".folded", ".collapsed", NULL };
static const char *const ext_pprof[] = { ".pb.gz", ".pprof", NULL };
static const char *const ext_svg[] = { ".svg", NULL };
static const char *const ext_html[] = { ".html", ".htm", NULL };

#define FLAME_OPTS (FORMAT_OPT_WEIGHT | FORMAT_OPT_PER_PID)

static const struct report_format formats[] = {
	{ .name = "text",
	  .extensions = ext_text,
	  .write = format_text,
	  .shown = format_text_shown,
	  .opts = FORMAT_OPT_TOP,
	  .diff_opts = FORMAT_OPT_TOP | FORMAT_OPT_WEIGHT | FORMAT_OPT_COLOR },
	{ .name = "json", .extensions = ext_json, .write = format_json },
	{ .name = "folded",
	  .extensions = ext_folded,
	  .write = format_folded,
	  .opts = FLAME_OPTS,
	  .diff_opts = FLAME_OPTS },
	{ .name = "pprof", .extensions = ext_pprof, .binary = true, .write = format_pprof },
	/* pprof: both weights are its sample types, and every sample has its pid */
	{ .name = "svg",
	  .extensions = ext_svg,
	  .write = format_svg,
	  .opts = FLAME_OPTS,
	  .diff_opts = FLAME_OPTS },
	{ .name = "html",
	  .extensions = ext_html,
	  .write = format_html,
	  .opts = FLAME_OPTS,
	  .diff_opts = FLAME_OPTS },
};

#define NR_FORMATS (sizeof(formats) / sizeof(formats[0]))

const struct report_format *format__find(const char *name)
{
	for (size_t i = 0; i < NR_FORMATS; i++)
		if (!strcmp(formats[i].name, name))
			return &formats[i];
	return NULL;
}

const struct report_format *format__for_path(const char *path)
{
	size_t len = strlen(path);

	for (size_t i = 0; i < NR_FORMATS; i++) {
		for (const char *const *e = formats[i].extensions; *e; e++) {
			size_t n = strlen(*e);

			if (len > n && !strcmp(path + len - n, *e))
				return &formats[i];
		}
	}
	return NULL;
}

const char *format__names(void)
{
	return "text, json, folded, pprof, svg, html";
}

/* "a, b, c": the formats that use opt, for a report or a diff */
static const char *users(unsigned opt, bool diff, char *buf, size_t size)
{
	size_t i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < NR_FORMATS && n < size; i++)
		if ((diff ? formats[i].diff_opts : formats[i].opts) & opt)
			n += snprintf(buf + n, size - n, "%s%s", n ? ", " : "", formats[i].name);
	return buf;
}

int format__check_opts(const struct report_format *f, unsigned given, bool diff)
{
	static const char *const names[] = { "--top", "--weight", "--per-pid", "--color=always" };
	unsigned bad = given & ~(diff ? f->diff_opts : f->opts), opt = bad & -bad;
	const char *name;
	char buf[64];

	if (!bad)
		return 0;
	name = names[__builtin_ctz(opt)];
	if (*users(opt, diff, buf, sizeof(buf)))
		pr_err("%s does not apply to format '%s'%s: only to %s", name, f->name,
		       diff ? " with --diff" : "", buf);
	else
		pr_err("%s applies only to a diff: --diff with format %s", name,
		       users(opt, true, buf, sizeof(buf)));
	if (opt == FORMAT_OPT_WEIGHT && !strcmp(f->name, "pprof"))
		pr_hint("pprof holds both weights: pick one in the viewer "
			"(go tool pprof -sample_index=inuse_objects)");
	return -EINVAL;
}

int format_text(const struct report *r, const struct format_opts *o, FILE *f)
{
	struct text_opts to = { .top = o ? o->top : 20, .verbose = o && o->verbose };

	return report__write_text(r, &to, f);
}

int format_text_shown(const struct report *r, const struct format_opts *o, bool *shown)
{
	struct text_opts to = { .top = o ? o->top : 20, .verbose = o && o->verbose };

	return report__text_shown(r, &to, shown);
}

int format_json(const struct report *r, const struct format_opts *o, FILE *f)
{
	return report__write_json(r, f);
}
