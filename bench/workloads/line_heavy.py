"""line-heavy: a sieve of Eratosthenes written as plain loops. Mostly line
events, few calls, a handful of locals changing on every line.

usage: python line_heavy.py [N]   (primes up to N; see bench/README.md)
"""

from _timing import run



def sieve(n):
    flags = [True] * (n + 1)
    flags[0] = flags[1] = False
    i = 2
    while i * i <= n:
        if flags[i]:
            j = i * i
            while j <= n:
                flags[j] = False
                j += i
        i += 1
    count = 0
    last = 0
    for k in range(n + 1):
        if flags[k]:
            count += 1
            last = k
    return count, last


def main(n):
    return sieve(n)


if __name__ == "__main__":
    run(main, 400_000)
