"""Runs a script under the cost floor: `python run_floor.py BUILD_DIR settrace|monitoring
SCRIPT [ARGS...]`. BUILD_DIR holds the bench_floor extension that bench/run.py
built for this interpreter (see bench_floor.c)."""
import os
import runpy
import sys

build_dir, mode, script = sys.argv[1:4]
sys.path[0] = build_dir
import bench_floor  # noqa: E402

# As `python SCRIPT ARGS` would have it.
sys.argv = sys.argv[3:]
sys.path[0] = os.path.dirname(os.path.realpath(script))
getattr(bench_floor, mode)()
runpy.run_path(script, run_name="__main__")
