"""Runs a script under hunter: `python run_hunter.py OUT SCOPE_DIR SCRIPT [ARGS...]`.

Every event (call, line, return, exception) of the files under SCOPE_DIR is
printed by hunter's CallPrinter (source line, call arguments, return values)
to the file OUT. Events elsewhere reach hunter's tracer and are filtered out by
the predicate, as hunter does for any filtered run."""
import os
import runpy
import sys

import hunter

out, scope, script = sys.argv[1:4]
sys.argv = sys.argv[3:]
sys.path[0] = os.path.dirname(os.path.realpath(script))
stream = open(out, "w")
hunter.trace(hunter.Q(filename_startswith=os.path.abspath(scope) + os.sep),
             action=hunter.CallPrinter(stream=stream, force_colors=False))
try:
    runpy.run_path(script, run_name="__main__")
finally:
    hunter.stop()
    stream.close()
