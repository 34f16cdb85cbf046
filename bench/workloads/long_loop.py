"""The --long run: a tight loop of N iterations (about two line events each,
so 50M iterations give ~100M events), to show that the recorder's memory stays
bounded however long the run. Not part of the default matrix.

usage: python long_loop.py [N]
"""
import json
import os
import sys
import time


def main(n):
    total = 0
    for i in range(n):
        total += i & 7
    return total


def report(elapsed, checksum):
    """Hands the timed body's seconds and result to bench/run.py."""
    print(f"checksum {checksum}")
    out = os.environ.get("BENCH_RESULT_FILE")
    if out:
        with open(out, "w") as f:
            json.dump({"elapsed": elapsed, "checksum": str(checksum)}, f)


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000_000
    t0 = time.perf_counter()
    result = main(n)
    report(time.perf_counter() - t0, result)
