"""tracetape: record a Python run into a self-contained tape, replay it offline.

Recording from Python::

    import tracetape
    with tracetape.record("run.tape"):
        work()

or ``tracetape.start("run.tape")`` ... ``tracetape.stop()``. The command line
(``tracetape record|dump|info|verify``) is documented in the README.
"""

from tracetape._recording import record, start, stop, is_recording

__version__ = "0.1.0"
__all__ = ["record", "start", "stop", "is_recording", "__version__"]
