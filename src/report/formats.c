// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <string.h>

#include "drip/formats.h"

static const char *const ext_text[] = { ".txt", ".text", NULL };
static const char *const ext_json[] = { ".json", NULL };
static const char *const ext_folded[] = { ".folded", ".collapsed", NULL };
static const char *const ext_pprof[] = { ".pb.gz", ".pprof", NULL };
static const char *const ext_svg[] = { ".svg", NULL };
static const char *const ext_html[] = { ".html", ".htm", NULL };

static const struct report_format formats[] = {
	{ "text", ext_text, false, format_text, format_text_shown },
	{ "json", ext_json, false, format_json, NULL },
	{ "folded", ext_folded, false, format_folded, NULL },
	{ "pprof", ext_pprof, true, format_pprof, NULL },
	{ "svg", ext_svg, false, format_svg, NULL },
	{ "html", ext_html, false, format_html, NULL },
};

const struct report_format *format__find(const char *name)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (!strcmp(formats[i].name, name))
			return &formats[i];
	return NULL;
}

const struct report_format *format__for_path(const char *path)
{
	size_t len = strlen(path);

	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
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
