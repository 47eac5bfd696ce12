// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Flame graph as one self-contained SVG, in the manner of flamegraph.pl:
 * every frame is drawn by this writer (so the image reads without scripts),
 * and an inline script adds hover details, click to zoom, search (regex,
 * with the matched share) and Ctrl-F / Escape. No external resources.
 *
 * Each frame is <g data-x data-w data-d><title/><rect/><text/></g>, in
 * pre-order: data-x and data-w are its left edge and width in weight units,
 * exact, so zooming by several orders of magnitude stays exact; data-d is
 * its depth. The title's first line is the frame's full name (the label is
 * that name cut to fit, with an ellipsis).
 *
 * Names are bytes from the target: flame__put_xml() escapes them and
 * replaces what XML cannot carry, so the file always parses.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "drip/flame.h"
#include "drip/formats.h"
#include "drip/units.h"

#define SVG_WIDTH    1200
#define SVG_PAD	     10
#define SVG_FRAME_H  16	  /* row pitch; rects are one pixel less */
#define SVG_HEAD     74	  /* title, subtitle, note, controls */
#define SVG_FOOT     30	  /* details line */
#define SVG_CHAR_W   7.22 /* 12 px monospace advance */
#define SVG_NAME_MAX 1024 /* characters of a name in a tooltip */
#define SVG_PATH_MAX 256

static const char svg_style[] =
	"<style type=\"text/css\"><![CDATA[\n"
	"text { font-family: Verdana, \"DejaVu Sans\", Arial, sans-serif; font-size: 12px; fill: #222; }\n"
	"#title { font-size: 17px; font-weight: bold; text-anchor: middle; }\n"
	"#subtitle { text-anchor: middle; fill: #555; }\n"
	"#note { text-anchor: middle; fill: #777; font-size: 11px; }\n"
	"#details { fill: #222; }\n"
	"#matched { text-anchor: end; fill: #222; }\n"
	".btn { cursor: pointer; fill: #1a5fb4; }\n"
	".btn:hover { text-decoration: underline; }\n"
	"#unzoom { opacity: 0; pointer-events: none; }\n"
	"#unzoom.on { opacity: 1; pointer-events: auto; }\n"
	"#frames g { cursor: pointer; }\n"
	"#frames rect { stroke: none; }\n"
	"#frames g:hover rect { stroke: #000; stroke-width: 0.6; }\n"
	"#frames text { font-family: \"DejaVu Sans Mono\", Menlo, Consolas, monospace; font-size: 12px;"
	" fill: #000; pointer-events: none; }\n"
	"#frames g.parent { opacity: 0.5; }\n"
	"#frames g.hide { display: none; }\n"
	"#drip-error { fill: #c01c28; font-weight: bold; }\n"
	"]]></style>\n";

/* Runs after the frames are parsed (it is the last element). */
static const char svg_script[] =
	"<script type=\"text/ecmascript\"><![CDATA[\n"
	"(function () {\n"
	"\"use strict\";\n"
	"var svg = document.documentElement, NS = \"http://www.w3.org/2000/svg\";\n"
	"var W = +svg.getAttribute(\"data-width\"), PAD = 10, CW = 7.22, HIT = \"rgb(230,0,230)\";\n"
	"var frames = [], zoomed = null, term = null, details, matched, unzoom, search;\n"
	"function $(id) { return document.getElementById(id); }\n"
	"function fit(s, w) {\n"
	"  var n = Math.floor((w - 6) / CW);\n"
	"  if (n < 3) return \"\";\n"
	"  return s.length <= n ? s : s.slice(0, n - 1) + \"\\u2026\";\n"
	"}\n"
	"function place(f, x, w) {\n"
	"  f.r.setAttribute(\"x\", x.toFixed(2));\n"
	"  f.r.setAttribute(\"width\", Math.max(w - 1, 0.1).toFixed(2));\n"
	"  f.t.setAttribute(\"x\", (x + 3).toFixed(2));\n"
	"  f.t.textContent = fit(f.name, w);\n"
	"}\n"
	"function show(f, on, parent) {\n"
	"  f.g.classList.toggle(\"hide\", !on);\n"
	"  f.g.classList.toggle(\"parent\", !!parent);\n"
	"}\n"
	"function zoom(z) {\n"
	"  var scale = (W - 2 * PAD) / z.w, i, f;\n"
	"  zoomed = z === frames[0] ? null : z;\n"
	"  for (i = 0; i < frames.length; i++) {\n"
	"    f = frames[i];\n"
	"    if (f.d < z.d) {\n"
	"      var anc = f.x <= z.x && f.x + f.w >= z.x + z.w;\n"
	"      show(f, anc, true);\n"
	"      if (anc) place(f, PAD, W - 2 * PAD);\n"
	"    } else if (f.x >= z.x && f.x + f.w <= z.x + z.w) {\n"
	"      show(f, true, false);\n"
	"      place(f, PAD + (f.x - z.x) * scale, f.w * scale);\n"
	"    } else {\n"
	"      show(f, false, false);\n"
	"    }\n"
	"  }\n"
	"  unzoom.classList.toggle(\"on\", !!zoomed);\n"
	"}\n"
	"function pct(part, whole) { return whole ? (100 * part / whole).toFixed(2) + \"%\" : \"0%\"; }\n"
	"function find(t) {\n"
	"  var re = null, i, f, hit, end = -1, sum = 0;\n"
	"  term = t || null;\n"
	"  if (term) { try { re = new RegExp(term, \"i\"); } catch (e) { re = null; } }\n"
	"  for (i = 0; i < frames.length; i++) {\n"
	"    f = frames[i];\n"
	"    hit = !!term && (re ? re.test(f.name) : f.name.toLowerCase().indexOf(term.toLowerCase()) >= 0);\n"
	"    f.r.setAttribute(\"fill\", hit ? HIT : f.fill);\n"
	"    if (hit && f.x >= end) { sum += f.w; end = f.x + f.w; }\n"
	"  }\n"
	"  matched.textContent = term ? \"Matched: \" + pct(sum, frames[0].w) : \"\";\n"
	"  search.textContent = term ? \"Reset Search\" : \"Search\";\n"
	"}\n"
	"function ask() {\n"
	"  if (term) { find(null); return; }\n"
	"  var t = window.prompt(\"Search frames (regular expression, case-insensitive)\", \"\");\n"
	"  if (t) find(t);\n"
	"}\n"
	"function frameOf(e) { var g = e.target.closest ? e.target.closest(\"g[data-x]\") : null; return g && g.f; }\n"
	"function init() {\n"
	"  var gs = $(\"frames\").children, i, g, f;\n"
	"  details = $(\"details\"); matched = $(\"matched\"); unzoom = $(\"unzoom\"); search = $(\"search\");\n"
	"  for (i = 0; i < gs.length; i++) {\n"
	"    g = gs[i];\n"
	"    f = { g: g, r: g.querySelector(\"rect\"), t: g.querySelector(\"text\"),\n"
	"          x: +g.getAttribute(\"data-x\"), w: +g.getAttribute(\"data-w\"), d: +g.getAttribute(\"data-d\") };\n"
	"    f.info = g.querySelector(\"title\").textContent.split(\"\\n\");\n"
	"    f.name = f.info[0];\n"
	"    f.fill = f.r.getAttribute(\"fill\");\n"
	"    g.f = f;\n"
	"    frames.push(f);\n"
	"  }\n"
	"  var box = $(\"frames\");\n"
	"  box.addEventListener(\"mouseover\", function (e) {\n"
	"    var f = frameOf(e);\n"
	"    if (f) details.textContent = fit(f.info.join(\"  \\u00b7  \"), (W - 2 * PAD) * 1.2);\n"
	"  });\n"
	"  box.addEventListener(\"mouseout\", function () { details.textContent = \" \"; });\n"
	"  box.addEventListener(\"click\", function (e) { var f = frameOf(e); if (f) zoom(f); });\n"
	"  unzoom.addEventListener(\"click\", function () { if (frames.length) zoom(frames[0]); });\n"
	"  search.addEventListener(\"click\", ask);\n"
	"  window.addEventListener(\"keydown\", function (e) {\n"
	"    if ((e.ctrlKey || e.metaKey) && (e.key === \"f\" || e.key === \"F\")) { e.preventDefault(); ask(); }\n"
	"    else if (e.key === \"Escape\") { find(null); if (frames.length) zoom(frames[0]); }\n"
	"  });\n"
	"}\n"
	"/* #s=REGEX searches, #z=NAME zooms to the widest frame of that name (shareable views) */\n"
	"function params() {\n"
	"  var out = {};\n"
	"  (location.hash || \"\").slice(1).split(\"&\").forEach(function (kv) {\n"
	"    var i = kv.indexOf(\"=\");\n"
	"    if (i > 0) try { out[kv.slice(0, i)] = decodeURIComponent(kv.slice(i + 1)); } catch (e) {}\n"
	"  });\n"
	"  return out;\n"
	"}\n"
	"function restore() {\n"
	"  var p = params(), best = null, i;\n"
	"  for (i = 0; p.z && i < frames.length; i++)\n"
	"    if (frames[i].name === p.z && (!best || frames[i].w > best.w)) best = frames[i];\n"
	"  if (best) zoom(best);\n"
	"  if (p.s) find(p.s);\n"
	"}\n"
	"try {\n"
	"  init();\n"
	"  restore();\n"
	"  svg.setAttribute(\"data-drip-ready\", \"1\");\n"
	"} catch (e) {\n"
	"  var t = document.createElementNS(NS, \"text\");\n"
	"  t.setAttribute(\"id\", \"drip-error\"); t.setAttribute(\"x\", PAD); t.setAttribute(\"y\", 62);\n"
	"  t.textContent = \"drip: script error: \" + e;\n"
	"  svg.appendChild(t);\n"
	"}\n"
	"})();\n"
	"]]></script>\n";

struct rgb {
	int r, g, b;
};

static uint64_t hash_name(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h ^ (h >> 29);
}

/* The same name gets the same colour everywhere (as in flamegraph.pl). */
static struct rgb class_colour(enum flame_class cls, const char *name)
{
	uint64_t h = hash_name(name);
	double v1 = (h & 0xff) / 255.0, v2 = (h >> 8 & 0xff) / 255.0, v3 = (h >> 16 & 0xff) / 255.0;

	switch (cls) {
	case FLAME_CLASS_MAIN: /* warm: flamegraph.pl's "hot" */
		return (struct rgb){ 205 + 50 * v3, 90 + 130 * v1, 40 * v2 };
	case FLAME_CLASS_LIB: /* aqua */
		return (struct rgb){ 60 + 50 * v1, 175 + 50 * v2, 175 + 50 * v2 };
	case FLAME_CLASS_SYSTEM: /* grey-blue */
		return (struct rgb){ 140 + 35 * v1, 160 + 35 * v1, 200 + 35 * v2 };
	case FLAME_CLASS_PYTHON: /* green */
		return (struct rgb){ 70 + 60 * v1, 175 + 55 * v2, 70 + 60 * v1 };
	case FLAME_CLASS_UNKNOWN: /* grey */
		return (struct rgb){ 175 + 30 * v1, 175 + 30 * v1, 175 + 30 * v1 };
	default: /* root and processes: lavender */
		return (struct rgb){ 185 + 25 * v1, 175 + 25 * v1, 220 + 25 * v1 };
	}
}

/* Growth red, shrink blue, unchanged light grey; intensity by the relative change */
static struct rgb diff_colour(const struct flame *fl, const struct flame_node *n)
{
	double now = flame__value(fl, &n->now), old = flame__value(fl, &n->old);
	double top = now > old ? now : old, rel = top ? (now - old) / top : 0;
	int c = 235 - (int)(200 * fabs(rel));

	if (rel > 0)
		return (struct rgb){ 255, c, c };
	if (rel < 0)
		return (struct rgb){ c, c, 255 };
	return (struct rgb){ 220, 220, 220 };
}

static void put_pct(FILE *f, uint64_t part, uint64_t whole)
{
	fprintf(f, "%.2f%%", whole ? 100.0 * part / whole : 0.0);
}

/* "+2.0 KiB (+200.0%)", "-3 (-75.0%)", "+512 B (new)" */
static void put_delta(FILE *f, uint64_t now, uint64_t old, bool bytes)
{
	uint64_t d = now >= old ? now - old : old - now;
	char hb[16];

	fputc(now >= old ? '+' : '-', f);
	if (bytes)
		fputs(units__bytes(hb, d), f);
	else
		fprintf(f, "%" PRIu64, d);
	if (old)
		fprintf(f, " (%+.1f%%)", 100.0 * ((double)now - (double)old) / old);
	else if (now)
		fputs(" (new)", f);
}

/* Second tooltip line: where the frame comes from */
static void put_origin(FILE *f, const struct flame_node *n)
{
	const struct report_frame *fr = n->frame;

	if (n->type == FLAME_PROCESS) {
		fprintf(f, "&#10;pid %" PRIu32, n->pid);
		if (n->proc) {
			fprintf(f, ", ppid %" PRIu32 ", %s", n->proc->ppid,
				n->proc->exited ? "exited" : "live");
			if (n->proc->exe) {
				fputs(", ", f);
				flame__put_xml(f, n->proc->exe, SVG_PATH_MAX);
			}
		}
		return;
	}
	if (n->type != FLAME_FRAME)
		return;
	if (fr->kind == FRAME_PYTHON) {
		fputs("&#10;python", f);
		if (fr->file) {
			fputs(": ", f);
			flame__put_xml(f, fr->file, SVG_PATH_MAX);
		}
	} else if (fr->module) {
		fputs("&#10;module: ", f);
		flame__put_xml(f, fr->module, SVG_PATH_MAX);
	}
}

static void put_title(FILE *f, const struct flame *fl, const struct flame_node *n,
		      const char *label)
{
	const struct flame_node *root = &fl->nodes[0];

	fputs("<title>", f);
	flame__put_xml(f, label, SVG_NAME_MAX);
	put_origin(f, n);
	fputs("&#10;", f);
	if (!fl->diff) {
		char b[48];

		fprintf(f, "%s, ", flame__bytes(b, n->now.bytes));
		put_pct(f, n->now.bytes, root->now.bytes);
		fprintf(f, " \xc2\xb7 %" PRIu64 " alloc%s, ", n->now.allocs,
			n->now.allocs == 1 ? "" : "s");
		put_pct(f, n->now.allocs, root->now.allocs);
	} else {
		char a[16], b[16];

		fprintf(f, "new %s, old %s, delta ", units__bytes(a, n->now.bytes),
			units__bytes(b, n->old.bytes));
		put_delta(f, n->now.bytes, n->old.bytes, true);
		fprintf(f, " \xc2\xb7 allocs new %" PRIu64 ", old %" PRIu64 ", delta ",
			n->now.allocs, n->old.allocs);
		put_delta(f, n->now.allocs, n->old.allocs, false);
	}
	fputs("</title>", f);
}

static void put_frame(FILE *f, const struct flame *fl, const struct flame_node *n, int height)
{
	double total = flame__value(fl, &fl->nodes[0].now);
	double scale = (SVG_WIDTH - 2 * SVG_PAD) / total;
	double x = SVG_PAD + n->start * scale, w = flame__value(fl, &n->now) * scale;
	int y = height - SVG_FOOT - (int)(n->depth + 1) * SVG_FRAME_H;
	const char *label;
	char buf[256];
	struct rgb c;
	long fit;

	label = flame__label(n, buf, sizeof(buf));
	c = fl->diff ? diff_colour(fl, n) : class_colour(n->cls, label);
	fprintf(f, "<g data-x=\"%" PRIu64 "\" data-w=\"%" PRIu64 "\" data-d=\"%" PRIu32 "\">",
		n->start, flame__value(fl, &n->now), n->depth);
	put_title(f, fl, n, label);
	fprintf(f,
		"<rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" fill=\"rgb(%d,%d,%d)\"/>",
		x, y, w > 1.1 ? w - 1 : 0.1, SVG_FRAME_H - 1, c.r, c.g, c.b);
	fprintf(f, "<text x=\"%.2f\" y=\"%.1f\">", x + 3, y + 11.5);
	fit = (long)((w - 6) / SVG_CHAR_W);
	if (fit >= 3)
		flame__put_xml(f, label, fit);
	fputs("</text></g>\n", f);
}

static void put_header(FILE *f, const struct flame *fl, const struct report *r,
		       const struct format_opts *o, int height)
{
	char sub[512];

	flame__subtitle(fl, r, o ? o->base : NULL, sub, sizeof(sub));
	fprintf(f,
		"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
		"<svg version=\"1.1\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
		"height=\"%d\" viewBox=\"0 0 %d %d\" data-width=\"%d\">\n",
		SVG_WIDTH, height, SVG_WIDTH, height, SVG_WIDTH);
	fputs("<!-- drip " DRIP_VERSION " flame graph: root at the bottom, frames[0] (the "
	      "allocator's caller) on top; width = outstanding ",
	      f);
	fputs(fl->weight == WEIGHT_COUNT ? "allocs" : "bytes", f);
	fputs(" -->\n", f);
	fputs(svg_style, f);
	fprintf(f,
		"<defs><linearGradient id=\"bg\" y1=\"0\" y2=\"1\" x1=\"0\" x2=\"0\">"
		"<stop stop-color=\"#f8f8f8\" offset=\"5%%\"/><stop stop-color=\"#e8ecf4\" "
		"offset=\"95%%\"/></linearGradient></defs>\n"
		"<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"url(#bg)\"/>\n",
		SVG_WIDTH, height);
	fprintf(f, "<text id=\"title\" x=\"%d\" y=\"24\">", SVG_WIDTH / 2);
	flame__put_xml(f, flame__title(o), 150);
	fprintf(f, "</text>\n<text id=\"subtitle\" x=\"%d\" y=\"44\">", SVG_WIDTH / 2);
	flame__put_xml(f, sub, 300);
	flame__pruned_note(fl, sub, sizeof(sub));
	fprintf(f, "</text>\n<text id=\"note\" x=\"%d\" y=\"60\">", SVG_WIDTH / 2);
	flame__put_xml(f, sub, 200);
	fprintf(f,
		"</text>\n<text id=\"unzoom\" class=\"btn\" x=\"%d\" y=\"24\">Reset Zoom</text>\n"
		"<text id=\"search\" class=\"btn\" x=\"%d\" y=\"24\" text-anchor=\"end\">"
		"Search</text>\n",
		SVG_PAD, SVG_WIDTH - SVG_PAD);
	fprintf(f,
		"<text id=\"details\" x=\"%d\" y=\"%d\"> </text>\n"
		"<text id=\"matched\" x=\"%d\" y=\"%d\"></text>\n",
		SVG_PAD, height - 10, SVG_WIDTH - SVG_PAD, height - 10);
}

int format_svg(const struct report *r, const struct format_opts *o, FILE *f)
{
	struct flame_opts fo = {
		.weight = o ? o->weight : WEIGHT_BYTES,
		.per_pid = o && o->per_pid,
		.min_share = FLAME_MIN_SHARE,
	};
	struct flame *fl = NULL;
	int err, height;

	err = flame__new(r, o ? o->base : NULL, &fo, &fl);
	if (err)
		return err;
	height = SVG_HEAD + (int)(fl->max_depth + 1) * SVG_FRAME_H + SVG_FOOT;
	put_header(f, fl, r, o, height);
	fputs("<g id=\"frames\">\n", f);
	if (flame__value(fl, &fl->nodes[0].now)) {
		for (size_t i = 0; i < fl->nr_nodes; i++)
			put_frame(f, fl, &fl->nodes[i], height);
	}
	fputs("</g>\n", f);
	if (!flame__value(fl, &fl->nodes[0].now))
		fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
			SVG_WIDTH / 2, height - SVG_FOOT - 4,
			o && o->base ? "nothing outstanding in the new report" :
				       "no outstanding memory");
	fputs(svg_script, f);
	fputs("</svg>\n", f);
	flame__free(fl);
	if (fflush(f) || ferror(f))
		return -EIO;
	return 0;
}
