"""Closures, nonlocal, decorators and lambdas."""
import functools


def make_counter(start=0):
    count = start

    def increment(step=1):
        nonlocal count
        count += step
        return count

    def peek():
        return count

    return increment, peek


def make_multipliers():
    return [lambda x, k=k: x * k for k in range(4)]


def memoize(func):
    cache = {}

    @functools.wraps(func)
    def wrapper(*args):
        if args in cache:
            return cache[args]
        result = func(*args)
        cache[args] = result
        return result

    return wrapper


@memoize
def slow_square(n):
    return n * n


def outer(a):
    b = a * 2

    def middle(c):
        d = b + c

        def inner(e):
            nonlocal d
            d += e
            return a + b + c + d + e

        return inner

    return middle


def tally(values):
    total = 0
    seen = []

    def add(n):
        nonlocal total
        total += n
        seen.append(n)

    for v in values:
        add(v)
    return total, seen


def main():
    print(tally([3, 4, 5]))
    inc, peek = make_counter(10)
    inc()
    inc(5)
    print("counter:", peek())

    mults = make_multipliers()
    print([m(3) for m in mults])

    print(slow_square(4), slow_square(4), slow_square(5))

    fn = outer(1)(2)
    print(fn(3), fn(3))

    dispatch = {
        "add": lambda p, q: p + q,
        "sub": lambda p, q: p - q,
        "pow": lambda p, q: p ** q,
    }
    print({name: op(7, 2) for name, op in sorted(dispatch.items())})
    words = ["banana", "Apple", "cherry", "date"]
    print(sorted(words, key=lambda w: (len(w), w.lower())))
    print(list(filter(lambda w: "a" in w, map(lambda w: w.lower(), words))))
    print((lambda *parts, sep="-": sep.join(parts))("a", "b", "c"))


main()
