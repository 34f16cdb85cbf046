"""pytest plugin: ``pytest --tape`` records every test and keeps the tapes of
failing tests, so the failure can be stepped through backwards offline.

Registered through the ``pytest11`` entry point. Options (and ini keys):
``--tape={off,on,retain-on-failure}`` (``tape``; ``--tape`` alone means
retain-on-failure) and ``--tape-dir DIR`` (``tape_dir``, default ``.tapes`` under the rootdir). Note that a bare ``--tape``
takes the next word as its mode when it is one: write ``--tape`` after the
test paths, or ``--tape=retain-on-failure`` before them.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import sys
import warnings
from typing import Dict, List, Optional

import pytest

from tracetape import _recording

MODES = ("off", "on", "retain-on-failure")
_KEY = pytest.StashKey[Dict[str, object]]() if hasattr(pytest, "StashKey") else None


def pytest_addoption(parser):
    group = parser.getgroup("tracetape", "record tests with tracetape")
    group.addoption(
        "--tape",
        action="store",
        nargs="?",
        const="retain-on-failure",
        default=None,
        choices=MODES,
        help="record each test into a tape: on (keep all), retain-on-failure (keep failures; "
        "the default of a bare --tape) or off",
    )
    group.addoption("--tape-dir", action="store", default=None, metavar="DIR",
                    help="where tapes go (default: .tapes)")
    parser.addini("tape", "tape mode: off, on or retain-on-failure", default="off")
    parser.addini("tape_dir", "where tapes go", default=".tapes")


def _mode(config) -> str:
    mode = config.getoption("tape") or config.getini("tape") or "off"
    if mode not in MODES:
        raise pytest.UsageError(f"tape must be one of {', '.join(MODES)}, not {mode!r}")
    return mode


def tape_name(nodeid: str) -> str:
    """A file name from a node id: safe characters only, bounded length, and
    unique (a hash keeps ids that differ only in dropped characters apart)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", nodeid.replace("::", "--").replace("/", "-")).strip("-.")
    digest = hashlib.sha1(nodeid.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{safe[:120]}-{digest}.tape"


class _TapePlugin:
    def __init__(self, config, mode: str):
        self.config = config
        self.mode = mode
        root = str(config.rootpath) if hasattr(config, "rootpath") else str(config.rootdir)
        tape_dir = config.getoption("tape_dir") or config.getini("tape_dir") or ".tapes"
        self.dir = os.path.join(root, tape_dir) if not os.path.isabs(tape_dir) else tape_dir
        self.kept: List[tuple] = []
        self.disabled_reason: Optional[str] = None
        # Paths are shown relative to where pytest was started, whatever
        # directory a test moved to.
        self.base = str(config.invocation_params.dir)
        # pytest's and pluggy's own code is never what the user wants to see.
        import _pytest
        import pluggy

        self.exclude = [os.path.dirname(_pytest.__file__) + "/*", os.path.dirname(pytest.__file__) + "/*",
                        os.path.dirname(pluggy.__file__) + "/*",
                        os.path.dirname(os.path.abspath(__file__)) + "/*"]

    def _path(self, item) -> str:
        return os.path.join(self.dir, tape_name(item.nodeid))

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_protocol(self, item, nextitem):
        path = None
        if self.disabled_reason is None:
            if _recording.is_recording():
                self.disabled_reason = "a recording was already running: tapes are off"
            elif sys.gettrace() is not None and _recording.resolve_backend() == "settrace":
                self.disabled_reason = f"another trace function is active ({sys.gettrace()!r}): tapes are off"
                warnings.warn(f"tracetape: {self.disabled_reason}")
            else:
                path = self._path(item)
                os.makedirs(self.dir, exist_ok=True)
                item.stash[_KEY] = {"path": path, "failed": False}
                _recording.start(path, exclude=self.exclude, argv=["pytest", item.nodeid],
                                 metadata={"pytest_nodeid": item.nodeid})
        try:
            yield
        finally:
            if path is not None:
                state = item.stash[_KEY]
                failed = bool(state["failed"])
                _recording.stop(1 if failed else 0)
                if not (failed or self.mode == "on"):
                    try:
                        os.unlink(path)
                    except OSError:
                        pass

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        state = item.stash.get(_KEY, None)
        if state is None:
            return
        if report.failed:
            state["failed"] = True
            if not state.get("announced"):
                state["announced"] = True
                path = state["path"]
                report.sections.append(
                    ("tracetape", f"tape: {self.display(path)}\nreplay it from the failure: {self.replay(path)}"))
        if report.when == "teardown" and (state["failed"] or self.mode == "on"):
            # Carried by the report, so that under pytest-xdist the main
            # process, which prints the summary, learns of the workers' tapes.
            report.tracetape_tape = state["path"]
            report.tracetape_failed = bool(state["failed"])

    def pytest_runtest_logreport(self, report):
        path = getattr(report, "tracetape_tape", None)
        if path:
            self.kept.append((report.nodeid, path, bool(getattr(report, "tracetape_failed", False))))

    def pytest_terminal_summary(self, terminalreporter):
        if self.disabled_reason:
            terminalreporter.write_sep("-", "tracetape")
            terminalreporter.write_line(f"tracetape: {self.disabled_reason}")
            return
        if not self.kept:
            return
        terminalreporter.write_sep("-", "tracetape: tapes kept")
        for nodeid, path, failed in self.kept:
            status = "FAILED" if failed else "passed"
            terminalreporter.write_line(f"{status} {nodeid}")
            terminalreporter.write_line(f"    {self.replay(path)}")

    def display(self, path: str) -> str:
        rel = os.path.relpath(path, self.base)
        return path if rel.startswith("..") else rel

    def replay(self, path: str) -> str:
        return f"tracetape replay {shlex.quote(self.display(path))}"


def pytest_configure(config):
    if _KEY is None:
        raise pytest.UsageError("tracetape's pytest plugin needs pytest 7 or newer")
    mode = _mode(config)
    if mode == "off":
        return
    config.pluginmanager.register(_TapePlugin(config, mode), "tracetape-tapes")
