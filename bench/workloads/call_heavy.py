"""call-heavy: recursive fib. Every call is a call, a line and a return event.

usage: python call_heavy.py [N]   (fib(N); see bench/README.md)
"""
import json
import os
import sys
import time


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def main(n):
    return fib(n)


def report(elapsed, checksum):
    """Hands the timed body's seconds and result to bench/run.py."""
    print(f"checksum {checksum}")
    out = os.environ.get("BENCH_RESULT_FILE")
    if out:
        with open(out, "w") as f:
            json.dump({"elapsed": elapsed, "checksum": str(checksum)}, f)


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 27
    t0 = time.perf_counter()
    result = main(n)
    report(time.perf_counter() - t0, result)
