"""line-heavy: a sieve of Eratosthenes written as plain loops. Mostly line
events, few calls, a handful of locals changing on every line.

usage: python line_heavy.py [N]   (primes up to N; see bench/README.md)
"""
import json
import os
import sys
import time


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


def report(elapsed, checksum):
    """Hands the timed body's seconds and result to bench/run.py."""
    print(f"checksum {checksum}")
    out = os.environ.get("BENCH_RESULT_FILE")
    if out:
        with open(out, "w") as f:
            json.dump({"elapsed": elapsed, "checksum": str(checksum)}, f)


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 400_000
    t0 = time.perf_counter()
    result = main(n)
    report(time.perf_counter() - t0, result)
