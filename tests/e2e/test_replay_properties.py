"""End-to-end properties of the replay engine over whole tapes (the Python API,
`tracetape.open`, in-process), checked against the tape's own `dump --format jsonl`.

Semantics (DESIGN.md section 6), on the event stream of the current event's thread:
step = the next event (pdb's: a return is a stop, `--Return--`); next = the next line,
exception or end (a return going forward, a call going back) of the frame, or once it has
ended, of a caller; finish = the return event of the current frame; reverse finish = back to the
caller's event that made the call; continue = the next breakpoint or watch hit, else the
end of the tape; the reverse commands mirror the forward ones.

The tapes come from sample programs with recursion, generators, coroutines, caught and
uncaught exceptions, threads, and two tapes of several chunks: replay_phases pauses
0.6 s between its phases (chunks seal every 0.5 s), and replay_phases run with
`3700 0` makes >65536 events (a chunk seals after 65536). Tapes up to 20000 events are
checked at every event; the large one at a sample of events that includes the region
around each 65536-event boundary.
"""

import collections
import os
import random
import re
import subprocess
from pathlib import Path

import pytest

import tracetape

from conftest import (SAMPLES_DIR, SUBPROCESS_TIMEOUT, child_env, describe_event, program,
                      run_record, tracetape_cmd)

# tape name -> (sample program, its arguments; None: those of its e2e-args header)
TAPES = {
    "recursion": ("recursion", None),
    "generators": ("generators", None),
    "async_tasks": ("async_tasks", None),
    "exceptions_caught": ("exceptions_caught", None),
    "uncaught": ("uncaught", None),
    "threads": ("threads", None),
    "closures": ("closures", None),
    "mutation": ("mutation", None),
    "thread_error": ("replay_thread_error", None),
    "phases_timed": ("replay_phases", None),             # chunks sealed by time
    "phases_66k": ("replay_phases", ("3700", "0")),      # chunks sealed by count
}
PROPERTY_TAPES = ["recursion", "generators", "async_tasks", "exceptions_caught",
                  "uncaught", "threads", "thread_error", "closures", "phases_timed",
                  "phases_66k"]
MULTI_CHUNK = ["phases_timed", "phases_66k"]
CHUNK_EVENTS = 65536  # a chunk seals after this many events (or after 0.5 s)
ALL_EVENTS_UP_TO = 20000  # tapes up to this size are checked at every event
SAMPLE_SIZE = 1200


# ------------------------------------------------------------------ model
class Model:
    """What the dump says the engine must do, precomputed in one pass per tape."""

    def __init__(self, events):
        self.events = events
        n = len(events)
        self.threads = collections.OrderedDict()
        self.slot = [0] * n            # position of each event in its thread's list
        self.frame = [0] * n           # frame id of each event
        self.frame_call = {}           # frame id -> its first event (call, or a resume)
        self.frame_return = {}         # frame id -> its return event
        self.frame_parent = {}         # frame id -> the frame that was below it
        self.before_call = {}          # frame id -> last event of its thread at depth-1
        self.expected_stacks = {}      # filled by stacks()
        stacks = {}
        last_at_depth = {}
        for e in events:
            t, i, d = e["thread"], e["i"], e["depth"]
            order = self.threads.setdefault(t, [])
            self.slot[i] = len(order)
            order.append(i)
            stack = stacks.setdefault(t, [])
            depths = last_at_depth.setdefault(t, {})
            if e["kind"] == "call":
                del stack[d - 1:]
                stack.append(i)
                self.frame_call[i] = i
                self.frame_parent[i] = stack[-2] if len(stack) > 1 else None
                self.before_call[i] = depths.get(d - 1) if d > 1 else None
            elif len(stack) < d:  # a frame that began before its first recorded event
                raise AssertionError("event %d has no call: %s" % (i, describe_event(e)))
            else:
                del stack[d:]
            self.frame[i] = stack[-1]
            if e["kind"] == "return":
                self.frame_return[stack[-1]] = i
                stack.pop()
            depths[d] = i
            for deeper in [k for k in depths if k > d]:
                del depths[deeper]

    def thread_events(self, i):
        return self.threads[self.events[i]["thread"]]

    def scan(self, i, forward, pred):
        order = self.thread_events(i)
        k = self.slot[i]
        rng = range(k + 1, len(order)) if forward else range(k - 1, -1, -1)
        for j in rng:
            if pred(self.events[order[j]]):
                return order[j]
        return None

    def step(self, i, forward):
        """pdb's step: the next (previous) event of the thread, a return included."""
        return self.scan(i, forward, lambda e: True)

    def selected(self, i, up):
        """The frame ``up`` levels below event i's own in the stack (pdb's up)."""
        frame = self.frame[i]
        for _ in range(up):
            frame = self.frame_parent.get(frame)
            if frame is None:
                return None
        return frame

    def next(self, i, forward, up=0):
        """A line, exception or end (pdb's `--Return--` going forward, the call
        going back) of the selected frame or, once it has ended, of a caller:
        nothing shallower runs while it lives, and a frame called after it at
        its depth is not it."""
        frame = self.selected(i, up)
        if frame is None:
            return None
        d = self.events[i]["depth"] - up
        stops = ("line", "exception", "return" if forward else "call")
        return self.scan(i, forward, lambda e: e["kind"] in stops
                         and (self.frame[e["i"]] == frame or e["depth"] < d))

    def finish(self, i):
        frame = self.frame[i]
        if self.events[i]["kind"] == "return":
            frame = self.frame_parent[frame]
            if frame is None:
                return None
        return self.frame_return.get(frame)

    def finish_back(self, i):
        call = self.frame_call[self.frame[i]]
        before = self.before_call[call]
        return call if before is None else before

    def stacks(self, wanted):
        """Expected (func, line, locals) of every frame of the thread at each event of
        WANTED: an outer frame is as its own last event left it."""
        wanted = set(wanted)
        frames = {}
        out = {}
        for e in self.events:
            stack = frames.setdefault(e["thread"], [])
            del stack[e["depth"] - 1:]
            stack.append(e)
            if e["i"] in wanted:
                out[e["i"]] = [(f["file"], f["func"], f["line"], f["locals"]) for f in stack]
        return out


def sample(events, size=SAMPLE_SIZE):
    n = len(events)
    if n <= ALL_EVENTS_UP_TO:
        return list(range(n))
    rng = random.Random(n)
    picked = set(rng.sample(range(n), size))
    picked.update(range(0, 40))
    picked.update(range(n - 40, n))
    for boundary in range(CHUNK_EVENTS, n, CHUNK_EVENTS):
        picked.update(range(boundary - 20, min(n, boundary + 20)))
    return sorted(picked)


# ---------------------------------------------------------------- recording
Recorded = collections.namedtuple("Recorded", "name tape events model")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    cache = {}

    def get(name):
        if name not in cache:
            prog_name, args = TAPES[name]
            prog = program(prog_name)
            work = tmp_path_factory.mktemp("prop-" + name)
            run = run_record(prog.path, *(prog.args if args is None else args), cwd=work)
            assert run.status == prog.exit, run.stderr
            cache[name] = Recorded(prog_name, work / "run.tape", run.events,
                                   Model(run.events))
        return cache[name]

    return get


def failures_report(name, failures, limit=15):
    return "%s: %d failures, the first ones:\n%s" % (
        name, len(failures), "\n".join(failures[:limit]))


# ================================================================= tests
@pytest.mark.parametrize("name", MULTI_CHUNK)
def test_multi_chunk_tape_has_several_chunks(recorded, name):
    rec = recorded(name)
    if name == "phases_66k":
        assert len(rec.events) > CHUNK_EVENTS
    proc = subprocess.run(tracetape_cmd("info", str(rec.tape)), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=child_env(), timeout=SUBPROCESS_TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    m = re.search(r"in (\d+) chunks", proc.stdout.decode())
    assert m and int(m.group(1)) > 1, proc.stdout.decode()
    assert len(tracetape.open(rec.tape)) == len(rec.events)


@pytest.mark.parametrize("name", PROPERTY_TAPES)
def test_goto_state_equals_the_dump(recorded, name):
    """(a) goto(N) then state() is event N of the dump: kind, thread, file, func, line,
    depth, the top frame's locals, the value; outer frames as they were left."""
    rec = recorded(name)
    tape = tracetape.open(rec.tape)
    assert len(tape) == len(rec.events)
    points = sample(rec.events)
    stacks = rec.model.stacks(points)
    # In order, then shuffled: random access must not depend on the last position.
    order = points + random.Random(1).sample(points, min(len(points), 300))
    failures = []
    for n in order:
        e = rec.events[n]
        tape.goto(n)
        st = tape.state()
        top = st["stack"][-1] if st["stack"] else {}
        got = {"index": st["index"], "position": tape.position, "kind": st["kind"],
               "thread": st["thread"], "file": top.get("file"), "func": top.get("function"),
               "line": top.get("line"), "depth": len(st["stack"]),
               "locals": top.get("locals"), "value": st["value"]}
        want = {"index": n, "position": n, "kind": e["kind"], "thread": e["thread"],
                "file": e["file"], "func": e["func"], "line": e["line"], "depth": e["depth"],
                "locals": e["locals"], "value": e.get("value")}
        if got != want:
            diff = ["%s: dump %r, state %r" % (k, want[k], got[k]) for k in want
                    if want[k] != got[k]]
            failures.append("event %d (%s): %s" % (n, describe_event(e), "; ".join(diff)))
            continue
        frames = [(f["file"], f["function"], f["line"], f["locals"]) for f in st["stack"]]
        if frames != stacks[n]:
            bad = next(k for k, (a, b) in enumerate(zip(frames, stacks[n])) if a != b)
            failures.append("event %d: outer frame %d is %r, the dump says %r"
                            % (n, bad + 1, frames[bad], stacks[n][bad]))
        if (tape.kind, tape.line, tape.locals) != (e["kind"], e["line"], e["locals"]):
            failures.append("event %d: tape.kind/line/locals disagree with state()" % n)
    assert not failures, failures_report(name, failures)


@pytest.mark.parametrize("name", PROPERTY_TAPES)
def test_step_and_step_back_are_inverse(recorded, name):
    """(b) From any event p, step() goes to the next event of the thread (pdb's step
    stops at returns too) and step_back() to the previous one; step() then
    step_back() returns to p, and so does step_back() then step()."""
    rec = recorded(name)
    model = rec.model
    tape = tracetape.open(rec.tape)
    failures = []
    for p in sample(rec.events):
        for forward in (True, False):
            tape.goto(p)
            want = model.step(p, forward)
            moved = tape.step() if forward else tape.step_back()
            what = "step" if forward else "step_back"
            if want is None:
                if moved or tape.position != p:
                    failures.append("%d: %s moved to %d, expected no move"
                                    % (p, what, tape.position))
                continue
            if not moved or tape.position != want:
                failures.append("%d: %s -> %s (moved=%s), expected %d"
                                % (p, what, tape.position, moved, want))
                continue
            # Every event of the thread is a stop: the move back undoes it.
            back = tape.step_back() if forward else tape.step()
            if not back or tape.position != p:
                failures.append("%d: %s to %d, then back -> %d, expected %d"
                                % (p, what, want, tape.position, p))
    assert not failures, failures_report(name, failures)


@pytest.mark.parametrize("name", PROPERTY_TAPES)
def test_next_and_next_back(recorded, name):
    """(c) From any event, next() goes to the next line, exception or return of the
    frame or, once the frame has ended, of a caller (never of a frame called later at
    the same depth); next_back() to the previous line, exception or call; with ``up``, of the frame that many
    levels below. From a line event p, when next() stayed in the same frame,
    next_back() comes back to p."""
    rec = recorded(name)
    model, events = rec.model, rec.events
    tape = tracetape.open(rec.tape)
    failures = []
    inverse_checked = 0
    for p in sample(events):
        for up in range(1, min(events[p]["depth"], 3)):
            for forward in (True, False):
                tape.goto(p)
                want = model.next(p, forward, up)
                moved = tape.next(up) if forward else tape.next_back(up)
                if (moved, tape.position) != (want is not None, p if want is None else want):
                    failures.append("%d: next%s(up=%d) -> %d (moved=%s), expected %s"
                                    % (p, "" if forward else "_back", up, tape.position, moved, want))
        tape.goto(p)
        want_back = model.next(p, False)
        moved = tape.next_back()
        if (moved, tape.position) != (want_back is not None,
                                       p if want_back is None else want_back):
            failures.append("%d: next_back -> %d (moved=%s), expected %s"
                            % (p, tape.position, moved, want_back))
        tape.goto(p)
        want = model.next(p, True)
        moved = tape.next()
        if (moved, tape.position) != (want is not None, p if want is None else want):
            failures.append("%d: next -> %d (moved=%s), expected %s"
                            % (p, tape.position, moved, want))
            continue
        if want is None or events[p]["kind"] != "line" or model.frame[want] != model.frame[p]:
            continue
        inverse_checked += 1
        if not tape.next_back() or tape.position != p:
            failures.append("%d: next to %d in the same frame, next_back -> %d"
                            % (p, want, tape.position))
    assert not failures, failures_report(name, failures)
    assert inverse_checked > 0


@pytest.mark.parametrize("name", PROPERTY_TAPES)
def test_finish_and_finish_back(recorded, name):
    """(d) finish() lands on the return event of the current frame (same thread, same
    depth; from a return event, on the caller's return); finish_back() lands on the
    caller's event, at depth-1, that made the call (at the frame's call for depth 1)."""
    rec = recorded(name)
    model, events = rec.model, rec.events
    tape = tracetape.open(rec.tape)
    failures = []
    for p in sample(events):
        e = events[p]
        for up in range(1, min(e["depth"], 3)):
            # With a frame below selected (pdb's up): its return, and back to
            # its caller's event before its call.
            frame = model.selected(p, up)
            call = model.frame_call[frame]
            for forward, want in ((True, model.frame_return.get(frame)),
                                  (False, call if model.before_call[call] is None
                                   else model.before_call[call])):
                tape.goto(p)
                moved = tape.finish(up) if forward else tape.finish_back(up)
                if (moved, tape.position) != (want is not None, p if want is None else want):
                    failures.append("%d: finish%s(up=%d) -> %d (moved=%s), expected %s"
                                    % (p, "" if forward else "_back", up, tape.position, moved, want))
        tape.goto(p)
        want = model.finish(p)
        moved = tape.finish()
        if (moved, tape.position) != (want is not None, p if want is None else want):
            failures.append("%d (%s): finish -> %d (moved=%s), expected %s"
                            % (p, describe_event(e), tape.position, moved, want))
        elif want is not None:
            got = events[tape.position]
            depth = e["depth"] - (1 if e["kind"] == "return" else 0)
            if (got["kind"], got["thread"], got["depth"]) != ("return", e["thread"], depth):
                failures.append("%d: finish landed on %s" % (p, describe_event(got)))
        tape.goto(p)
        want = model.finish_back(p)
        moved = tape.finish_back()
        if tape.position != want or (want != p and not moved):
            failures.append("%d (%s): finish_back -> %d (moved=%s), expected %d"
                            % (p, describe_event(e), tape.position, moved, want))
            continue
        got = events[want]
        call = model.frame_call[model.frame[p]]
        if e["depth"] > 1 and model.before_call[call] is not None:
            if not (got["depth"] == e["depth"] - 1 and want < call
                    and got["thread"] == e["thread"] and got["kind"] != "return"):
                failures.append("%d: finish_back landed on %s" % (p, describe_event(got)))
        elif want != call:
            failures.append("%d: finish_back landed on %d, not the call %d" % (p, want, call))
    assert not failures, failures_report(name, failures)


def _continue_all(tape, forward, limit):
    """Positions where cont() (cont_back()) stops, up to the end (start) of the tape."""
    stops = []
    for _ in range(limit + 2):
        why = tape.cont() if forward else tape.cont_back()
        if why in ("end of the tape", "start of the tape"):
            return stops, why, tape.position
        stops.append(tape.position)
    raise AssertionError("more than %d stops: %r..." % (limit, stops[:20]))


def _breakpoint_cases(rec):
    """(spec, condition, expected events) for a few breakpoints of this tape."""
    events = rec.events
    counts = collections.Counter((e["file"], e["line"]) for e in events if e["kind"] == "line")
    candidates = sorted(((c, f, l) for (f, l), c in counts.items() if c <= 300),
                        key=lambda x: (x[0], x[1], x[2]))
    chosen = {candidates[0], candidates[len(candidates) // 2], candidates[-1]}
    if rec.name == "replay_phases":
        path = str(SAMPLES_DIR / "replay_phases.py")
        lines = Path(path).read_text(encoding="utf-8").splitlines()
        for marker in ("main-total", "phase-return", "main-call"):
            number = next(k for k, text in enumerate(lines, 1)
                          if "replay-marker: " + marker in text)
            chosen.add((counts[(path, number)], path, number))
    cases = []
    for _, path, line in sorted(chosen, key=lambda x: (x[1], x[2])):
        want = [e["i"] for e in events
                if e["kind"] == "line" and e["file"] == path and e["line"] == line]
        cases.append(("%s:%d" % (os.path.basename(path), line), "", want))
    calls = collections.Counter(e["func"] for e in events if e["kind"] == "call"
                                and re.match(r"^[A-Za-z_]\w*$", e["func"]))
    func = max((c, f) for f, c in calls.items() if c <= 300)[1]
    cases.append((func, "", [e["i"] for e in events if e["kind"] == "call"
                              and (e["func"] == func or e.get("qualname") == func)]))
    return cases


@pytest.mark.parametrize("name", PROPERTY_TAPES)
def test_continue_visits_exactly_the_breakpoint_events(recorded, name):
    """(e) With one breakpoint, cont() from the start stops at exactly the events where
    that line (function) occurs, in order, then at the end; cont_back() from the end
    stops at them in reverse, then at the start."""
    rec = recorded(name)
    last = len(rec.events) - 1
    for spec, condition, want in _breakpoint_cases(rec):
        assert want, spec
        tape = tracetape.open(rec.tape)
        tape.breakpoint(spec, condition)
        tape.goto("start")
        stops, why, at = _continue_all(tape, True, len(want))
        assert (stops, at) == (want, last), (
            "%s: cont() with a breakpoint at %s stopped at %r, the dump has %r"
            % (name, spec, stops[:30], want[:30]))
        tape.goto("end")
        stops, why, at = _continue_all(tape, False, len(want))
        assert (stops, at) == (list(reversed(want)), 0), (
            "%s: cont_back() with a breakpoint at %s stopped at %r, the dump has %r"
            % (name, spec, stops[:30], list(reversed(want))[:30]))


@pytest.mark.parametrize("name,spec_marker,condition,test", [
    ("recursion", "return n * factorial(n - 1)", "n > 5 and n != 9",
     lambda loc: int(loc["n"]) > 5 and int(loc["n"]) != 9),
    ("recursion", "return fib(n - 1) + fib(n - 2)", "n == 3",
     lambda loc: int(loc["n"]) == 3),
    ("phases_timed", "replay-marker: main-total", "name == 'beta' or total > 400000",
     lambda loc: loc["name"] == "'beta'" or int(loc["total"]) > 400000),
    ("phases_timed", "replay-marker: mix", "k % 100 == 0",
     lambda loc: int(loc["k"]) % 100 == 0),
])
def test_continue_with_a_condition(recorded, name, spec_marker, condition, test):
    """(e) A conditional breakpoint stops exactly where the line occurs and the condition
    holds over the event's locals (as the dump shows them), in both directions."""
    rec = recorded(name)
    path = SAMPLES_DIR / (rec.name + ".py")
    line = next(k for k, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                if spec_marker in text)
    want = [e["i"] for e in rec.events if e["kind"] == "line" and e["file"] == str(path)
            and e["line"] == line and test(e["locals"])]
    assert want
    tape = tracetape.open(rec.tape)
    tape.breakpoint("%s.py:%d" % (rec.name, line), condition)
    stops, _, _ = _continue_all(tape, True, len(want))
    assert stops == want
    stops, _, _ = _continue_all(tape, False, len(want))
    assert stops == list(reversed(want))


def test_continue_with_a_condition_across_chunks(recorded):
    """(e) Forward only (in reverse, each candidate event costs a walk from its chunk's
    start): the mix() line runs 11100 times over two chunks; the condition holds 27
    times, on both sides of the boundary."""
    rec = recorded("phases_66k")
    path = SAMPLES_DIR / "replay_phases.py"
    line = next(k for k, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                if "replay-marker: mix" in text)
    want = [e["i"] for e in rec.events if e["kind"] == "line" and e["line"] == line
            and (int(e["locals"]["k"]) % 1000 == 0 or int(e["locals"]["k"]) >= 3695)]
    assert len(want) == 27 and want[0] < CHUNK_EVENTS < want[-1]
    tape = tracetape.open(rec.tape)
    tape.breakpoint("replay_phases.py:%d" % line, "k % 1000 == 0 or k >= 3695")
    stops, _, _ = _continue_all(tape, True, len(want))
    assert stops == want


@pytest.mark.parametrize("name,func,variable", [
    ("phases_timed", "main", "total"),
    ("phases_timed", "main", "results"),
    ("phases_66k", "main", "total"),
    ("recursion", "hanoi", "moves"),
    ("mutation", "main", "table"),
])
def test_watch_and_when_match_the_dump(recorded, name, func, variable):
    """watch NAME: cont() stops exactly where NAME took a new value in the frame, in
    order, cont_back() in reverse; when(NAME) lists the same events and values."""
    rec = recorded(name)
    events, model = rec.events, rec.model
    call = next(e["i"] for e in events if e["kind"] == "call" and e["func"] == func)
    frame = model.frame[call]
    changes, previous = [], None
    for i in model.thread_events(call)[model.slot[call]:]:
        if model.frame[i] != frame:
            continue
        value = events[i]["locals"].get(variable)
        if value is not None and value != previous:
            changes.append((i, value))
        previous = value
    end = model.frame_return[frame]
    assert len(changes) >= 2
    tape = tracetape.open(rec.tape)
    tape.goto(call)
    assert [tuple(c) for c in tape.when(variable)] == changes
    tape.watch(variable)
    stops, _, at = _continue_all(tape, True, len(changes))
    assert stops == [i for i, _ in changes if i > call]
    assert at == len(events) - 1
    tape.goto(end)
    stops, _, at = _continue_all(tape, False, len(changes))
    assert stops == [i for i, _ in reversed(changes) if i < end]


def test_goto_exception_lands_on_the_raise_site(recorded):
    """(f) The uncaught exception: where ConfigError was raised in load()."""
    rec = recorded("uncaught")
    path = SAMPLES_DIR / "uncaught.py"
    raise_line = next(k for k, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                      if "raise ConfigError(" in text)
    chain = [e for e in rec.events if e["kind"] == "exception"
             and e["value"].startswith("ConfigError: line 2 is malformed")]
    assert [e["func"] for e in chain] == ["load", "main", "<module>"]
    tape = tracetape.open(rec.tape)
    tape.goto("exception")
    st = tape.state()
    assert tape.position == chain[0]["i"]
    assert (st["kind"], tape.frame["function"], tape.line) == ("exception", "load", raise_line)
    assert st["value"] == chain[0]["value"]
    assert tape.eval("number") == "2" and tape.eval("line") == "'broken line'"


def test_goto_exception_without_an_uncaught_one_is_the_last_raise_site(recorded):
    """(f) No exception ended the run: the last exception, where it was raised (the
    IndexError raised in lookup(), caught in main())."""
    rec = recorded("exceptions_caught")
    last = [e for e in rec.events if e["kind"] == "exception"][-1]
    assert last["func"] == "main" and last["value"].startswith("IndexError")
    raised = [e for e in rec.events if e["kind"] == "exception"
              and e["value"] == last["value"] and e["i"] < last["i"]][-1]
    assert raised["func"] == "lookup"
    tape = tracetape.open(rec.tape)
    tape.goto("exception")
    assert tape.position == raised["i"]


def test_goto_exception_after_a_thread_died_is_the_last_raise_site(recorded):
    """(f) A worker thread died of RuntimeError, but that did not end the run: the main
    thread went on, caught a ValueError raised in parse() and ended with status 0. The
    last exception is the ValueError, so goto('exception') is where parse() raised it."""
    rec = recorded("thread_error")
    exceptions = [e for e in rec.events if e["kind"] == "exception"]
    worker = [e for e in exceptions if e["value"].startswith("RuntimeError")]
    parse = [e for e in exceptions if e["func"] == "parse"]
    assert worker and len(parse) == 1
    assert exceptions[-1]["func"] == "main" and exceptions[-1]["value"] == parse[0]["value"]
    assert worker[0]["i"] < parse[0]["i"]
    tape = tracetape.open(rec.tape)
    tape.goto("exception")
    assert tape.position == parse[0]["i"], (
        "goto('exception') went to %s (%s), expected %s (%s)"
        % (describe_event(rec.events[tape.position]), rec.events[tape.position].get("value"),
           describe_event(parse[0]), parse[0]["value"]))


def test_goto_exception_without_any_exception(recorded):
    rec = recorded("recursion")
    assert not [e for e in rec.events if e["kind"] == "exception"]
    tape = tracetape.open(rec.tape)
    tape.goto(5)
    with pytest.raises(LookupError):
        tape.goto("exception")
    assert tape.position == 5


@pytest.mark.parametrize("where", [-1, "len", 10 ** 12, "middle", "3"])
def test_goto_out_of_the_tape_is_a_clear_error_and_does_not_move(recorded, where):
    rec = recorded("recursion")
    tape = tracetape.open(rec.tape)
    tape.goto(5)
    target = len(rec.events) if where == "len" else where
    with pytest.raises(ValueError, match=r"goto wants an event number from 0 to %d" % (len(rec.events) - 1)):
        tape.goto(target)
    assert tape.position == 5


def test_moves_stop_at_the_ends(recorded):
    rec = recorded("recursion")
    tape = tracetape.open(rec.tape)
    last = len(rec.events) - 1
    tape.goto("start")
    assert tape.position == 0
    assert not tape.step_back() and not tape.next_back() and tape.position == 0
    assert tape.cont_back() == "start of the tape" and tape.position == 0
    tape.goto("end")
    assert tape.position == last and tape.kind == "return"
    assert not tape.step() and not tape.next() and not tape.finish()
    assert tape.position == last
    assert tape.cont() == "end of the tape" and tape.position == last
    with pytest.raises(Exception):
        tape.goto(len(rec.events))
    assert tape.position == last
