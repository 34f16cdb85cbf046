"""Code objects made and freed one after another at the same address: each
snippet below is compiled by a builtin (no recorded event in between), run, and
freed before the next one is made, so that CPython's allocator gives the next
one the address of the last, whose events were the last ones seen. The
recorder must not take the new code for the freed one (its cache of the last
code forgets a code when the code is freed). The snippets differ in their
function's name, their line layout and their values, and count as this file's
code (compiled with its name), at the blank lines kept for them below.
"""
# e2e-args: 60

import collections
import sys
from itertools import repeat

PAD = 30  # the snippets' first line: the blank lines after the docstring's block


def snippet(i):
    name = f"g{i % 3}"
    body = f"def {name}(n):\n    t = n + {i}\n"
    if i % 2:
        body += "    t *= 2\n"
    body += f"    return t\nresults.append({name}({i}))\nresults.append({name}({i} + 1))\ndel {name}\n"
    return "\n" * (PAD - 1) + body


#
#
#
#
#
#
#
#
#
#


results = []


def main(count):
    sources = [snippet(i) for i in range(count)]
    # compile() and exec() are builtins, map and deque C code: from one
    # snippet's last event to the next one's first, nothing is recorded.
    codes = map(compile, sources, repeat(__file__), repeat("exec"))
    collections.deque(map(exec, codes, repeat(globals())), maxlen=0)
    print(len(results), sum(results))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 60)
