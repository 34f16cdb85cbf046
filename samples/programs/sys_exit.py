"""Leaves through sys.exit(3) from a nested call, running finally blocks on the way."""
# e2e-exit: 3
import sys


def check(values):
    bad = [v for v in values if v < 0]
    if bad:
        print("found %d bad values" % len(bad))
        sys.exit(3)
    return sum(values)


def run():
    try:
        print("sum", check([1, 2, 3]))
        print("sum", check([4, -5, 6, -7]))
    finally:
        print("cleanup in run")


run()
print("not reached")
