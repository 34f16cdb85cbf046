"""pytest plugin: ``pytest --tape`` records every test and keeps the tapes of
failing tests, so the failure can be stepped through backwards offline.

Registered through the ``pytest11`` entry point. Options (and ini keys):
``--tape={off,on,retain-on-failure}`` (``tape``; ``--tape`` alone means
retain-on-failure) and ``--tape-dir DIR`` (``tape_dir``, default ``.tapes`` under the
rootdir). A bare ``--tape`` takes the next word as its mode only when it is
one: ``pytest --tape tests/`` records the tests under ``tests/`` (and so does
``addopts = --tape`` with test paths on the command line).
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shlex
import sys
import warnings
from typing import Dict, List, Optional

import pytest

from tracetape import _core, _recording

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
        metavar="{" + ",".join(MODES) + "}",
        help="record each test into a tape: on (keep every test that ran), retain-on-failure (keep failures; "
        "the default of a bare --tape) or off",
    )
    group.addoption("--tape-dir", action="store", default=None, metavar="DIR",
                    help="where tapes go (default: .tapes)")
    parser.addini("tape", "tape mode: off, on or retain-on-failure", default="off")
    parser.addini("tape_dir", "where tapes go", default=".tapes")


def _mode(config) -> str:
    option = config.getoption("tape")
    mode = option if option is not None else (config.getini("tape") or "off")
    if mode not in MODES:
        where = "--tape" if option is not None else "the ini key tape"
        raise pytest.UsageError(
            f"{where}: {mode!r} is not a mode: use one of {', '.join(MODES)}"
            + (" (a test path after a bare --tape must exist)" if option is not None and mode else ""))
    return mode


def _names_a_test_path(word: str, invocation_dir: str) -> bool:
    """Whether `word` reads as a test path or node id rather than a mode."""
    if not word or word.startswith("-") or word in MODES:
        return False
    path = word.split("::", 1)[0]
    return os.path.exists(os.path.join(invocation_dir, path)) or "::" in word or "/" in path or path.endswith(".py")


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    """A bare ``--tape`` followed by a test path: argparse gives an option's
    optional value to whatever word follows it, so ``pytest --tape tests/``
    (or ``addopts = --tape`` before the command line's paths) would take the
    path for the mode. The argument list, which pytest parses for good after
    this hook, gets ``--tape=retain-on-failure`` there instead, and the early
    parse's result (whose test paths locate the initial conftests) the path."""
    invocation_dir = str(early_config.invocation_params.dir)
    early = early_config.known_args_namespace
    for i in range(len(args) - 1):
        word = str(args[i + 1])
        if args[i] == "--tape" and _names_a_test_path(word, invocation_dir):
            args[i] = "--tape=retain-on-failure"
            if getattr(early, "tape", None) == word:
                early.tape = "retain-on-failure"
                getattr(early, "file_or_dir", []).append(word)


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
        self.left_out = [d.rstrip("/") + "/" for d in _recording._default_exclude_dirs()]
        # Kept tapes that hold no events (not known under pytest-xdist).
        self.empty: set = set()
        # include_for's answer per test file (it resolves symlinks: a system
        # call per component of the path, for each test), and whether the
        # tape directory was made.
        self._scopes: dict = {}
        self._dir_made = False

    def include_for(self, item) -> List[str]:
        """The recording's scope for one test: the default (empty), except for
        a test whose file lies where the default leaves code out (an installed
        package's tests, `pytest --pyargs pkg`, the standard library's): then
        its top-level package, whose tape would otherwise hold no events."""
        where = getattr(item, "path", None) or getattr(item, "fspath", None)
        if where is None:
            return []
        where = str(where)
        scope = self._scopes.get(where)
        if scope is None:
            scope = self._scopes[where] = self._scope_of(where)
        return list(scope)

    def _scope_of(self, where: str) -> List[str]:
        path = os.path.abspath(where)
        if not any(p.startswith(d) for p in {path, os.path.realpath(path)} for d in self.left_out):
            return []
        root = os.path.dirname(path)
        while os.path.exists(os.path.join(root, "__init__.py")) and \
                os.path.exists(os.path.join(os.path.dirname(root), "__init__.py")):
            root = os.path.dirname(root)
        return sorted({root + "/*", os.path.realpath(root) + "/*"})

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
                if self._start(item, path):
                    item.stash[_KEY] = {"path": path, "failed": False}
                    # Until the setup phase: pytest's own code (see _phase).
                    item.stash[_KEY]["paused"] = _core._pause_thread()
                else:
                    path = None
        try:
            yield
        finally:
            if path is not None:
                state = item.stash[_KEY]
                failed = bool(state["failed"])
                # A test skipped before it ran (a skip mark, a skipping
                # fixture) has nothing to replay: its tape is not kept.
                keep = failed or (self.mode == "on" and not state.get("not_run"))
                # The recording is this test's own unless the test stopped it
                # (and perhaps started one of its own: stopped here as
                # before, its tape kept).
                ours = _recording.recording_path() == path
                # The hook stays for the next test's recording (released
                # when the session ends).
                _recording.stop(1 if failed else 0, discard=ours and not keep, keep_hook=ours)
                if not keep and not ours:
                    try:
                        os.unlink(path)
                    except OSError:
                        pass
                elif keep and ours and _recording.last_event_count() == 0:
                    self.empty.add(path)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session):
        """The tape directory, made before any test runs (in pytest-xdist's
        main process too, before its workers start): one where no tape can
        be written is a usage error naming it and the reason."""
        try:
            os.makedirs(self.dir, exist_ok=True)
            if not os.access(self.dir, os.W_OK | os.X_OK):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
        except OSError as exc:
            raise pytest.UsageError(
                f"tracetape: cannot write tapes in {self.display(self.dir)} (--tape-dir): {exc.strerror or exc}")
        self._dir_made = True

    def _start(self, item, path: str) -> bool:
        """Starts the test's recording into `path`; False if it could not. The
        tape directory is made again if it went (a test or a fixture cleaning
        up removed it). A tape that cannot be created then (a full disk, no
        file descriptor left, the directory replaced) turns tapes off for the
        rest of the run, with a warning and a line in the summary: the tests
        and their outcomes go on as without the plugin."""
        options = dict(include=self.include_for(item), exclude=self.exclude,
                       argv=["pytest", item.nodeid], metadata={"pytest_nodeid": item.nodeid})
        for attempt in range(2):
            try:
                if not self._dir_made:
                    os.makedirs(self.dir, exist_ok=True)
                    self._dir_made = True
                _recording.start(path, **options)
                return True
            except OSError as exc:
                if attempt == 0 and not os.path.isdir(self.dir):
                    self._dir_made = False
                    continue
                self.disabled_reason = (f"cannot write the tape of {item.nodeid} in {self.display(self.dir)}: "
                                        f"{exc.strerror or exc}: tapes are off from there on")
                warnings.warn(f"tracetape: {self.disabled_reason}")
                return False
        return False

    def _resume(self, item) -> bool:
        """A test's setup, call or teardown phase, recorded: the phase's hook
        implementations (pytest's runner, which sets the fixtures up, runs the
        test and tears them down, and the conftest's own), inside every hook
        wrapper (trylast: capture, logging, warnings, a plugin's timing). Around
        them this thread runs pytest's own code (wrappers, reports, the
        terminal), out of scope: with the settrace backend CPython would still
        give each of its calls to the trace function (two thirds of --tape's
        cost on a trivial test, 3.11), so the hook leaves the thread there. The
        sys.monitoring backend switches such code off by itself; it drops the
        thread's events there, so that both give the same tape."""
        state = item.stash.get(_KEY, None)
        if state is None or not state["paused"]:
            return False
        state["paused"] = False
        return _core._resume_thread()

    def _pause(self, item) -> None:
        item.stash[_KEY]["paused"] = _core._pause_thread()

    # Each phase: pytest_runtest_setup, _call and _teardown. (An old-style
    # hook wrapper's yield does not raise: it pauses again whatever the
    # phase's outcome.)
    @pytest.hookimpl(hookwrapper=True, trylast=True)
    def _phase(self, item):
        resumed = self._resume(item)
        yield
        if resumed:
            self._pause(item)

    pytest_runtest_setup = pytest_runtest_call = pytest_runtest_teardown = _phase

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        state = item.stash.get(_KEY, None)
        if state is None:
            return
        # The outcome the summary gives the test, in pytest's words.
        if report.when == "setup" and report.skipped:
            state["not_run"] = True
            state["outcome"] = "SKIPPED"
        elif report.when == "call":
            if hasattr(report, "wasxfail"):
                state["outcome"] = "XFAIL" if report.skipped else ("XPASS" if report.passed else "FAILED")
            else:
                state["outcome"] = "SKIPPED" if report.skipped else ("FAILED" if report.failed else "PASSED")
        elif report.failed and state.get("outcome") != "FAILED":
            state["outcome"] = "ERROR"  # in its setup or teardown
        if report.failed:
            state["failed"] = True
            if not state.get("announced"):
                state["announced"] = True
                path = state["path"]
                report.sections.append(
                    ("tracetape", f"tape: {self.display(path)}\nreplay it from the failure: {self.replay(path)}"))
        if report.when == "teardown" and (state["failed"] or (self.mode == "on" and not state.get("not_run"))):
            # Carried by the report, so that under pytest-xdist the main
            # process, which prints the summary, learns of the workers' tapes.
            report.tracetape_tape = state["path"]
            report.tracetape_outcome = state.get("outcome") or ("ERROR" if state["failed"] else "PASSED")

    def pytest_runtest_logreport(self, report):
        path = getattr(report, "tracetape_tape", None)
        if path:
            self.kept.append((report.nodeid, path, getattr(report, "tracetape_outcome", "PASSED")))

    def pytest_terminal_summary(self, terminalreporter):
        if self.disabled_reason:
            terminalreporter.write_sep("-", "tracetape")
            terminalreporter.write_line(f"tracetape: {self.disabled_reason}")
            return
        if not self.kept:
            return
        terminalreporter.write_sep("-", "tracetape: tapes kept")
        for nodeid, path, outcome in self.kept:
            terminalreporter.write_line(f"{outcome} {nodeid}")
            terminalreporter.write_line(f"    {self.replay(path)}")
        empty = [path for _, path, _ in self.kept if path in self.empty]
        if empty:
            terminalreporter.write_line(
                f"tracetape: {len(empty)} of these tapes hold no events: none of the code their tests ran is "
                "in the recording's scope (the standard library, site-packages, pytest and tracetape are left "
                "out, and a doctest's examples)")

    def pytest_unconfigure(self, config):
        _recording.release_hook()

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
