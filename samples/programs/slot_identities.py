"""Frames whose locals are compared by identity all at once (at most 16
plain slots) and frames just past that (17, a cell, a redacted name): in-place
changes at the same identity, rebinding to equal and unequal values, unbinding,
a list freed and another made at its address, generators resumed, a caller's
local written through f_locals (3.13)."""

import sys


def sixteen(n):
    a = []
    b = {}
    c = 0
    d = "x"
    e = (1, 2)
    f = None
    g = 1.5
    h = [0] * 3
    i = 0
    j = k = m = p = q = r = 0
    for i in range(n):
        a.append(i)       # same list, new content
        b[i % 2] = i      # same dict
        h[i % 3] += 1     # a flat list changed in place
        c = c + 0         # the same small int again
        d = d + ""        # an equal str (perhaps the same object)
        e = (1, 2 + i)
        g = g * 1.0
        if i == 1:
            del f          # unbound mid-loop
        if i == 2:
            f = "back"
        j, k = k, j + 1
        m = [m]           # a new list each time, the old one freed
        p = a             # the same object under two names
        p.append(-1)      # seen through both
        q = q if i % 2 else []
        r = len(a)
    return a, b, c, d, e, f, g, h, j, k, p, q, r


def seventeen(n):
    s1 = s2 = s3 = s4 = s5 = s6 = s7 = s8 = 0
    s9 = s10 = s11 = s12 = s13 = s14 = 0
    box = [0]
    for s1 in range(n):
        s2 += 1
        box[0] += s2
        s16 = box
    return s1, s2, s16, s3 + s4 + s5 + s6 + s7 + s8 + s9 + s10 + s11 + s12 + s13 + s14


def with_cell(n):
    total = []
    step = 1

    def add(x):
        total.append(x + step)

    for k in range(n):
        add(k)
        step += 1
    return total


def with_secret(n):
    password = "hunter2"
    seen = []
    for k in range(n):
        seen.append(k)
        password = password + str(k)
    return len(seen)


def freed_and_made(n):
    out = []
    for k in range(n):
        tmp = [k, k + 1]
        out.append(tmp[0])
        del tmp
        tmp = [k + 2, k + 3]   # often at the freed list's address
        tmp[0] = -k
        out.append(tmp[0])
    return out


def counter(n):
    seen = []
    last = None
    for k in range(n):
        seen.append(k)      # changed while suspended? no: changed here
        last = yield k
        if last is not None:
            seen.append(last)
    return seen


def drive():
    gen = counter(5)
    got = [next(gen)]
    got.append(gen.send("a"))
    got.append(next(gen))
    got.append(gen.send(["b"]))
    got.extend(gen)
    return got


def poke():
    # 3.13 (PEP 667): a frame's f_locals writes through to its fast locals,
    # here a caller's, with no instruction of the caller's running. (Before
    # 3.13 a write to that dict is lost, or not, depending on the tracer.)
    if sys.version_info >= (3, 13):
        sys._getframe(1).f_locals["target"] = "poked"


def poked():
    target = "start"
    other = 0
    poke()
    other += 1
    return target, other


def shared(lst):
    lst.append(len(lst))
    return lst


def outer(n):
    items = []
    count = 0
    for k in range(n):
        shared(items)       # a callee changes a local's list in place
        count += 1
    return items, count


print(sixteen(5))
print(seventeen(4))
print(with_cell(4))
print(with_secret(3))
print(freed_and_made(4))
print(drive())
print(outer(4))
print(poked())
