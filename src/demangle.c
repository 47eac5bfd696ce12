// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Demangling with libiberty's cplus_demangle_v3 (libiberty-dev), the
 * demangler of binutils and GDB.  Names come from traced binaries and are
 * untrusted: libiberty bounds its recursion (DEMANGLE_RECURSION_LIMIT), its
 * scratch arrays grow with the input and live on the stack, so the input is
 * capped.  Parameter lists are left out on purpose: "Cache<Foo>::insert" is
 * what a leak report (and pprof, and a flame graph) wants to show.
 */
#include <stdlib.h>
#include <string.h>

#include <libiberty/demangle.h>

#include "drip/demangle.h"

#define MAX_MANGLED 4096 /* bytes: longer names stay mangled */

char *demangle__name(const char *sym)
{
	const char *ver;
	char *base, *out, *res;
	size_t len, blen, vlen;

	if (!sym || sym[0] != '_' || sym[1] != 'Z')
		return NULL;
	len = strnlen(sym, MAX_MANGLED + 1);
	if (len > MAX_MANGLED)
		return NULL;
	ver = memchr(sym, '@', len); /* .symtab names may carry "@VER" or "@@VER" */
	blen = ver ? (size_t)(ver - sym) : len;
	base = strndup(sym, blen);
	if (!base)
		return NULL;
	out = cplus_demangle_v3(base, DMGL_ANSI);
	free(base);
	if (!out || !ver)
		return out;
	vlen = len - blen;
	res = realloc(out, strlen(out) + vlen + 1);
	if (!res) {
		free(out);
		return NULL;
	}
	strncat(res, ver, vlen);
	return res;
}
