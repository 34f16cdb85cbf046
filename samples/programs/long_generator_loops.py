"""`for` loops over generators whose bodies are long (a loop whose FOR_ITER needs an
EXTENDED_ARG), ending with a return of None, and of a value; and `yield from`. Under
sys.monitoring on 3.12 such a loop specializes to FOR_ITER_GEN and ends at END_FOR with a
STOP_ITERATION event that CPython's own settrace never reports (it keeps FOR_ITER
unspecialized): the tape must have the events settrace has, no more."""


class Bag(dict):
    def keys_gen(self):
        for k in list(dict.keys(self)):
            yield k

    def __iter__(self):
        return self.keys_gen()


def counted(n):
    for i in range(n):
        yield i
    return n  # a value: the loop's end is an `exception StopIteration` under settrace


def delegate(n):
    got = yield from counted(n)
    return got


def long_body(k, rep):
    a = (k, rep, k, rep, k, rep, k, rep, k, rep, k, rep, k, rep, k, rep, k, rep, k, rep)
    b = [k + str(rep), k * 2, k * 3, str(len(a)), k.upper(), k.lower(), k.strip(), k + k]
    c = {k: rep, "x": a, "y": b, "z": len(b) + len(a) + rep * 2 - 1}
    return a, b, c


def loops():
    total = 0
    for rep in range(3):
        bag = Bag(a=1, b=2)
        for k in bag:
            a = (k, rep, k, rep, k, rep, k, rep, k, rep, k, rep, k, rep, k, rep, k, rep, k, rep)
            b = [k + str(rep), k * 2, k * 3, str(len(a)), k.upper(), k.lower(), k.strip(), k + k]
            c = {k: rep, "x": a, "y": b, "z": len(b) + len(a) + rep * 2 - 1}
            d = (k, rep, k, rep, k, rep, k, rep, k, rep, k, rep, k, rep, k, rep, k, rep, k, rep)
            e = [k + str(rep), k * 2, k * 3, str(len(a)), k.upper(), k.lower(), k.strip(), k + k]
            f = {k: rep, "x": d, "y": e, "z": len(e) + len(d) + rep * 2 - 1}
            total += len(c) + len(f)
        for i in counted(2):
            a = (i, rep, i, rep, i, rep, i, rep, i, rep, i, rep, i, rep, i, rep, i, rep, i, rep)
            b = [str(i), str(rep), i * 3, str(len(a)), i + 1, i - 1, i * i, i + i, i, rep, i, rep]
            c = {i: rep, "x": a, "y": b, "z": len(b) + len(a) + rep * 2 - 1, "w": i, "v": rep}
            d = (i, rep, i, rep, i, rep, i, rep, i, rep, i, rep, i, rep, i, rep, i, rep, i, rep)
            e = [str(i), str(rep), i * 3, str(len(a)), i + 1, i - 1, i * i, i + i, i, rep, i, rep]
            f = {i: rep, "x": d, "y": e, "z": len(e) + len(d) + rep * 2 - 1, "w": i, "v": rep}
            total += len(c) + len(f)
        for j in delegate(2):
            total += j
    return total


print(loops())
