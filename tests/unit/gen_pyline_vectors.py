# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""Writes pyline_vectors.h for test_pyline.c: line tables of real code objects, and the line
CPython itself gives each instruction.  Run it with each interpreter and concatenate:

  for py in python3.10 python3.11 python3.12; do $py gen_pyline_vectors.py; done > pyline_vectors.h
"""

import sys


def sample(a, b):
    x = a + b
    if x > 3:
        for i in range(a):
            x += i * 2
    else:
        x = [y for y in range(b)
             if y % 2]

    try:
        return x / (a - b)
    except ZeroDivisionError:
        pass
    return None


def far_lines(k):
    s = 0
    s += k
    # many lines without code, so that line deltas need long forms
    ''' doc
    text
    '''
    ###########################################################################################
    z = (k
         +
         1)
    lam = lambda q: q + 1  # noqa: E731
    return s + z + lam(k)


def lines_of(co):
    n = len(co.co_code) // 2
    if sys.version_info >= (3, 11):
        return [p[0] if p[0] is not None else 0 for p in co.co_positions()][:n]
    out = [0] * n
    for start, end, line in co.co_lines():
        for b in range(start, end, 2):
            out[b // 2] = line if line is not None else 0
    return out


def codes():
    seen = [sample.__code__, far_lines.__code__]
    for co in list(seen):
        seen += [c for c in co.co_consts if hasattr(c, "co_code")]
    return seen


v = "%d%d" % sys.version_info[:2]
fmt = "PYLINE_310" if v == "310" else "PYLINE_311"
print(f"/* from Python {sys.version.split()[0]} (gen_pyline_vectors.py) */")
for k, co in enumerate(codes()):
    tab = ", ".join("0x%02x" % b for b in co.co_linetable)
    lines = ", ".join(str(x) for x in lines_of(co))
    print(f"static const uint8_t py{v}_{k}_tab[] = {{ {tab} }};")
    print(f"static const int py{v}_{k}_lines[] = {{ {lines} }};")
print(f"static const struct vector py{v}_vectors[] = {{")
for k, co in enumerate(codes()):
    print(f"\t{{ \"{co.co_name}\", {fmt}, py{v}_{k}_tab, sizeof(py{v}_{k}_tab), {co.co_firstlineno}, "
          f"py{v}_{k}_lines, sizeof(py{v}_{k}_lines) / sizeof(int) }},")
print("};")
