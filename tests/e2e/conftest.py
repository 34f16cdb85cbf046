"""Shared helpers of the end-to-end tests: sample programs, and running them under
`python -m tracetape record` + `dump --format jsonl` or under the reference recorder.

Each sample program in samples/programs/ may declare, in comment lines of its own:
    # e2e-exit: N          its expected exit status (default 0)
    # e2e-args: A B "C D"  its command-line arguments (shell-like quoting)
    # e2e-threads: yes     it runs several threads (compare per-thread sequences)
    # e2e-canaries: WORD   a string that must never appear in a recording
    # e2e-role: helper     not a program: a module imported by one
"""

import collections
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

E2E_DIR = Path(__file__).resolve().parent
REPO_ROOT = E2E_DIR.parent.parent
SAMPLES_DIR = REPO_ROOT / "samples" / "programs"
REFERENCE = E2E_DIR / "reference.py"

# A guard against a hung child, not a timing assertion.
SUBPROCESS_TIMEOUT = 300

if str(E2E_DIR) not in sys.path:
    sys.path.insert(0, str(E2E_DIR))

Run = collections.namedtuple("Run", "status stdout stderr events")
Program = collections.namedtuple("Program", "name path args exit threaded canaries")

_HEADER = re.compile(r"^#\s*e2e-([a-z]+):\s*(.*?)\s*$")


def read_program(path):
    path = Path(path)
    fields = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = _HEADER.match(line)
            if m:
                fields[m.group(1)] = m.group(2)
    return Program(
        name=path.stem,
        path=path,
        args=tuple(shlex.split(fields.get("args", ""))),
        exit=int(fields.get("exit", "0")),
        threaded=fields.get("threads", "no").lower() in ("yes", "true", "1"),
        canaries=tuple(shlex.split(fields.get("canaries", ""))),
    ), fields.get("role") == "helper"


def sample_programs():
    """Every program of samples/programs (helper modules left out), sorted by name."""
    programs = []
    for path in sorted(SAMPLES_DIR.glob("*.py")):
        program, helper = read_program(path)
        if not helper:
            programs.append(program)
    return programs


PROGRAMS = sample_programs()
PROGRAM_IDS = [p.name for p in PROGRAMS]


def program(name):
    for p in PROGRAMS:
        if p.name == name:
            return p
    raise KeyError(name)


# The hook backends of this interpreter: the C trace function everywhere, and
# sys.monitoring on 3.12+ (where it is the default). Tests that compare event
# streams run once per backend.
BACKENDS = ["settrace", "monitoring"] if sys.version_info >= (3, 12) else ["settrace"]


def child_env(backend=None):
    """The environment of every child: deterministic hashing, no bytecode files;
    TRACETAPE_BACKEND=backend when one is given (else tracetape's default)."""
    env = dict(os.environ)
    env.pop("TRACETAPE_BACKEND", None)
    if backend is not None:
        env["TRACETAPE_BACKEND"] = backend
    for var in ("PYTHONSTARTUP", "PYTHONINSPECT", "PYTHONBREAKPOINT", "PYTHONWARNINGS",
                "COVERAGE_PROCESS_START", "PYTHONTRACEMALLOC", "PYTHONDEVMODE"):
        env.pop(var, None)
    env["PYTHONHASHSEED"] = "0"
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # keep samples/ free of __pycache__
    env["PYTHONIOENCODING"] = "utf-8"
    env["PYTHONUTF8"] = "1"
    return env


def _run(cmd, cwd, backend=None):
    proc = subprocess.run(cmd, cwd=str(cwd), env=child_env(backend), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=SUBPROCESS_TIMEOUT)
    return (proc.returncode,
            proc.stdout.decode("utf-8", "backslashreplace"),
            proc.stderr.decode("utf-8", "backslashreplace"))


def parse_jsonl(text, origin):
    events = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            events.append(json.loads(line))
        except ValueError as exc:
            raise AssertionError("%s: line %d is not JSON (%s): %r"
                                 % (origin, number, exc, line[:300])) from None
    return events


class _Workdir:
    """CWD if given, else a fresh temporary directory removed afterwards."""

    def __init__(self, cwd):
        self.cwd = cwd
        self._tmp = None

    def __enter__(self):
        if self.cwd is not None:
            return Path(self.cwd)
        self._tmp = tempfile.TemporaryDirectory(prefix="tracetape-e2e-")
        return Path(self._tmp.name)

    def __exit__(self, *exc):
        if self._tmp is not None:
            self._tmp.cleanup()


def tracetape_cmd(*args):
    return [sys.executable, "-m", "tracetape", *args]


def run_record(script, *args, options=(), cwd=None, backend=None):
    """`python -m tracetape record -o T.tape OPTIONS SCRIPT ARGS`, then `dump --format
    jsonl`. Returns Run(status, stdout, stderr, events) of the recorded program; the
    stderr is tracetape's whole stderr (see program_stderr). `backend` selects the
    hook backend (TRACETAPE_BACKEND); None leaves tracetape's default."""
    with _Workdir(cwd) as work:
        tape = work / "run.tape"
        status, out, err = _run(tracetape_cmd("record", "-o", str(tape), *options,
                                              str(script), *args), work, backend)
        if not tape.exists():
            raise AssertionError(
                "tracetape record wrote no tape (exit status %d)\nstderr:\n%s"
                % (status, err))
        dump_status, dump_out, dump_err = _run(
            tracetape_cmd("dump", str(tape), "--format", "jsonl"), work)
        if dump_status != 0:
            raise AssertionError("tracetape dump --format jsonl failed (exit status "
                                 "%d)\nstderr:\n%s" % (dump_status, dump_err))
        # Every recorded tape is sound: each chunk continues the last (verify).
        verify_status, _, verify_err = _run(tracetape_cmd("verify", str(tape)), work)
        if verify_status != 0:
            raise AssertionError("tracetape verify failed (exit status %d)\nstderr:\n%s"
                                 % (verify_status, verify_err))
        return Run(status, out, err, parse_jsonl(dump_out, "tracetape dump"))


def run_reference(script, *args, options=(), cwd=None):
    """tests/e2e/reference.py -o OUT.jsonl OPTIONS SCRIPT ARGS; Run(...) like run_record."""
    with _Workdir(cwd) as work:
        out_path = work / "reference.jsonl"
        status, out, err = _run([sys.executable, str(REFERENCE), "-o", str(out_path),
                                 *options, str(script), *args], work)
        if status == 99 and "reference.py: INTERNAL ERROR" in err:
            raise AssertionError("the reference recorder failed:\n" + err)
        text = out_path.read_text(encoding="utf-8") if out_path.exists() else ""
        return Run(status, out, err, parse_jsonl(text, "reference.py"))


def run_plain(script, *args, cwd=None):
    """`python SCRIPT ARGS` untraced: Run(status, stdout, stderr, None)."""
    with _Workdir(cwd) as work:
        status, out, err = _run([sys.executable, str(script), *args], work)
        return Run(status, out, err, None)


_NOTICE = re.compile(r"^tracetape:")


def program_stderr(stderr):
    """tracetape's stderr without its own notice lines (they start with 'tracetape:')."""
    lines = stderr.splitlines(keepends=True)
    return "".join(line for line in lines if not _NOTICE.match(line))


# --------------------------------------------------------------- comparison
COMPARED_FIELDS = ("kind", "file", "func", "line", "depth", "locals", "value")


def normalise(event):
    """The compared part of an event: COMPARED_FIELDS, 'value' None when absent."""
    return {field: event.get(field) for field in COMPARED_FIELDS}


def by_thread(events):
    threads = collections.OrderedDict()
    for event in events:
        threads.setdefault(event.get("thread"), []).append(event)
    return threads


def _short(text, limit=160):
    text = repr(text) if not isinstance(text, str) else text
    return text if len(text) <= limit else text[:limit] + "...(%d chars)" % len(text)


def describe_event(event):
    return "#%s thread=%s %s %s:%s %s() depth=%s" % (
        event.get("i"), event.get("thread"), event.get("kind"),
        os.path.basename(str(event.get("file"))), event.get("line"), event.get("func"),
        event.get("depth"))


def event_diff(expected, got):
    """Field-by-field differences of two events, one line each."""
    lines = []
    for field in COMPARED_FIELDS:
        want, have = expected.get(field), got.get(field)
        if want == have:
            continue
        if field == "locals" and isinstance(want, dict) and isinstance(have, dict):
            for name in sorted(set(want) | set(have)):
                if name not in have:
                    lines.append("  locals[%r]: missing (reference: %s)"
                                 % (name, _short(want[name])))
                elif name not in want:
                    lines.append("  locals[%r]: unexpected %s" % (name, _short(have[name])))
                elif want[name] != have[name]:
                    lines.append("  locals[%r]:\n    reference: %s\n    tracetape: %s"
                                 % (name, _short(want[name], 400), _short(have[name], 400)))
        else:
            lines.append("  %s:\n    reference: %s\n    tracetape: %s"
                         % (field, _short(want, 400), _short(have, 400)))
    return "\n".join(lines)


def first_difference(expected, got):
    """Index of the first differing normalised event, or None if the lists are equal."""
    for index, (want, have) in enumerate(zip(expected, got)):
        if normalise(want) != normalise(have):
            return index
    if len(expected) != len(got):
        return min(len(expected), len(got))
    return None


def sequence_report(expected, got, title, context=4):
    """A readable report of how GOT differs from EXPECTED, or None when equal."""
    index = first_difference(expected, got)
    if index is None:
        return None
    lines = ["%s: event streams differ at position %d (reference has %d events, "
             "tracetape %d)" % (title, index, len(expected), len(got))]
    lines.append("context (reference):")
    for event in expected[max(0, index - context):index]:
        lines.append("    " + describe_event(event))
    if index < len(expected) and index < len(got):
        lines.append("first difference:")
        lines.append("  reference: " + describe_event(expected[index]))
        lines.append("  tracetape: " + describe_event(got[index]))
        lines.append(event_diff(normalise(expected[index]), normalise(got[index])))
    elif index < len(expected):
        lines.append("tracetape stops; the reference goes on with:")
        for event in expected[index:index + context]:
            lines.append("    " + describe_event(event))
    else:
        lines.append("the reference stops; tracetape goes on with:")
        for event in got[index:index + context]:
            lines.append("    " + describe_event(event))
    return "\n".join(lines)


def _canonical(sequence):
    return json.dumps([normalise(e) for e in sequence], sort_keys=True)


def threaded_report(expected, got, title):
    """Compare per-thread sequences as a multiset (the interleaving is free)."""
    want = [seq for seq in by_thread(expected).values()]
    have = [seq for seq in by_thread(got).values()]
    lines = []
    if len(expected) != len(got):
        lines.append("%s: %d events in the reference, %d in tracetape"
                     % (title, len(expected), len(got)))
    if len(want) != len(have):
        lines.append("%s: %d threads in the reference, %d in tracetape"
                     % (title, len(want), len(have)))
    unmatched = list(have)
    missing = []
    for seq in want:
        key = _canonical(seq)
        for candidate in unmatched:
            if _canonical(candidate) == key:
                unmatched.remove(candidate)
                break
        else:
            missing.append(seq)
    if not missing and not unmatched and not lines:
        return None
    for seq in missing:
        # Pair each unmatched reference thread with the tracetape thread that agrees
        # with it longest, and show where they part.
        best = max(unmatched, key=lambda c: first_difference(seq, c) or 0, default=[])
        if best:
            unmatched.remove(best)
        report = sequence_report(seq, best, "%s, reference thread %s vs tracetape "
                                 "thread %s" % (title, seq[0].get("thread"),
                                                best[0].get("thread") if best else None))
        lines.append(report or "")
    for seq in unmatched:
        lines.append("%s: tracetape thread %s (%d events) matches no reference thread"
                     % (title, seq[0].get("thread"), len(seq)))
    return "\n".join(lines)


def well_formed_problems(events, origin):
    """Contract checks of one dump: keys, types, order, thread numbering."""
    problems = []
    first_seen = []
    for position, event in enumerate(events):
        where = "%s event %d" % (origin, position)
        for key, kinds in (("i", int), ("thread", int), ("kind", str), ("file", str),
                           ("func", str), ("line", (int, type(None))), ("depth", int),
                           ("locals", dict)):
            if key not in event:
                problems.append("%s: no %r" % (where, key))
            elif not isinstance(event[key], kinds) or isinstance(event[key], bool):
                problems.append("%s: %r is %r" % (where, key, event[key]))
        if event.get("i") != position:
            problems.append("%s: 'i' is %r" % (where, event.get("i")))
        if event.get("kind") not in ("call", "line", "return", "exception"):
            problems.append("%s: kind %r" % (where, event.get("kind")))
        if event.get("kind") in ("return", "exception") and not isinstance(
                event.get("value"), str):
            problems.append("%s: %s without a string value" % (where, event.get("kind")))
        if isinstance(event.get("depth"), int) and event["depth"] < 1:
            problems.append("%s: depth %r" % (where, event["depth"]))
        if isinstance(event.get("locals"), dict) and not all(
                isinstance(v, str) for v in event["locals"].values()):
            problems.append("%s: a local is not a string" % where)
        if event.get("thread") not in first_seen:
            first_seen.append(event.get("thread"))
        if len(problems) > 20:
            break
    if first_seen != list(range(len(first_seen))):
        problems.append("%s: threads are not numbered 0, 1, 2... in order of their first "
                        "event: %r" % (origin, first_seen))
    return problems


# ----------------------------------------------------------------- fixtures
class _RunCache:
    """Runs of the reference recorder are deterministic; each is made once a session."""

    def __init__(self):
        self._runs = {}

    def reference(self, prog, options=()):
        key = (prog.name, tuple(options))
        if key not in self._runs:
            self._runs[key] = run_reference(prog.path, *prog.args, options=options)
        return self._runs[key]


@pytest.fixture(scope="session")
def reference_runs():
    return _RunCache()
