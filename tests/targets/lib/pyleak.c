// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The C half of tests/targets/py_leak.py, loaded with ctypes: parse_record
 * leaks a known size per call; call_back runs a Python callback from C, so
 * the stack reads C -> Python -> C -> Python.
 */
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) void *parse_record(size_t size)
{
	char *p = malloc(size);

	if (p)
		memset(p, 'r', size);
	return p; /* never freed: the leak */
}

__attribute__((noinline)) int call_back(int (*cb)(int), int arg)
{
	return cb(arg) + 1;
}

__attribute__((noinline)) void release_record(void *p)
{
	free(p);
}
