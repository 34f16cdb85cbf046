"""tracetape: record a Python run into a self-contained tape, replay it offline.

Recording from Python::

    import tracetape
    with tracetape.record("run.tape"):
        work()

or ``tracetape.start("run.tape")`` ... ``tracetape.stop()``. Replaying::

    tape = tracetape.open("run.tape")
    tape.breakpoint("app.py:14", "port > 1000")
    tape.cont(); print(tape.locals); tape.step_back()

The command line
(``tracetape record|dump|info|verify``) is documented in the README.

PYTEST_DONT_REWRITE: pytest loads the plugin (``tracetape.pytest_plugin``)
from this package's ``pytest11`` entry point and marks the package for
assertion rewriting; under ``tracetape record -m pytest`` the package is
imported already, and without this marker pytest warns (an error where
``filterwarnings = error``). Nothing here needs rewritten asserts.
"""

from tracetape._recording import record, start, stop, is_recording, release_hook
from tracetape._replay import Tape, open

__version__ = "0.1.0"
__all__ = ["record", "start", "stop", "is_recording", "release_hook", "open", "Tape", "__version__"]
