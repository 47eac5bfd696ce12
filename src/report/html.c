// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * One self-contained HTML page: an interactive flame graph (canvas: hover,
 * click to zoom, search, icicle toggle), a sortable table of the top stacks
 * with their frames, and a table of processes. Nothing is fetched: a
 * Content-Security-Policy of default-src 'none' forbids it, the page uses
 * system fonts only.
 *
 * The data travel as JSON in <script type="application/json">, written by
 * the JSON writer (which escapes control bytes and invalid UTF-8) through a
 * filter that turns every '<' into \u003c, so no name can close the script
 * element or open a comment in it. The page's script puts names on screen
 * with textContent and fillText only, never as markup.
 *
 * Size: frames under FLAME_MIN_SHARE are pruned (the tree keeps at most
 * ~1000 frames per level), the stacks table holds the HTML_TOP_STACKS
 * largest (or, in a diff, most changed) stacks, names are cut at
 * HTML_NAME_MAX bytes, and strings are interned once.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "drip/flame.h"
#include "drip/formats.h"
#include "drip/json_writer.h"

#define HTML_TOP_STACKS 500
#define HTML_MAX_PROCS	5000
#define HTML_NAME_MAX	2048 /* bytes of one name, more are cut */

/* BEGIN PAGE */
/* up to <title> */
static const char html_head[] =
	"<!DOCTYPE html>\n"
	"<html lang=\"en\">\n"
	"<head>\n"
	"<meta charset=\"utf-8\">\n"
	"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\">\n"
	"<meta name=\"generator\" content=\"drip\">\n";

/* after </title>: style and markup */
static const char html_body[] =
	"<style>\n"
	":root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg: #ffffff; --panel: #f6f8fa; --accent: #0969da; }\n"
	"* { box-sizing: border-box; }\n"
	"body { margin: 0; font: 14px/1.45 system-ui, -apple-system, \"Segoe UI\", \"DejaVu Sans\", Arial, sans-serif; color: var(--fg); background: var(--bg); }\n"
	"header { padding: 16px 24px 12px; border-bottom: 1px solid var(--line); background: var(--panel); }\n"
	"h1 { font-size: 20px; margin: 0 0 4px; font-weight: 600; }\n"
	"h2 { font-size: 16px; margin: 0 0 8px; font-weight: 600; }\n"
	"#subtitle { color: var(--muted); }\n"
	"#note { color: var(--muted); font-size: 12px; }\n"
	"main { padding: 12px 24px 32px; }\n"
	"section { margin: 0 0 28px; }\n"
	".warn { margin-top: 8px; padding: 6px 10px; border: 1px solid #d4a72c; background: #fff8c5; border-radius: 6px; }\n"
	"#drip-error { margin: 12px 24px; padding: 8px 12px; border: 1px solid #cf222e; background: #ffebe9; color: #82071e; border-radius: 6px; white-space: pre-wrap; font-family: monospace; }\n"
	".toolbar { display: flex; flex-wrap: wrap; gap: 8px 14px; align-items: center; margin: 0 0 8px; }\n"
	".toolbar input[type=search] { width: 300px; padding: 5px 8px; border: 1px solid var(--line); border-radius: 6px; font: inherit; }\n"
	".toolbar button { padding: 4px 12px; border: 1px solid var(--line); border-radius: 6px; background: var(--panel); font: inherit; cursor: pointer; }\n"
	".toolbar button:disabled { opacity: .5; cursor: default; }\n"
	".toolbar label { user-select: none; cursor: pointer; }\n"
	"#matched { color: #8250df; font-weight: 600; }\n"
	".legend { display: flex; gap: 10px; color: var(--muted); font-size: 12px; margin-left: auto; }\n"
	".legend i { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin-right: 4px; vertical-align: -1px; }\n"
	"#flame-wrap { position: relative; border: 1px solid var(--line); border-radius: 6px; background: #fff; overflow: hidden auto; max-height: 80vh; scrollbar-gutter: stable; }\n"
	"#flame { display: block; cursor: pointer; }\n"
	"#empty { padding: 24px; color: var(--muted); text-align: center; }\n"
	"#tip { position: absolute; pointer-events: none; max-width: 560px; padding: 8px 10px; background: rgba(255,255,255,.97); border: 1px solid #8c959f; border-radius: 6px; box-shadow: 0 4px 14px rgba(0,0,0,.15); font-size: 12px; z-index: 2; overflow-wrap: anywhere; }\n"
	"#tip b { display: block; font-family: \"DejaVu Sans Mono\", Menlo, Consolas, monospace; font-size: 12.5px; margin-bottom: 3px; }\n"
	"#tip div { color: var(--muted); }\n"
	"#tip div.v { color: var(--fg); }\n"
	"#details { min-height: 1.45em; margin-top: 6px; color: var(--muted); font-size: 12px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }\n"
	".note { color: var(--muted); font-size: 12px; margin: -4px 0 8px; }\n"
	"table { border-collapse: collapse; width: 100%; font-size: 13px; }\n"
	"th, td { padding: 4px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }\n"
	"th { background: var(--panel); font-weight: 600; cursor: pointer; user-select: none; white-space: nowrap; position: sticky; top: 0; }\n"
	"th.sorted::after { content: \" \\25BC\"; font-size: 10px; color: var(--muted); }\n"
	"th.sorted.asc::after { content: \" \\25B2\"; }\n"
	"td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }\n"
	"td.fn { font-family: \"DejaVu Sans Mono\", Menlo, Consolas, monospace; font-size: 12.5px; overflow-wrap: anywhere; }\n"
	"td.mod { color: var(--muted); overflow-wrap: anywhere; }\n"
	"tbody tr:hover { background: #f3f6fa; }\n"
	"tr.row { cursor: pointer; }\n"
	".tw { display: inline-block; width: 1em; color: var(--muted); }\n"
	"tr.frames td { background: #fbfcfd; padding: 4px 8px 8px 32px; }\n"
	"ol.frames { margin: 0; padding-left: 2.6em; font-family: \"DejaVu Sans Mono\", Menlo, Consolas, monospace; font-size: 12px; }\n"
	"ol.frames li { padding: 1px 0; overflow-wrap: anywhere; }\n"
	"ol.frames .m { color: var(--muted); }\n"
	".grow { color: #cf222e; } .shrink { color: #0969da; }\n"
	".exited { color: var(--muted); }\n"
	".scroll { max-height: 640px; overflow: auto; border: 1px solid var(--line); border-radius: 6px; }\n"
	"footer { padding: 0 24px 24px; color: var(--muted); font-size: 12px; }\n"
	"</style>\n"
	"</head>\n"
	"<body>\n"
	"<header>\n"
	"<h1 id=\"title\"></h1>\n"
	"<div id=\"subtitle\"></div>\n"
	"<div id=\"note\"></div>\n"
	"<div id=\"warn\" class=\"warn\" hidden></div>\n"
	"</header>\n"
	"<main>\n"
	"<section id=\"flame-section\">\n"
	"<div class=\"toolbar\">\n"
	"<input id=\"search\" type=\"search\" placeholder=\"Search functions (regex)\" autocomplete=\"off\" spellcheck=\"false\">\n"
	"<span id=\"matched\"></span>\n"
	"<button id=\"reset\" type=\"button\" disabled>Reset zoom</button>\n"
	"<label><input id=\"icicle\" type=\"checkbox\"> Icicle (root at top)</label>\n"
	"<span id=\"legend\" class=\"legend\"></span>\n"
	"</div>\n"
	"<div id=\"flame-wrap\"><canvas id=\"flame\"></canvas><div id=\"tip\" hidden></div></div>\n"
	"<div id=\"details\">&nbsp;</div>\n"
	"</section>\n"
	"<section>\n"
	"<h2 id=\"stacks-title\">Top stacks</h2>\n"
	"<p class=\"note\" id=\"stacks-note\"></p>\n"
	"<div class=\"scroll\"><table id=\"stacks\"><thead></thead><tbody></tbody></table></div>\n"
	"</section>\n"
	"<section>\n"
	"<h2>Processes</h2>\n"
	"<p class=\"note\" id=\"procs-note\"></p>\n"
	"<div class=\"scroll\"><table id=\"procs\"><thead></thead><tbody></tbody></table></div>\n"
	"</section>\n"
	"</main>\n"
	"<footer id=\"footer\"></footer>\n";

/* the page's script: reads #drip-data, draws, then adds #drip-ready */
static const char html_script[] =
	"(function () {\n"
	"\"use strict\";\n"
	"var D, S, N = [], byDepth = [], maxDepth = 0, colours = [];\n"
	"var canvas, ctx, wrap, tip, details, search, matched, reset, icicle;\n"
	"var zoom = 0, hits = null, hover = -1, dpr = 1;\n"
	"var RH = 18, CW = 7.23, HIT = \"rgb(230,0,230)\";\n"
	"var MONO = \"12px 'DejaVu Sans Mono', Menlo, Consolas, monospace\";\n"
	"var CLASSES = [\"process\", \"main executable\", \"library\", \"system library\", \"python\", \"unknown\"];\n"
	"var STRIDE = 10;\n"
	"\n"
	"function $(id) { return document.getElementById(id); }\n"
	"function el(tag, cls, text) {\n"
	"  var e = document.createElement(tag);\n"
	"  if (cls) e.className = cls;\n"
	"  if (text !== undefined && text !== null) e.textContent = text;\n"
	"  return e;\n"
	"}\n"
	"function human(v) {\n"
	"  var u = [\"B\", \"KiB\", \"MiB\", \"GiB\", \"TiB\", \"PiB\", \"EiB\"], i = 0;\n"
	"  if (v < 1024) return v + \" B\";\n"
	"  while (v >= 1023.95 && i < u.length - 1) { v /= 1024; i++; }\n"
	"  return v.toFixed(1) + \" \" + u[i];\n"
	"}\n"
	"function num(v) { return String(v).replace(/\\B(?=(\\d{3})+(?!\\d))/g, \",\"); }\n"
	"function pct(p, w) { return w ? (100 * p / w).toFixed(2) + \"%\" : \"0%\"; }\n"
	"function delta(now, old, bytes) {\n"
	"  var d = now - old, s = (d >= 0 ? \"+\" : \"\\u2212\") + (bytes ? human(Math.abs(d)) : num(Math.abs(d)));\n"
	"  if (old) s += \" (\" + (d >= 0 ? \"+\" : \"\\u2212\") + (100 * Math.abs(d) / old).toFixed(1) + \"%)\";\n"
	"  else if (now) s += \" (new)\";\n"
	"  return s;\n"
	"}\n"
	"function str(i) { return i >= 0 ? S[i] : null; }\n"
	"/* The data carry names as the target gave them; on screen, controls and bidi overrides show as U+FFFD */\n"
	"function clean(s) { return s === null ? null : String(s).replace(/[\\u0000-\\u001f\\u007f-\\u009f\\u202a-\\u202e\\u2066-\\u2069\\ufffe\\uffff]/g, \"\\ufffd\"); }\n"
	"function cut(s, n) { return s.length > n ? s.slice(0, n - 1) + \"\\u2026\" : s; }\n"
	"function base(p) { var i = p ? p.lastIndexOf(\"/\") : -1; return i >= 0 && i + 1 < p.length ? p.slice(i + 1) : p; }\n"
	"\n"
	"/* Same scheme as the SVG: the class picks the palette, the name the shade */\n"
	"function hash(s) {\n"
	"  var h = 2166136261, i;\n"
	"  for (i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 16777619) >>> 0; }\n"
	"  return h;\n"
	"}\n"
	"function rgb(r, g, b) { return \"rgb(\" + Math.round(r) + \",\" + Math.round(g) + \",\" + Math.round(b) + \")\"; }\n"
	"function classColour(cls, name) {\n"
	"  var h = hash(name), v1 = (h & 255) / 255, v2 = (h >>> 8 & 255) / 255, v3 = (h >>> 16 & 255) / 255;\n"
	"  switch (cls) {\n"
	"  case 1: return rgb(205 + 50 * v3, 90 + 130 * v1, 40 * v2);\n"
	"  case 2: return rgb(60 + 50 * v1, 175 + 50 * v2, 175 + 50 * v2);\n"
	"  case 3: return rgb(140 + 35 * v1, 160 + 35 * v1, 200 + 35 * v2);\n"
	"  case 4: return rgb(70 + 60 * v1, 175 + 55 * v2, 70 + 60 * v1);\n"
	"  case 5: return rgb(175 + 30 * v1, 175 + 30 * v1, 175 + 30 * v1);\n"
	"  default: return rgb(185 + 25 * v1, 175 + 25 * v1, 220 + 25 * v1);\n"
	"  }\n"
	"}\n"
	"function diffColour(n) {\n"
	"  var top = Math.max(n.w, n.ow), rel = top ? (n.w - n.ow) / top : 0, c = 235 - 200 * Math.abs(rel);\n"
	"  if (rel > 0) return rgb(255, c, c);\n"
	"  if (rel < 0) return rgb(c, c, 255);\n"
	"  return rgb(220, 220, 220);\n"
	"}\n"
	"\n"
	"function load() {\n"
	"  var a, i, k, n, count;\n"
	"  D = JSON.parse($(\"drip-data\").textContent);\n"
	"  S = D.strings.map(clean);\n"
	"  D.title = clean(D.title);\n"
	"  D.processes.forEach(function (p) { p[2] = clean(p[2]); });\n"
	"  a = D.nodes;\n"
	"  count = D.weight === \"allocs\";\n"
	"  for (i = 0; i < a.length; i += STRIDE) {\n"
	"    n = { d: a[i], s: a[i + 1], b: a[i + 2], a: a[i + 3], ob: a[i + 4], oa: a[i + 5],\n"
	"          name: S[a[i + 6]], mod: str(a[i + 7]), file: str(a[i + 8]), cls: a[i + 9] };\n"
	"    n.w = count ? n.a : n.b;\n"
	"    n.ow = count ? n.oa : n.ob;\n"
	"    k = N.length;\n"
	"    N.push(n);\n"
	"    (byDepth[n.d] = byDepth[n.d] || []).push(k);\n"
	"    if (n.d > maxDepth) maxDepth = n.d;\n"
	"    colours.push(D.diff ? diffColour(n) : classColour(n.cls, n.name));\n"
	"  }\n"
	"}\n"
	"\n"
	"/* The node's box in CSS pixels under the current zoom, or null */\n"
	"function box(i, W) {\n"
	"  var n = N[i], z = N[zoom];\n"
	"  if (n.d < z.d) {\n"
	"    if (n.s <= z.s && n.s + n.w >= z.s + z.w) return { x: 0, w: W, parent: true };\n"
	"    return null;\n"
	"  }\n"
	"  if (n.s < z.s || n.s + n.w > z.s + z.w) return null;\n"
	"  return { x: (n.s - z.s) * W / z.w, w: n.w * W / z.w, parent: false };\n"
	"}\n"
	"function rowY(d) { return icicle.checked ? d * RH : (maxDepth - d) * RH; }\n"
	"function fit(s, w) {\n"
	"  var k = Math.floor((w - 6) / CW);\n"
	"  if (k < 3) return \"\";\n"
	"  return s.length <= k ? s : s.slice(0, k - 1) + \"\\u2026\";\n"
	"}\n"
	"\n"
	"function draw() {\n"
	"  var W = canvas.width / dpr, H = canvas.height / dpr, i, b, y, t;\n"
	"  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);\n"
	"  ctx.clearRect(0, 0, W, H);\n"
	"  ctx.font = MONO;\n"
	"  ctx.textBaseline = \"middle\";\n"
	"  for (i = 0; i < N.length; i++) {\n"
	"    b = box(i, W);\n"
	"    if (!b || b.w < 0.35) continue;\n"
	"    y = rowY(N[i].d);\n"
	"    ctx.globalAlpha = b.parent ? 0.55 : 1;\n"
	"    ctx.fillStyle = hits && hits[i] ? HIT : colours[i];\n"
	"    ctx.fillRect(b.x, y, Math.max(b.w - 1, 0.35), RH - 1);\n"
	"    t = fit(N[i].name, b.w);\n"
	"    if (t) {\n"
	"      ctx.fillStyle = \"#000\";\n"
	"      ctx.fillText(t, b.x + 3, y + RH / 2);\n"
	"    }\n"
	"  }\n"
	"  ctx.globalAlpha = 1;\n"
	"  if (hover >= 0 && (b = box(hover, W))) {\n"
	"    ctx.strokeStyle = \"#000\";\n"
	"    ctx.lineWidth = 1;\n"
	"    ctx.strokeRect(b.x + 0.5, rowY(N[hover].d) + 0.5, Math.max(b.w - 2, 1), RH - 2);\n"
	"  }\n"
	"}\n"
	"\n"
	"function resize() {\n"
	"  var w = wrap.clientWidth, h = (maxDepth + 1) * RH;\n"
	"  dpr = window.devicePixelRatio || 1;\n"
	"  canvas.style.width = w + \"px\";\n"
	"  canvas.style.height = h + \"px\";\n"
	"  canvas.width = Math.max(1, Math.round(w * dpr));\n"
	"  canvas.height = Math.max(1, Math.round(h * dpr));\n"
	"  draw();\n"
	"  anchor();\n"
	"}\n"
	"\n"
	"/* a graph taller than the window scrolls inside its box: show the root (and widest frames) first */\n"
	"function anchor() { wrap.scrollTop = icicle.checked ? 0 : wrap.scrollHeight; }\n"
	"\n"
	"function nodeAt(px, py) {\n"
	"  var W = canvas.width / dpr, row = Math.floor(py / RH), d = icicle.checked ? row : maxDepth - row;\n"
	"  var list = byDepth[d], z = N[zoom], wx, lo, hi, mid, i;\n"
	"  if (!list || d < 0) return -1;\n"
	"  wx = d < z.d ? z.s : z.s + px / W * z.w;\n"
	"  lo = 0; hi = list.length - 1; i = -1;\n"
	"  while (lo <= hi) {\n"
	"    mid = (lo + hi) >> 1;\n"
	"    if (N[list[mid]].s <= wx) { i = list[mid]; lo = mid + 1; } else hi = mid - 1;\n"
	"  }\n"
	"  if (i < 0 || wx >= N[i].s + N[i].w || !box(i, W)) return -1;\n"
	"  return i;\n"
	"}\n"
	"\n"
	"function origin(n) {\n"
	"  if (n.cls === 0 && n.d > 0) return n.mod ? \"process \\u00b7 \" + n.mod : \"process\";\n"
	"  if (n.cls === 4) return \"python\" + (n.file ? \" \\u00b7 \" + n.file : \"\");\n"
	"  if (n.mod) return n.mod + (n.file ? \" \\u00b7 \" + base(n.file) : \"\");\n"
	"  return n.file || \"\";\n"
	"}\n"
	"function infoLines(n) {\n"
	"  var r = N[0], out = [];\n"
	"  if (!D.diff) {\n"
	"    out.push(human(n.b) + \" (\" + num(n.b) + \" B), \" + pct(n.b, r.b) + \" of bytes\");\n"
	"    out.push(num(n.a) + \" alloc\" + (n.a === 1 ? \"\" : \"s\") + \", \" + pct(n.a, r.a) + \" of allocs\");\n"
	"  } else {\n"
	"    out.push(\"bytes: new \" + human(n.b) + \", old \" + human(n.ob) + \", delta \" + delta(n.b, n.ob, true));\n"
	"    out.push(\"allocs: new \" + num(n.a) + \", old \" + num(n.oa) + \", delta \" + delta(n.a, n.oa, false));\n"
	"  }\n"
	"  return out;\n"
	"}\n"
	"function showTip(i, ev) {\n"
	"  var n = N[i], o = origin(n), r, x, y;\n"
	"  tip.textContent = \"\";\n"
	"  tip.appendChild(el(\"b\", null, n.name));\n"
	"  if (o) tip.appendChild(el(\"div\", null, o));\n"
	"  infoLines(n).forEach(function (l) { tip.appendChild(el(\"div\", \"v\", l)); });\n"
	"  tip.hidden = false;\n"
	"  r = wrap.getBoundingClientRect();\n"
	"  x = ev.clientX - r.left + 14;\n"
	"  y = ev.clientY - r.top + 14;\n"
	"  if (x + tip.offsetWidth > r.width) x = Math.max(0, ev.clientX - r.left - tip.offsetWidth - 10);\n"
	"  if (y + tip.offsetHeight > r.height) y = Math.max(0, ev.clientY - r.top - tip.offsetHeight - 10);\n"
	"  tip.style.left = x + \"px\";\n"
	"  tip.style.top = y + \"px\";\n"
	"  details.textContent = n.name + (o ? \"  \\u00b7  \" + o : \"\") + \"  \\u00b7  \" + infoLines(n).join(\"  \\u00b7  \");\n"
	"}\n"
	"\n"
	"function setZoom(i) {\n"
	"  zoom = i;\n"
	"  reset.disabled = i === 0;\n"
	"  draw();\n"
	"}\n"
	"\n"
	"function find() {\n"
	"  var t = search.value, re = null, i, end = -1, sum = 0, n;\n"
	"  if (!t) { hits = null; matched.textContent = \"\"; draw(); return; }\n"
	"  try { re = new RegExp(t, \"i\"); } catch (e) { re = null; }\n"
	"  hits = new Uint8Array(N.length);\n"
	"  for (i = 0; i < N.length; i++) {\n"
	"    n = N[i];\n"
	"    hits[i] = re ? re.test(n.name) : n.name.toLowerCase().indexOf(t.toLowerCase()) >= 0;\n"
	"    /* pre-order: a match inside a counted match starts before its end */\n"
	"    if (hits[i] && n.s >= end) { sum += n.w; end = n.s + n.w; }\n"
	"  }\n"
	"  matched.textContent = \"Matched: \" + pct(sum, N[0].w) + \" (\" + (D.weight === \"allocs\" ? num(sum) + \" allocs\" : human(sum)) + \")\";\n"
	"  draw();\n"
	"}\n"
	"\n"
	"function legend() {\n"
	"  var lg = $(\"legend\"), items, i, sw;\n"
	"  items = D.diff ? [[\"grew\", \"rgb(255,60,60)\"], [\"shrank\", \"rgb(60,60,255)\"], [\"unchanged\", \"rgb(220,220,220)\"]]\n"
	"                 : [[CLASSES[1], classColour(1, \"main\")], [CLASSES[2], classColour(2, \"lib\")],\n"
	"                    [CLASSES[3], classColour(3, \"libc\")], [CLASSES[4], classColour(4, \"py\")],\n"
	"                    [CLASSES[5], classColour(5, \"?\")]];\n"
	"  for (i = 0; i < items.length; i++) {\n"
	"    sw = el(\"span\");\n"
	"    var sq = el(\"i\");\n"
	"    sq.style.background = items[i][1];\n"
	"    sw.appendChild(sq);\n"
	"    sw.appendChild(document.createTextNode(items[i][0]));\n"
	"    lg.appendChild(sw);\n"
	"  }\n"
	"}\n"
	"\n"
	"function flame() {\n"
	"  canvas = $(\"flame\"); wrap = $(\"flame-wrap\"); tip = $(\"tip\"); details = $(\"details\");\n"
	"  search = $(\"search\"); matched = $(\"matched\"); reset = $(\"reset\"); icicle = $(\"icicle\");\n"
	"  legend();\n"
	"  if (!N.length || !N[0].w) {\n"
	"    canvas.hidden = true;\n"
	"    wrap.appendChild(el(\"div\", null, D.diff ? \"Nothing is outstanding in the new report.\" : \"No outstanding memory.\"));\n"
	"    wrap.lastChild.id = \"empty\";\n"
	"    return;\n"
	"  }\n"
	"  ctx = canvas.getContext(\"2d\");\n"
	"  canvas.addEventListener(\"mousemove\", function (e) {\n"
	"    var r = canvas.getBoundingClientRect(), i = nodeAt(e.clientX - r.left, e.clientY - r.top);\n"
	"    if (i !== hover) { hover = i; draw(); }\n"
	"    if (i >= 0) showTip(i, e); else { tip.hidden = true; details.textContent = \"\\u00a0\"; }\n"
	"  });\n"
	"  canvas.addEventListener(\"mouseleave\", function () { hover = -1; tip.hidden = true; details.textContent = \"\\u00a0\"; draw(); });\n"
	"  canvas.addEventListener(\"click\", function (e) {\n"
	"    var r = canvas.getBoundingClientRect(), i = nodeAt(e.clientX - r.left, e.clientY - r.top);\n"
	"    if (i >= 0) setZoom(i);\n"
	"  });\n"
	"  reset.addEventListener(\"click\", function () { setZoom(0); });\n"
	"  icicle.addEventListener(\"change\", function () { draw(); anchor(); });\n"
	"  search.addEventListener(\"input\", find);\n"
	"  window.addEventListener(\"keydown\", function (e) {\n"
	"    if ((e.ctrlKey || e.metaKey) && (e.key === \"f\" || e.key === \"F\")) { e.preventDefault(); search.focus(); search.select(); }\n"
	"    else if (e.key === \"Escape\") { search.value = \"\"; find(); setZoom(0); }\n"
	"  });\n"
	"  window.addEventListener(\"resize\", resize);\n"
	"  resize();\n"
	"}\n"
	"\n"
	"/* A sortable table: cols = [{t: title, v: sort value, c: cell text, cls, num}] */\n"
	"function sortable(tbl, cols, rows, sortCol, asc, expand) {\n"
	"  var thead = tbl.tHead, tbody = tbl.tBodies[0], tr = el(\"tr\"), open = {};\n"
	"  cols.forEach(function (c, j) {\n"
	"    var th = el(\"th\", c.num ? \"num\" : \"\", c.t);\n"
	"    if (c.title) th.title = c.title;\n"
	"    th.addEventListener(\"click\", function () {\n"
	"      asc = sortCol === j ? !asc : !c.num;\n"
	"      sortCol = j;\n"
	"      render();\n"
	"    });\n"
	"    tr.appendChild(th);\n"
	"  });\n"
	"  thead.appendChild(tr);\n"
	"  function render() {\n"
	"    var sorted = rows.slice(), frag = document.createDocumentFragment(), col = cols[sortCol];\n"
	"    sorted.sort(function (a, b) {\n"
	"      var x = col.v(a), y = col.v(b), r = x < y ? -1 : x > y ? 1 : 0;\n"
	"      return asc ? r : -r;\n"
	"    });\n"
	"    Array.prototype.forEach.call(thead.rows[0].cells, function (th, j) {\n"
	"      th.classList.toggle(\"sorted\", j === sortCol);\n"
	"      th.classList.toggle(\"asc\", j === sortCol && asc);\n"
	"    });\n"
	"    sorted.forEach(function (row) {\n"
	"      var r = el(\"tr\", expand ? \"row\" : \"\"), x;\n"
	"      cols.forEach(function (c, j) {\n"
	"        var td = el(\"td\", (c.num ? \"num \" : \"\") + (c.cls || \"\"));\n"
	"        var text = c.c(row);\n"
	"        if (expand && j === 0) td.appendChild(el(\"span\", \"tw\", open[row.key] ? \"\\u25BE\" : \"\\u25B8\"));\n"
	"        if (text.length > 240) { td.title = cut(text, 4000); text = cut(text, 240); }\n"
	"        td.appendChild(document.createTextNode(text));\n"
	"        r.appendChild(td);\n"
	"      });\n"
	"      frag.appendChild(r);\n"
	"      if (expand) {\n"
	"        x = el(\"tr\", \"frames\");\n"
	"        x.hidden = !open[row.key];\n"
	"        r.addEventListener(\"click\", function () {\n"
	"          open[row.key] = !open[row.key];\n"
	"          x.hidden = !open[row.key];\n"
	"          r.cells[0].firstChild.textContent = open[row.key] ? \"\\u25BE\" : \"\\u25B8\";\n"
	"          if (open[row.key] && !x.firstChild) expand(row, x, cols.length);\n"
	"        });\n"
	"        if (open[row.key]) expand(row, x, cols.length);\n"
	"        frag.appendChild(x);\n"
	"      }\n"
	"    });\n"
	"    tbody.textContent = \"\";\n"
	"    tbody.appendChild(frag);\n"
	"  }\n"
	"  render();\n"
	"}\n"
	"\n"
	"function frameList(row, tr, span) {\n"
	"  var td = el(\"td\"), ol = el(\"ol\", \"frames\"), f = row.f, i, li, fn, mod, file;\n"
	"  td.colSpan = span;\n"
	"  ol.start = 0;\n"
	"  for (i = 0; i < f.length; i += 5) {\n"
	"    fn = str(f[i]); mod = str(f[i + 1]); file = str(f[i + 2]);\n"
	"    li = el(\"li\", null, fn === null ? \"??\" : cut(fn, 600));\n"
	"    if (fn !== null && fn.length > 600) li.title = cut(fn, 4000);\n"
	"    if (f[i + 4]) li.appendChild(el(\"span\", \"m\", \"  [python]\"));\n"
	"    else if (mod) li.appendChild(el(\"span\", \"m\", \"  \" + base(mod)));\n"
	"    if (file) li.appendChild(el(\"span\", \"m\", \"  \" + base(file) + (f[i + 3] ? \":\" + f[i + 3] : \"\")));\n"
	"    ol.appendChild(li);\n"
	"  }\n"
	"  if (!f.length) ol.appendChild(el(\"li\", \"m\", \"(no frames)\"));\n"
	"  if (row.t) ol.appendChild(el(\"li\", \"m\", \"\\u2026 (stack truncated)\"));\n"
	"  td.appendChild(ol);\n"
	"  tr.appendChild(td);\n"
	"}\n"
	"\n"
	"function topFn(r) { return r.f.length ? (str(r.f[0]) === null ? \"??\" : str(r.f[0])) : \"(no frames)\"; }\n"
	"function topMod(r) { return r.f.length && r.f[1] >= 0 ? base(S[r.f[1]]) : \"\"; }\n"
	"\n"
	"function stacks() {\n"
	"  var rows = D.stacks, cols, i, sortCol;\n"
	"  for (i = 0; i < rows.length; i++) rows[i].key = i;\n"
	"  if (!D.diff) {\n"
	"    cols = [\n"
	"      { t: \"#\", v: function (r) { return r.key; }, c: function (r) { return String(r.key + 1); }, num: true },\n"
	"      { t: \"Bytes\", v: function (r) { return r.b; }, c: function (r) { return human(r.b); }, num: true },\n"
	"      { t: \"Share\", v: function (r) { return r.b; }, c: function (r) { return pct(r.b, D.total.bytes); }, num: true },\n"
	"      { t: \"Allocs\", v: function (r) { return r.a; }, c: function (r) { return num(r.a); }, num: true },\n"
	"      { t: \"PIDs\", v: function (r) { return r.p; }, c: function (r) { return num(r.p); }, num: true },\n"
	"      { t: \"Top function\", v: topFn, c: topFn, cls: \"fn\" },\n"
	"      { t: \"Module\", v: topMod, c: topMod, cls: \"mod\" }\n"
	"    ];\n"
	"    sortCol = D.weight === \"allocs\" ? 3 : 1;\n"
	"  } else {\n"
	"    cols = [\n"
	"      { t: \"#\", v: function (r) { return r.key; }, c: function (r) { return String(r.key + 1); }, num: true },\n"
	"      { t: \"\\u0394 bytes\", v: function (r) { return r.b - r.ob; }, c: function (r) { return delta(r.b, r.ob, true); }, num: true },\n"
	"      { t: \"New bytes\", v: function (r) { return r.b; }, c: function (r) { return human(r.b); }, num: true },\n"
	"      { t: \"Old bytes\", v: function (r) { return r.ob; }, c: function (r) { return human(r.ob); }, num: true },\n"
	"      { t: \"\\u0394 allocs\", v: function (r) { return r.a - r.oa; }, c: function (r) { return delta(r.a, r.oa, false); }, num: true },\n"
	"      { t: \"PIDs\", v: function (r) { return r.p; }, c: function (r) { return num(r.p); }, num: true },\n"
	"      { t: \"Top function\", v: topFn, c: topFn, cls: \"fn\" },\n"
	"      { t: \"Module\", v: topMod, c: topMod, cls: \"mod\" }\n"
	"    ];\n"
	"    sortCol = 0;\n"
	"  }\n"
	"  $(\"stacks-note\").textContent = D.stacks_total > rows.length\n"
	"    ? \"The \" + rows.length + \" \" + (D.diff ? \"most changed\" : \"largest\") + \" of \" + num(D.stacks_total) + \" stacks, merged across processes; click a row for its frames, a heading to sort.\"\n"
	"    : num(rows.length) + \" stack\" + (rows.length === 1 ? \"\" : \"s\") + (D.diff ? \" that changed\" : \"\") + \", merged across processes; click a row for its frames, a heading to sort.\";\n"
	"  sortable($(\"stacks\"), cols, rows, sortCol, sortCol === 0, frameList);\n"
	"}\n"
	"\n"
	"function procs() {\n"
	"  var rows = D.processes.map(function (p, i) {\n"
	"    return { key: i, pid: p[0], ppid: p[1], comm: p[2], b: p[3], a: p[4], exited: p[5], exe: str(p[6]) };\n"
	"  });\n"
	"  var cols = [\n"
	"    { t: \"PID\", v: function (r) { return r.pid; }, c: function (r) { return String(r.pid); }, num: true },\n"
	"    { t: \"PPID\", v: function (r) { return r.ppid; }, c: function (r) { return String(r.ppid); }, num: true },\n"
	"    { t: \"Comm\", v: function (r) { return r.comm || \"\"; }, c: function (r) { return r.comm === null ? \"?\" : r.comm; }, cls: \"fn\" },\n"
	"    { t: \"Bytes\", v: function (r) { return r.b; }, c: function (r) { return human(r.b); }, num: true },\n"
	"    { t: \"Allocs\", v: function (r) { return r.a; }, c: function (r) { return num(r.a); }, num: true },\n"
	"    { t: \"State\", v: function (r) { return r.exited ? 1 : 0; }, c: function (r) { return r.exited ? \"exited\" : \"live\"; } },\n"
	"    { t: \"Executable\", v: function (r) { return r.exe || \"\"; }, c: function (r) { return r.exe || \"?\"; }, cls: \"mod\" }\n"
	"  ];\n"
	"  $(\"procs-note\").textContent = D.processes_total > rows.length\n"
	"    ? \"The \" + rows.length + \" largest of \" + num(D.processes_total) + \" processes.\"\n"
	"    : num(rows.length) + \" process\" + (rows.length === 1 ? \"\" : \"es\") + (D.diff ? \" in the new report.\" : \".\");\n"
	"  sortable($(\"procs\"), cols, rows, 3, false, null);\n"
	"}\n"
	"\n"
	"/* #s=REGEX searches, #z=NAME zooms to the widest frame of that name, #icicle=1 (shareable views) */\n"
	"function params() {\n"
	"  var out = {};\n"
	"  (location.hash || \"\").slice(1).split(\"&\").forEach(function (kv) {\n"
	"    var i = kv.indexOf(\"=\");\n"
	"    if (i > 0) try { out[kv.slice(0, i)] = decodeURIComponent(kv.slice(i + 1)); } catch (e) {}\n"
	"  });\n"
	"  return out;\n"
	"}\n"
	"function restore() {\n"
	"  var p = params(), best = -1, i;\n"
	"  if (!ctx) return;\n"
	"  if (p.icicle === \"1\") icicle.checked = true;\n"
	"  for (i = 0; p.z && i < N.length; i++)\n"
	"    if (N[i].name === p.z && (best < 0 || N[i].w > N[best].w)) best = i;\n"
	"  if (p.s) { search.value = p.s; find(); }\n"
	"  if (best >= 0) setZoom(best); else draw();\n"
	"  anchor();\n"
	"}\n"
	"\n"
	"function main() {\n"
	"  load();\n"
	"  document.title = D.title;\n"
	"  $(\"title\").textContent = D.title;\n"
	"  $(\"subtitle\").textContent = D.subtitle;\n"
	"  $(\"note\").textContent = D.note;\n"
	"  if (D.incomplete) {\n"
	"    $(\"warn\").textContent = \"This report is incomplete: data was lost while tracing, so the figures are lower bounds.\";\n"
	"    $(\"warn\").hidden = false;\n"
	"  }\n"
	"  $(\"footer\").textContent = \"drip \" + D.drip_version + \" \\u00b7 flame graph: root at the \" +\n"
	"    \"bottom (top with Icicle), frames[0] (the allocator's caller) at the tip; width = outstanding \" +\n"
	"    D.weight + (D.diff ? \" in the new report; colour = change against the old\" : \"\") +\n"
	"    \". Click a frame to zoom, Escape to reset, Ctrl-F to search.\";\n"
	"  flame();\n"
	"  restore();\n"
	"  stacks();\n"
	"  procs();\n"
	"}\n"
	"\n"
	"function fail(msg) {\n"
	"  var e = $(\"drip-error\");\n"
	"  if (!e) {\n"
	"    e = el(\"div\");\n"
	"    e.id = \"drip-error\";\n"
	"    document.body.insertBefore(e, document.body.firstChild);\n"
	"  }\n"
	"  e.textContent = \"drip: this page could not be drawn: \" + msg;\n"
	"}\n"
	"window.addEventListener(\"error\", function (e) { fail(e.message + \" (line \" + e.lineno + \")\"); });\n"
	"try {\n"
	"  main();\n"
	"  var ok = el(\"div\");\n"
	"  ok.id = \"drip-ready\";\n"
	"  ok.hidden = true;\n"
	"  document.body.appendChild(ok);\n"
	"} catch (e) {\n"
	"  fail(e && e.stack ? e.stack : String(e));\n"
	"}\n"
	"})();\n";
/* END PAGE */

/* Strings of the page, interned: the JSON holds each once and refers to it by index */
struct strtab {
	char **s;
	size_t nr, cap;
	uint32_t *slots; /* index + 1; 0 empty */
	size_t mask;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

/* s, cut to HTML_NAME_MAX bytes on a character boundary and marked with an ellipsis */
static char *dup_capped(const char *s)
{
	size_t len = strlen(s);
	char *d;

	if (len <= HTML_NAME_MAX)
		return strdup(s);
	len = HTML_NAME_MAX;
	while (len && ((unsigned char)s[len] & 0xc0) == 0x80)
		len--; /* do not split a UTF-8 sequence */
	d = malloc(len + 4);
	if (!d)
		return NULL;
	memcpy(d, s, len);
	memcpy(d + len, "\xe2\x80\xa6", 4);
	return d;
}

static int strtab__grow(struct strtab *t)
{
	size_t n = t->mask ? (t->mask + 1) * 2 : 1024, i, k;
	uint32_t *slots = calloc(n, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (i = 0; i < t->nr; i++) {
		for (k = hash_str(t->s[i]) & (n - 1); slots[k]; k = (k + 1) & (n - 1))
			;
		slots[k] = i + 1;
	}
	free(t->slots);
	t->slots = slots;
	t->mask = n - 1;
	return 0;
}

/* Index of s (cut as dup_capped() cuts it), -1 for NULL, or -ENOMEM */
static int64_t strtab__add(struct strtab *t, const char *s)
{
	char *d = NULL;
	const char *key = s;
	size_t k;

	if (!s)
		return -1;
	if ((t->nr + 1) * 2 > t->mask + 1 && strtab__grow(t))
		return -ENOMEM;
	if (strlen(s) > HTML_NAME_MAX) {
		key = d = dup_capped(s); /* rare: most lookups copy nothing */
		if (!d)
			return -ENOMEM;
	}
	for (k = hash_str(key) & t->mask; t->slots[k]; k = (k + 1) & t->mask) {
		if (!strcmp(t->s[t->slots[k] - 1], key)) {
			free(d);
			return t->slots[k] - 1;
		}
	}
	if (t->nr == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		char **s2 = realloc(t->s, cap * sizeof(*s2));

		if (!s2) {
			free(d);
			return -ENOMEM;
		}
		t->s = s2;
		t->cap = cap;
	}
	if (!d && !(d = strdup(s)))
		return -ENOMEM;
	t->s[t->nr] = d;
	t->slots[k] = ++t->nr;
	return t->nr - 1;
}

static void strtab__release(struct strtab *t)
{
	for (size_t i = 0; i < t->nr; i++)
		free(t->s[i]);
	free(t->s);
	free(t->slots);
}

/* A stacks-table row: one stack_id, in the new report, the old one or both */
struct row {
	const struct report_merged *now;
	const struct report_merged *old;
	uint64_t key; /* what the rows are ranked by: weight, or |delta| in a diff */
};

struct page {
	const struct report *r, *base;
	struct flame *fl;
	struct strtab strs;
	struct json_writer *w;
	int err; /* first -ENOMEM from interning */
};

static void put_str_index(struct page *pg, const char *s)
{
	int64_t i = strtab__add(&pg->strs, s);

	if (i < -1 && !pg->err)
		pg->err = (int)i;
	json__i64(pg->w, i < -1 ? -1 : i);
}

/* A name written in place (not interned), cut like the interned ones */
static void put_name(struct page *pg, const char *s)
{
	char *d;

	if (!s || strlen(s) <= HTML_NAME_MAX) {
		json__str(pg->w, s);
		return;
	}
	d = dup_capped(s);
	if (!d && !pg->err)
		pg->err = -ENOMEM;
	json__str(pg->w, d);
	free(d);
}

/* nodes: [depth, start, bytes, allocs, old bytes, old allocs, label, module, file, class] */
static void put_nodes(struct page *pg)
{
	const struct flame *fl = pg->fl;
	struct json_writer *w = pg->w;
	char buf[256];

	json__key(w, "nodes");
	json__arr_start(w);
	for (size_t i = 0; i < fl->nr_nodes && flame__value(fl, &fl->nodes[0].now); i++) {
		const struct flame_node *n = &fl->nodes[i];
		const struct report_frame *fr = n->type == FLAME_FRAME ? n->frame : NULL;
		const char *module = fr ? fr->module : n->proc ? n->proc->exe : NULL;

		json__u64(w, n->depth);
		json__u64(w, n->start);
		json__u64(w, n->now.bytes);
		json__u64(w, n->now.allocs);
		json__u64(w, n->old.bytes);
		json__u64(w, n->old.allocs);
		put_str_index(pg, flame__label(n, buf, sizeof(buf)));
		put_str_index(pg, fr && fr->kind == FRAME_PYTHON ? NULL : module);
		put_str_index(pg, fr ? fr->file : NULL);
		json__u64(w, n->cls);
	}
	json__arr_end(w);
}

static int cmp_merged_id(const void *a, const void *b)
{
	const struct report_merged *x = *(const struct report_merged *const *)a;
	const struct report_merged *y = *(const struct report_merged *const *)b;

	return strncmp(x->stack_id, y->stack_id, sizeof(x->stack_id));
}

static int cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	const struct report_merged *mx = x->now ? x->now : x->old, *my = y->now ? y->now : y->old;

	if (x->key != y->key)
		return x->key > y->key ? -1 : 1;
	return strncmp(mx->stack_id, my->stack_id, sizeof(mx->stack_id));
}

static uint64_t merged_value(const struct flame *fl, const struct report_merged *m)
{
	struct flame_sum s = { 0 };

	if (m)
		s = (struct flame_sum){ m->outstanding_bytes, m->outstanding_allocs };
	return flame__value(fl, &s);
}

static bool holds(const struct report_merged *m)
{
	return m && (m->outstanding_bytes || m->outstanding_allocs);
}

static const struct report_merged **sorted_by_id(const struct report *r)
{
	const struct report_merged **v = calloc(r->nr_merged + 1, sizeof(*v));

	if (!v)
		return NULL;
	for (size_t i = 0; i < r->nr_merged; i++)
		v[i] = &r->merged[i];
	qsort(v, r->nr_merged, sizeof(*v), cmp_merged_id);
	return v;
}

/* Rows that hold memory (or, in a diff, changed), ranked; *nr of them */
static int select_rows(struct page *pg, struct row **out, size_t *nr)
{
	const struct report_merged **a = NULL, **b = NULL;
	const struct report *r = pg->r, *base = pg->base;
	size_t i = 0, j = 0, n = 0;
	struct row *rows;
	int err = -ENOMEM;

	rows = calloc(r->nr_merged + (base ? base->nr_merged : 0) + 1, sizeof(*rows));
	if (!rows)
		goto out;
	if (!base) {
		for (i = 0; i < r->nr_merged; i++) {
			const struct report_merged *m = &r->merged[i];

			if (holds(m))
				rows[n++] =
					(struct row){ .now = m, .key = merged_value(pg->fl, m) };
		}
	} else {
		a = sorted_by_id(r);
		b = sorted_by_id(base);
		if (!a || !b)
			goto out;
		while (i < r->nr_merged || j < base->nr_merged) {
			int c = i == r->nr_merged    ? 1 :
				j == base->nr_merged ? -1 :
						       cmp_merged_id(&a[i], &b[j]);
			struct row row = { .now = c <= 0 ? a[i++] : NULL,
					   .old = c >= 0 ? b[j++] : NULL };
			uint64_t x = merged_value(pg->fl, row.now),
				 y = merged_value(pg->fl, row.old);
			bool same = row.now && row.old &&
				    row.now->outstanding_bytes == row.old->outstanding_bytes &&
				    row.now->outstanding_allocs == row.old->outstanding_allocs;

			row.key = x > y ? x - y : y - x;
			if (!same && (holds(row.now) || holds(row.old)))
				rows[n++] = row; /* what changed */
		}
	}
	qsort(rows, n, sizeof(*rows), cmp_row);
	*out = rows;
	*nr = n;
	rows = NULL;
	err = 0;
out:
	free(rows);
	free(a);
	free(b);
	return err;
}

static const struct report_stack *row_stack(const struct row *row, const struct report *r,
					    const struct report *base)
{
	if (row->now && row->now->first_stack < r->nr_stacks)
		return &r->stacks[row->now->first_stack];
	if (row->old && base && row->old->first_stack < base->nr_stacks)
		return &base->stacks[row->old->first_stack];
	return NULL;
}

/* stacks: [{id, b, a, p, ob, oa, t, f: [function, module, file, line, python, ...]}] */
static int put_stacks(struct page *pg)
{
	struct json_writer *w = pg->w;
	struct row *rows = NULL;
	size_t nr = 0, i, k;
	int err;

	err = select_rows(pg, &rows, &nr);
	if (err)
		return err;
	json__key(w, "stacks_total");
	json__u64(w, nr);
	json__key(w, "stacks");
	json__arr_start(w);
	for (i = 0; i < nr && i < HTML_TOP_STACKS; i++) {
		const struct report_merged *m = rows[i].now ? rows[i].now : rows[i].old;
		const struct report_stack *s = row_stack(&rows[i], pg->r, pg->base);

		json__obj_start(w);
		json__key(w, "id");
		json__strn(w, m->stack_id, strnlen(m->stack_id, sizeof(m->stack_id) - 1));
		json__key(w, "b");
		json__u64(w, rows[i].now ? rows[i].now->outstanding_bytes : 0);
		json__key(w, "a");
		json__u64(w, rows[i].now ? rows[i].now->outstanding_allocs : 0);
		json__key(w, "p");
		json__u64(w, m->pids);
		json__key(w, "ob");
		json__u64(w, rows[i].old ? rows[i].old->outstanding_bytes : 0);
		json__key(w, "oa");
		json__u64(w, rows[i].old ? rows[i].old->outstanding_allocs : 0);
		json__key(w, "t");
		json__bool(w, s && s->truncated);
		json__key(w, "f");
		json__arr_start(w);
		for (k = 0; s && k < s->nr_frames; k++) {
			const struct report_frame *fr = &s->frames[k];

			put_str_index(pg, fr->function);
			put_str_index(pg, fr->module);
			put_str_index(pg, fr->file);
			json__u64(w, fr->line);
			json__u64(w, fr->kind == FRAME_PYTHON);
		}
		json__arr_end(w);
		json__obj_end(w);
	}
	json__arr_end(w);
	free(rows);
	return 0;
}

static int cmp_proc_bytes(const void *a, const void *b)
{
	const struct report_process *x = *(const struct report_process *const *)a;
	const struct report_process *y = *(const struct report_process *const *)b;

	if (x->outstanding_bytes != y->outstanding_bytes)
		return x->outstanding_bytes > y->outstanding_bytes ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* processes: [[pid, ppid, comm, bytes, allocs, exited, exe], ...], the largest first */
static int put_processes(struct page *pg)
{
	const struct report *r = pg->r;
	struct json_writer *w = pg->w;
	const struct report_process **v;
	size_t i;

	v = calloc(r->nr_processes + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < r->nr_processes; i++)
		v[i] = &r->processes[i];
	qsort(v, r->nr_processes, sizeof(*v), cmp_proc_bytes);
	json__key(w, "processes_total");
	json__u64(w, r->nr_processes);
	json__key(w, "processes");
	json__arr_start(w);
	for (i = 0; i < r->nr_processes && i < HTML_MAX_PROCS; i++) {
		json__arr_start(w);
		json__u64(w, v[i]->pid);
		json__u64(w, v[i]->ppid);
		put_name(pg, v[i]->comm);
		json__u64(w, v[i]->outstanding_bytes);
		json__u64(w, v[i]->outstanding_allocs);
		json__bool(w, v[i]->exited);
		put_str_index(pg, v[i]->exe);
		json__arr_end(w);
	}
	json__arr_end(w);
	free(v);
	return 0;
}

static void put_sum(struct json_writer *w, const char *key, const struct flame_sum *s)
{
	json__key(w, key);
	json__obj_start(w);
	json__key(w, "bytes");
	json__u64(w, s->bytes);
	json__key(w, "allocs");
	json__u64(w, s->allocs);
	json__obj_end(w);
}

static int put_data(struct page *pg, const struct format_opts *o)
{
	const struct flame *fl = pg->fl;
	struct json_writer *w = pg->w;
	char sub[512];
	int err;

	flame__subtitle(fl, pg->r, pg->base, sub, sizeof(sub));
	json__obj_start(w);
	json__key(w, "drip_version");
	json__str(w, DRIP_VERSION);
	json__key(w, "title");
	put_name(pg, flame__title(o));
	json__key(w, "subtitle");
	json__str(w, sub);
	flame__pruned_note(fl, sub, sizeof(sub));
	json__key(w, "note");
	json__str(w, sub);
	json__key(w, "diff");
	json__bool(w, fl->diff);
	json__key(w, "weight");
	json__str(w, fl->weight == WEIGHT_COUNT ? "allocs" : "bytes");
	json__key(w, "incomplete");
	json__bool(w, pg->r->incomplete || (pg->base && pg->base->incomplete));
	put_sum(w, "total", &fl->nodes[0].now);
	put_sum(w, "old_total", &fl->nodes[0].old);
	json__key(w, "min_share");
	json__double(w, fl->min_share);
	json__key(w, "pruned");
	json__obj_start(w);
	json__key(w, "frames");
	json__u64(w, fl->pruned_frames);
	put_sum(w, "now", &fl->pruned);
	put_sum(w, "old", &fl->pruned_old);
	json__obj_end(w);
	put_nodes(pg);
	err = put_stacks(pg);
	if (!err)
		err = put_processes(pg);
	if (err)
		return err;
	json__key(w, "strings");
	json__arr_start(w);
	for (size_t i = 0; i < pg->strs.nr; i++)
		json__str(w, pg->strs.s[i]);
	json__arr_end(w);
	json__obj_end(w);
	return pg->err;
}

/* The JSON goes through this: '<' becomes \u003c (it only occurs inside strings) */
static ssize_t lt_write(void *cookie, const char *buf, size_t size)
{
	FILE *out = cookie;
	const char *p = buf, *end = buf + size, *lt;

	while ((lt = memchr(p, '<', end - p))) {
		fwrite(p, 1, lt - p, out);
		fputs("\\u003c", out);
		p = lt + 1;
	}
	fwrite(p, 1, end - p, out);
	return ferror(out) ? -1 : (ssize_t)size;
}

static int write_data(struct page *pg, const struct format_opts *o, FILE *f)
{
	cookie_io_functions_t io = { .write = lt_write };
	FILE *jf;
	int err, err2;

	jf = fopencookie(f, "w", io);
	if (!jf)
		return -errno;
	pg->w = json_writer__new(jf, 0);
	if (!pg->w) {
		fclose(jf);
		return -ENOMEM;
	}
	err = put_data(pg, o);
	err2 = json_writer__free(pg->w);
	pg->w = NULL;
	if (fclose(jf) && !err2)
		err2 = -EIO;
	return err ? err : err2;
}

int format_html(const struct report *r, const struct format_opts *o, FILE *f)
{
	struct flame_opts fo = {
		.weight = o ? o->weight : WEIGHT_BYTES,
		.per_pid = o && o->per_pid,
		.min_share = FLAME_MIN_SHARE,
	};
	struct page pg = { .r = r, .base = o ? o->base : NULL };
	int err;

	err = flame__new(r, pg.base, &fo, &pg.fl);
	if (err)
		return err;
	fputs(html_head, f);
	fputs("<title>", f);
	flame__put_xml(f, flame__title(o), 200);
	fputs("</title>\n", f);
	fputs(html_body, f);
	fputs("<script type=\"application/json\" id=\"drip-data\">", f);
	err = write_data(&pg, o, f);
	fputs("</script>\n<script>\n", f);
	fputs(html_script, f);
	fputs("</script>\n</body>\n</html>\n", f);
	strtab__release(&pg.strs);
	flame__free(pg.fl);
	if (!err && (fflush(f) || ferror(f)))
		err = -EIO;
	return err;
}
