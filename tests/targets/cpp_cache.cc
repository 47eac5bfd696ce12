// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * cpp_cache: a C++ leak for symbolization, built as C++ ships (g++ -O2 -g):
 * Cache<Foo>::insert, a template member kept out of line, calls make_foo,
 * which is always inlined into it and leaks a `new Foo` 100 times.  From
 * DWARF, drip must show
 *   make_foo [inlined] cpp_cache.cc:LEAK_LINE
 *   < Cache<Foo>::insert cpp_cache.cc:CALL_LINE < main
 * (libstdc++'s operator new, which calls malloc, is the allocator: not a frame)
 * (tests/e2e/test_symbols.py finds the marked lines in this text).
 * Truth ($DRIP_TRUTH): the blocks, under "Cache<Foo>::insert".
 */
#include "target.h"

#include <new>

struct Foo {
	long v[4];
};

template <typename T> struct Cache {
	T *slots[128];
	unsigned n;
	T_NOINLINE void insert(long v);
};

static inline __attribute__((always_inline)) Foo *make_foo(long v)
{
	return new Foo{ { v, v + 1, v + 2, v + 3 } }; /* LEAK_LINE */
}

template <typename T> void Cache<T>::insert(long v)
{
	T *f = make_foo(v); /* CALL_LINE */

	slots[n++ % 128] = f;
	t_alloc("Cache<Foo>::insert", f, sizeof(*f));
}

int main()
{
	static Cache<Foo> cache;

	t_init("cpp_cache");
	for (long i = 0; i < 100; i++)
		cache.insert(i);
	t_done();
	return 0;
}
