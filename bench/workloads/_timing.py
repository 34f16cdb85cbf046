"""What every workload shares: time its main body and hand the seconds and
the result (its checksum) to bench/run.py through $BENCH_RESULT_FILE.

The workloads import it as a sibling module: python puts a script's folder on
sys.path, and so do the floor and peer launchers (sys.path[0]).
"""
import json
import os
import sys
import time


def report(elapsed, checksum):
    """Prints the checksum and writes {elapsed, checksum} for bench/run.py."""
    print(f"checksum {checksum}")
    out = os.environ.get("BENCH_RESULT_FILE")
    if out:
        with open(out, "w") as f:
            json.dump({"elapsed": elapsed, "checksum": str(checksum)}, f)


def run(main, default_size):
    """main(size) timed, size from argv[1] or the default, then report()."""
    size = int(sys.argv[1]) if len(sys.argv) > 1 else default_size
    t0 = time.perf_counter()
    result = main(size)
    report(time.perf_counter() - t0, result)
