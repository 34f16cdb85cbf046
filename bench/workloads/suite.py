"""A real test suite: the pytest suite of a pinned pure-Python package (toolz,
see bench/suite-requirements.txt), run in this process with pytest.main.

The timed span is pytest's session, from pytest_sessionstart to
pytest_sessionfinish: collection (importing the package and its tests) and every
test. Interpreter start-up, importing pytest and the tool, and writing the
trace are outside it, as for the other workloads.

usage: python suite.py SUITE_DIR [TEST_PATH...]   (see bench/README.md)
"""
import os
import shlex
import sys
import time

from _timing import report


class Timer:
    """A pytest plugin: times the session and counts the outcomes."""

    def __init__(self):
        self.start = self.end = None
        self.outcomes = {}

    def pytest_sessionstart(self, session):
        self.start = time.perf_counter()

    def pytest_runtest_logreport(self, report):
        if report.when == "call" or report.outcome != "passed":
            self.outcomes[report.outcome] = self.outcomes.get(report.outcome, 0) + 1

    def pytest_sessionfinish(self, session, exitstatus):
        self.end = time.perf_counter()


if __name__ == "__main__":
    root = os.path.abspath(sys.argv[1])
    tests = sys.argv[2:] or ["."]
    os.chdir(root)
    sys.path.insert(0, root)
    import pytest

    timer = Timer()
    # No cache, no plugins from entry points (tracetape's own pytest plugin,
    # hunter's, ...): the suite runs the same way under every tool.
    # BENCH_PYTEST_ARGS: more options, for a tool that is a pytest plugin
    # (bench/run.py's tracetape-pytest: `-p tracetape.pytest_plugin --tape`).
    more = shlex.split(os.environ.get("BENCH_PYTEST_ARGS", ""))
    status = pytest.main(["-q", "-p", "no:cacheprovider", "--rootdir", root, *more, *tests],
                         plugins=[timer])
    outcomes = ",".join(f"{k}={v}" for k, v in sorted(timer.outcomes.items()))
    report(timer.end - timer.start, f"exit={int(status)},{outcomes}")
