"""Calls whose arguments are all small ints, which the recorder records on a path of
their own (its word deltas built in place), next to calls that look like them but do not
qualify: bools, int subclasses, ints past a word, a str that reads like an int, *args,
more than 16 locals, a generator's first call and its resumes, defaults and keyword-only
arguments. Each frame's later locals must then be compared from what the call left.
"""
# e2e-args: 2000

import enum
import sys


class Level(enum.IntEnum):
    LOW = 1


def add(a, b):
    total = a + b
    a = a  # rebound to the same int: no change
    b = str(b)  # now a str that reads like the int it was
    return total


def countdown(n):
    if n <= 0:
        return 0
    return 1 + countdown(n - 1)


def defaults(x, y=7, *, z=-3):
    return x * y + z


def sixteen(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15):
    return a0 + a15


def seventeen(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16):
    return a0 + a16


def later_locals(n):
    k = n * 2  # unbound at the call, bound here
    s = [n, k]
    del k
    return s


def varargs(*values):
    return len(values)


def ticks(n, step):
    i = 0
    while i < n:
        yield i
        i += step


def bounds():
    # A compact int on 3.12+ is |v| < 2**30; before, one 30-bit digit: the same range.
    edge = 2 ** 30
    for v in (edge - 1, edge, -(edge - 1), -edge, sys.maxsize, -sys.maxsize - 1, 0, -1):
        add(v, 1)


def main(count):
    results = []
    for i in range(count):
        results.append(add(i, i % 7 - 3))
    results.append(countdown(40))
    results.append(defaults(2))
    results.append(defaults(2, 3, z=4))
    results.append(sixteen(*range(16)))
    results.append(seventeen(*range(17)))
    results.append(later_locals(5))
    results.append(varargs(1, 2, 3))
    results.append(add(True, False))
    results.append(add(Level.LOW, 2))
    results.append(add(10 ** 30, -(10 ** 30)))
    results.append(sum(ticks(20, 3)))
    results.append((lambda p, q: p - q)(9, 4))
    bounds()
    return results


if __name__ == "__main__":
    print(main(int(sys.argv[1]))[-14:])
