"""call-heavy: recursive fib. Every call is a call, a line and a return event.

usage: python call_heavy.py [N]   (fib(N); see bench/README.md)
"""

from _timing import run



def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def main(n):
    return fib(n)


if __name__ == "__main__":
    run(main, 27)
