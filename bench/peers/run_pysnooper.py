"""Runs a script under PySnooper: `python run_pysnooper.py OUT SCRIPT [ARGS...]`.

PySnooper traces a function or a `with` block and the calls made from it down to
`depth` levels; it has no file filter. The whole script runs inside
`pysnooper.snoop(OUT, depth=1000)`: every line, call, return and exception of
the script and of everything it calls (standard library and site-packages
included), with every local's repr on each line, written to the file OUT."""
import os
import runpy
import sys

import pysnooper

out, script = sys.argv[1:3]
sys.argv = sys.argv[2:]
sys.path[0] = os.path.dirname(os.path.realpath(script))
with pysnooper.snoop(out, depth=1000, color=False):
    runpy.run_path(script, run_name="__main__")
