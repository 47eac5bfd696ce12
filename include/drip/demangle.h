/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * C++ names as people read them.  Every function name drip shows goes
 * through here, whether it came from an ELF symbol or from DWARF.
 */
#ifndef DRIP_DEMANGLE_H
#define DRIP_DEMANGLE_H

/*
 * The readable form of an Itanium-ABI name ("_ZN5CacheI3FooE6insertEi" ->
 * "Cache<Foo>::insert"): scope and template arguments, no parameter list,
 * clone suffixes (".isra.0", ".cold") dropped; a symbol version ("@@GLIBCXX_3.4")
 * is kept.  A new string to free, or NULL when sym is not mangled, cannot be
 * demangled, is longer than 4 KiB, or memory ran out.
 */
char *demangle__name(const char *sym);

#endif /* DRIP_DEMANGLE_H */
