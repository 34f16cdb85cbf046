"""End-to-end: scripted `tracetape replay TAPE --batch` sessions, and one interactive
session on a pseudo-terminal.

Tapes are recorded with `python -m tracetape record` (conftest.run_record) from the
programs of samples/programs/ and samples/demo/bank.py. Every expected position and
value comes from the program's source (lines are found by their text, never hard-coded,
since bytecode details differ between Python versions) or from the tape's own
`dump --format jsonl`, so the prompt is checked against the recorder's view of the run.

In --batch mode the prompt `(tape N) ` is printed before each command and the command is
echoed after it, so stdout splits into one block per command, each with the event
number the command started from.
"""

import collections
import os
import pty
import re
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (REPO_ROOT, SAMPLES_DIR, SUBPROCESS_TIMEOUT, child_env, program,
                      run_record, tracetape_cmd)

BANK = REPO_ROOT / "samples" / "demo" / "bank.py"


# ------------------------------------------------------------------ recording
Recorded = collections.namedtuple("Recorded", "tape events source status")


class _Tapes:
    """Each program is recorded once per test module, into a directory of its own."""

    def __init__(self, factory):
        self._factory = factory
        self._tapes = {}

    def __call__(self, name):
        if name not in self._tapes:
            if name == "bank":
                script, args, exit_status = BANK, (), 1
            else:
                prog = program(name)
                script, args, exit_status = prog.path, prog.args, prog.exit
            work = self._factory.mktemp("tape-" + name)
            run = run_record(script, *args, cwd=work)
            assert run.status == exit_status, (
                "recording %s: exit status %d, expected %d\n%s"
                % (name, run.status, exit_status, run.stderr))
            assert run.events, "recording %s: an empty dump" % name
            self._tapes[name] = Recorded(work / "run.tape", run.events, Path(script),
                                         run.status)
        return self._tapes[name]


@pytest.fixture(scope="module")
def tapes(tmp_path_factory):
    return _Tapes(tmp_path_factory)


# ------------------------------------------------------------- source lines
def line_of(path, text):
    """The number of the one line of PATH that contains TEXT."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    found = [n for n, line in enumerate(lines, 1) if text in line]
    assert len(found) == 1, "%s: %r is on lines %r, expected exactly one" % (path, text, found)
    return found[0]


# ------------------------------------------------------------ dump queries
def line_hits(events, basename, line):
    return [e["i"] for e in events
            if e["kind"] == "line" and os.path.basename(e["file"]) == basename
            and e["line"] == line]


def first_call(events, func):
    return next(e["i"] for e in events if e["kind"] == "call" and e["func"] == func)


def frame_changes(events, start, name):
    """(event, value) for each event of the frame of event START (same thread and depth,
    from its call to its return) where local NAME took a new value."""
    anchor = events[start]
    thread, depth = anchor["thread"], anchor["depth"]
    begin = start
    while events[begin]["kind"] != "call":
        begin = max(e["i"] for e in events[:begin]
                    if e["thread"] == thread and e["depth"] == depth)
    changes, previous = [], None
    for e in events[begin:]:
        if e["thread"] != thread or e["depth"] != depth:
            continue
        value = e["locals"].get(name)
        if value is not None and value != previous:
            changes.append((e["i"], value))
        previous = value
        if e["kind"] == "return":
            break
    return changes


# ---------------------------------------------------------------- sessions
_PROMPT = re.compile(r"^\(tape (\d+)\) (.*)$")
_LOCATION = re.compile(r"^> (.*)\((\d+)\)(.*)\(\)")

Step = collections.namedtuple("Step", "command before output after")


class Session:
    """A finished `--batch` session: its exit status, the text before the first prompt
    (`banner`) and one Step(command, before, output, after) per command, where before
    and after are the event numbers shown by the prompts around it."""

    def __init__(self, commands, status, stdout, stderr):
        self.status, self.stdout, self.stderr = status, stdout, stderr
        banner, blocks, current = [], [], None
        for line in stdout.splitlines():
            m = _PROMPT.match(line)
            if m:
                current = [int(m.group(1)), m.group(2), []]
                blocks.append(current)
            elif current is None:
                banner.append(line)
            else:
                current[2].append(line)
        self.banner = "\n".join(banner)
        echoed = [b[1] for b in blocks[:len(commands)]]
        assert echoed == list(commands), (
            "the batch prompt did not echo the commands in order:\nsent %r\ngot  %r\n"
            "stdout:\n%s\nstderr:\n%s" % (list(commands), echoed, stdout, stderr))
        self.steps = []
        for k, block in enumerate(blocks[:len(commands)]):
            after = blocks[k + 1][0] if k + 1 < len(blocks) else None
            self.steps.append(Step(block[1], block[0], "\n".join(block[2]), after))

    def __getitem__(self, k):
        return self.steps[k]

    def output(self, k):
        return self.steps[k].output

    def transcript(self):
        return "exit status %d\nstdout:\n%s\nstderr:\n%s" % (self.status, self.stdout,
                                                             self.stderr)


def replay(tape, commands, *options, cwd=None):
    """`python -m tracetape replay TAPE --batch OPTIONS` with COMMANDS on stdin."""
    commands = list(commands)
    text = "".join(c + "\n" for c in commands)
    proc = subprocess.run(tracetape_cmd("replay", str(tape), "--batch", *options),
                          input=text.encode("utf-8"), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=child_env(),
                          cwd=str(cwd) if cwd else None, timeout=SUBPROCESS_TIMEOUT)
    return Session(commands, proc.returncode, proc.stdout.decode("utf-8", "backslashreplace"),
                   proc.stderr.decode("utf-8", "backslashreplace"))


def location(text):
    """(basename, line, function) of the last `> FILE(LINE)FUNC()` line of TEXT."""
    found = [m for m in map(_LOCATION.match, text.splitlines()) if m]
    assert found, "no location line in:\n%s" % text
    m = found[-1]
    return os.path.basename(m.group(1)), int(m.group(2)), m.group(3)


def event_location(event):
    return os.path.basename(event["file"]), event["line"], event["func"]


def errors_in(text):
    return [line for line in text.splitlines() if line.startswith("*** ")]


# =================================================================== tests
def test_breakpoint_continue_stops_with_the_right_locals(tapes):
    rec = tapes("bank")
    line = line_of(BANK, "self.balance -= total")
    hits = line_hits(rec.events, "bank.py", line)
    # ann pays 30 (no fee), bob pays 80 + 2; the third withdrawal is refused before it.
    assert len(hits) == 2
    s = replay(rec.tape, [
        "b bank.py:%d" % line, "c",
        "p amount", "p fee", "p total", "p self.owner", "p self.balance",
        "p total > self.balance", "p self.balance - total", "p len(self.history)",
        "p self",
        "c",
        "p self.owner", "p amount", "p fee", "p total", "p self.history",
        "p self.history[0][1] == 30", "p len(self.history) == 1 and fee > 0",
        "b", "c", "q"])
    assert s.status == 0, s.transcript()
    assert s.output(0) == "Breakpoint 1 at %s:%d" % (rec.source, line)
    first = s[1]
    assert first.after == hits[0], s.transcript()
    assert "Breakpoint 1 at %s:%d" % (rec.source, line) in first.output
    assert location(first.output) == ("bank.py", line, "withdraw")
    assert "-> self.balance -= total" in first.output
    assert [s.output(k) for k in range(2, 11)] == [
        "30", "0", "30", "'ann'", "100", "False", "70", "0",
        rec.events[hits[0]]["locals"]["self"]]
    assert s[11].after == hits[1]
    assert location(s.output(11)) == ("bank.py", line, "withdraw")
    assert [s.output(k) for k in range(12, 19)] == [
        "'bob'", "80", "2", "82", "[('deposit', 30)]", "True", "True"]
    assert s.output(19) == ("1  keep  yes  at %s:%d  (hit 2 times)" % (rec.source, line))
    assert s.output(20).splitlines()[0] == "end of the tape"
    assert s[20].after == len(rec.events) - 1
    # Every printed local is the recorder's rendering at that event.
    for k, name in ((2, "amount"), (3, "fee"), (4, "total")):
        assert s.output(k) == rec.events[hits[0]]["locals"][name]


def test_items_attributes_len_and_comparisons(tapes):
    rec = tapes("bank")
    line = line_of(BANK, 'before = accounts["ann"].balance')
    hit = line_hits(rec.events, "bank.py", line)[0]
    s = replay(rec.tape, [
        "b bank.py:%d" % line, "c",
        "p accounts['ann'].balance", 'p accounts["bob"].balance',
        "p accounts['bob'].history", "p accounts['bob'].history[1]",
        "p accounts['bob'].history[1][1]", "p accounts['bob'].history[-1][0]",
        "p len(accounts)", "p len(accounts['ann'].history)",
        "p accounts['ann'].balance > accounts['bob'].balance",
        "p accounts['ann'].owner == 'ann'", "p 'bob' in accounts", "p 'zed' not in accounts",
        "p accounts['ann'].balance + accounts['bob'].balance",
        "p not accounts['ann'].history",
        "p accounts['ann'].owner != 'a=b'",
        "pp accounts",
        "q"])
    assert s.status == 0, s.transcript()
    assert s[1].after == hit
    assert [s.output(k) for k in range(2, 17)] == [
        "150", "48", "[('deposit', 30), ('withdraw', 82)]", "('withdraw', 82)", "82",
        "'withdraw'", "2", "2", "True", "True", "True", "True", "198", "False", "True"]
    pretty = s.output(17)
    assert pretty.startswith("{'ann': Account(owner='ann',"), pretty
    assert "'bob': Account(owner='bob'" in pretty
    assert len(pretty.splitlines()) > 1, "pp of a long dict should wrap:\n" + pretty


def test_an_equals_sign_in_a_string_is_not_an_assignment(tapes):
    rec = tapes("bank")
    line = line_of(BANK, 'before = accounts["ann"].balance')
    s = replay(rec.tape, ["b bank.py:%d" % line, "c", 'p "=" in accounts["ann"].owner',
                          "p accounts['a=b']", "q"])
    assert s.output(2) == "False", s.transcript()
    assert s.output(3) == "*** KeyError: 'a=b'", s.transcript()


def test_conditional_breakpoints_tbreak_hit_counts_and_clear(tapes):
    rec = tapes("recursion")
    path = SAMPLES_DIR / "recursion.py"
    line = line_of(path, "return n * factorial(n - 1)")
    hits = line_hits(rec.events, "recursion.py", line)
    n_at = {i: int(rec.events[i]["locals"]["n"]) for i in hits}
    big = [i for i in hits if n_at[i] > 10]
    three = [i for i in hits if n_at[i] == 3]
    assert len(big) == 2 and len(three) == 1
    fib_call = first_call(rec.events, "fib")
    s = replay(rec.tape, [
        "b recursion.py:%d, n > 10" % line,   # 0
        "c", "p n", "c", "p n", "c",            # 1-5
        "b",                                    # 6
        "condition 1 n == 3",                   # 7
        "goto start", "c", "p n",               # 8-10
        "b",                                    # 11
        "tbreak fib",                           # 12
        "b",                                    # 13
        "c",                                    # 14
        "b",                                    # 15
        "c",                                    # 16
        "condition 1",                          # 17
        "disable 1", "goto start", "c",         # 18-20
        "enable 1", "goto start", "c", "p n",   # 21-24
        "b %d" % line,                          # 25
        "b factorial",                          # 26
        "b",                                    # 27
        "cl 1",                                 # 28
        "b",                                    # 29
        "cl",                                   # 30
        "b",                                    # 31
        "q"])
    assert s.status == 0, s.transcript()
    where = "%s:%d" % (path, line)
    assert s.output(0) == "Breakpoint 1 at " + where
    assert (s[1].after, s.output(2)) == (big[0], "12")
    assert (s[3].after, s.output(4)) == (big[1], "11")
    assert s.output(5).startswith("end of the tape")
    assert s.output(6) == "1  keep  yes  at %s  if n > 10  (hit 2 times)" % where
    assert s.output(7) == "New condition set for breakpoint 1."
    assert (s[9].after, s.output(10)) == (three[0], "3")
    assert s.output(11) == "1  keep  yes  at %s  if n == 3  (hit 3 times)" % where
    assert s.output(12) == "Temporary breakpoint 2 at fib"
    assert s.output(13).splitlines() == [
        "1  keep  yes  at %s  if n == 3  (hit 3 times)" % where,
        "2  del   yes  at fib  (hit 0 times)"]
    assert s[14].after == fib_call, s.transcript()
    assert "Temporary breakpoint 2 at fib" in s.output(14)
    assert "--Call--" in s.output(14)
    assert location(s.output(14))[2] == "fib"
    # A temporary breakpoint is gone once hit.
    assert s.output(15) == "1  keep  yes  at %s  if n == 3  (hit 3 times)" % where
    assert s.output(16).startswith("end of the tape")
    assert s.output(17) == "Breakpoint 1 is now unconditional."
    assert s.output(18) == "Disabled breakpoint 1"
    assert s.output(20).startswith("end of the tape")
    assert s.output(21) == "Enabled breakpoint 1"
    assert (s[23].after, s.output(24)) == (hits[0], "12")
    assert s.output(25) == "Breakpoint 3 at " + where
    assert s.output(26) == "Breakpoint 4 at factorial"
    listing = s.output(27).splitlines()
    assert [row.split()[0] for row in listing] == ["1", "3", "4"]
    assert listing[0] == "1  keep  yes  at %s  (hit 4 times)" % where
    assert s.output(28) == "Deleted breakpoint 1"
    assert [row.split()[0] for row in s.output(29).splitlines()] == ["3", "4"]
    assert s.output(30) == "Deleted all breakpoints"
    assert s.output(31) == "No breakpoints."


def test_reverse_continue_goes_back_to_the_previous_hit(tapes):
    rec = tapes("recursion")
    line = line_of(SAMPLES_DIR / "recursion.py", "return n * factorial(n - 1)")
    hits = line_hits(rec.events, "recursion.py", line)
    assert len(hits) >= 4
    s = replay(rec.tape, [
        "b recursion.py:%d" % line, "c", "c", "c", "p n",
        "rc", "p n", "bc", "p n", "rc", "goto end", "rc", "p n", "q"])
    assert s.status == 0, s.transcript()
    assert [s[k].after for k in (1, 2, 3)] == hits[:3]
    assert s.output(4) == rec.events[hits[2]]["locals"]["n"]
    assert s[5].after == hits[1] and "Breakpoint 1 at" in s.output(5)
    assert s.output(6) == rec.events[hits[1]]["locals"]["n"]
    assert s[7].after == hits[0]
    assert s.output(8) == rec.events[hits[0]]["locals"]["n"]
    assert s.output(9).startswith("start of the tape")
    assert s[9].after == 0
    assert s[11].after == hits[-1]
    assert s.output(12) == rec.events[hits[-1]]["locals"]["n"]


def test_watch_forward_and_backward_across_chunks(tapes):
    rec = tapes("replay_phases")
    path = SAMPLES_DIR / "replay_phases.py"
    start = line_hits(rec.events, "replay_phases.py",
                      line_of(path, "replay-marker: main-zero"))[0]
    changes = frame_changes(rec.events, start, "total")
    assert [v for _, v in changes][0] == "0" and len(changes) == 4
    s = replay(rec.tape, [
        "goto %d" % start,
        "watch total",
        "watch",
        "c", "p total", "c", "p total", "c", "c", "p total",
        "c",
        "rc", "p total", "rc", "rc", "rc", "p total",
        "rc",
        "watch nosuch",
        "q"])
    assert s.output(1) == "Watchpoint 1: total (in this frame)"
    assert s.output(2) == "1  total  (thread 0, depth %d)" % rec.events[start]["depth"]
    forward = [s[k].after for k in (3, 5, 7, 8)]
    assert forward == [e for e, _ in changes], s.transcript()
    for k in (3, 5, 7, 8):
        assert "Watchpoint 1: total changed" in s.output(k)
    assert [s.output(k) for k in (4, 6, 9)] == [changes[0][1], changes[1][1], changes[3][1]]
    assert s.output(10).startswith("end of the tape")
    backward = [s[k].after for k in (11, 13, 14, 15)]
    assert backward == [e for e, _ in reversed(changes)], s.transcript()
    assert s.output(12) == changes[3][1]
    assert s.output(16) == changes[0][1]
    assert s.output(17).startswith("start of the tape")
    assert errors_in(s.output(18)) == ["*** 'nosuch' is never captured in this frame"]
    assert s.status != 0


def test_watch_names_the_variable_that_changed(tapes):
    """With two watches in one frame, each stop names the watch whose variable
    changed at that event."""
    rec = tapes("replay_phases")
    path = SAMPLES_DIR / "replay_phases.py"
    start = line_hits(rec.events, "replay_phases.py",
                      line_of(path, "replay-marker: main-results"))[0]
    hits = sorted([(e, "total") for e, _ in frame_changes(rec.events, start, "total")]
                  + [(e, "results") for e, _ in frame_changes(rec.events, start, "results")])
    assert len(set(e for e, _ in hits)) == len(hits), "one change per event expected"
    s = replay(rec.tape, ["goto %d" % start, "watch total", "watch results"]
               + ["c"] * len(hits) + ["q"])
    assert s.status == 0, s.transcript()
    got = []
    for k in range(3, 3 + len(hits)):
        reason = s.output(k).splitlines()[0]
        got.append((s[k].after, reason))
    expected = [(e, "Watchpoint %d: %s changed" % (1 if name == "total" else 2, name))
                for e, name in hits]
    assert got == expected, s.transcript()


def test_when_lists_the_changes_of_a_frame(tapes):
    rec = tapes("mutation")
    path = SAMPLES_DIR / "mutation.py"
    line = line_of(path, "table.pop(\"a\")")
    here = line_hits(rec.events, "mutation.py", line)[0]
    s = replay(rec.tape, ["goto %d" % here, "when table", "when items", "when nosuch",
                          "p len(table)", "q"])
    assert s.status == 0, s.transcript()
    for k, name in ((1, "table"), (2, "items")):
        expected = ["  event %d  line %d  %s = %s" % (e, rec.events[e]["line"], name, v)
                    for e, v in frame_changes(rec.events, here, name)]
        assert s.output(k).splitlines() == expected
        assert s[k].after == here  # `when` does not move the cursor
    assert s.output(3) == "nosuch is not bound at any event of this frame"
    assert s.output(4) == "5"


def test_where_up_down(tapes):
    rec = tapes("recursion")
    path = SAMPLES_DIR / "recursion.py"
    line = line_of(path, "return n * factorial(n - 1)")
    hit = [i for i in line_hits(rec.events, "recursion.py", line)
           if rec.events[i]["locals"]["n"] == "3"][0]
    depth = rec.events[hit]["depth"]
    s = replay(rec.tape, [
        "goto %d" % hit, "w", "p n",
        "u", "p n", "w", "u 2", "p n", "d", "p n", "a",
        "d 10", "p n", "d",
        "u 100", "p n", "u",
        "s", "p n", "q"])
    where = s.output(1).splitlines()
    frames = [row for row in where if row.startswith(("> ", "  /"))]
    assert len(frames) == depth
    assert frames[-1] == "> %s(%d)factorial()" % (path, line)
    assert frames[0].endswith(")<module>()")
    assert where[-1] == "  (thread 0: MainThread)"
    assert s.output(2) == "3"
    assert location(s.output(3)) == ("recursion.py", line, "factorial")
    assert s.output(4) == "4"
    frames_up = [row for row in s.output(5).splitlines() if row.startswith(("> ", "  /"))]
    assert frames_up[-2] == "> %s(%d)factorial()" % (path, line)
    assert frames_up[-1] == "  %s(%d)factorial()" % (path, line)
    assert [s.output(k) for k in (7, 9)] == ["6", "5"]
    assert s.output(10) == "n = 5"
    assert s.output(12) == "3"
    assert s.output(13) == "*** Newest frame"
    assert location(s.output(14))[2] == "<module>"
    assert s.output(15).startswith("*** NameError")
    assert s.output(16) == "*** Oldest frame"
    assert all(step.after == hit for step in s.steps[:17])
    # A move selects the newest frame again: s steps into factorial(2).
    into = next(e for e in rec.events[hit + 1:] if e["kind"] in ("line", "call"))
    assert s[17].after == into["i"] and into["func"] == "factorial"
    assert s.output(18) == into["locals"]["n"] == "2"


def test_source_comes_from_the_tape(tapes, tmp_path):
    """l, ll and w show the recorded source after the program was deleted and the tape
    moved: the tape is self-contained."""
    work = tmp_path / "project"
    work.mkdir()
    script = work / "mybank.py"
    shutil.copy(BANK, script)
    original = script.read_text(encoding="utf-8").splitlines()
    run = run_record(script, cwd=work)
    assert run.status == 1, run.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    tape = elsewhere / "moved.tape"
    shutil.move(str(work / "run.tape"), str(tape))
    shutil.rmtree(work)

    line = line_of(BANK, "self.balance -= total")
    def_line = line_of(BANK, "def withdraw(self, amount, fee=0):")
    end_line = line_of(BANK, 'self.history.append(("withdraw", total))')
    hit = line_hits(run.events, "mybank.py", line)[0]
    s = replay(tape, ["b mybank.py:%d" % line, "c", "l", "l", "l 1, 3", "l .", "ll", "w",
                      "a", "q"], cwd=elsewhere)
    assert s.status == 0, s.transcript()
    assert s[1].after == hit
    assert "-> self.balance -= total" in s.output(1)

    def listing(first, last, current=line, breaks=(line,)):
        return ["%4d %s%s %s" % (n, "B" if n in breaks else " ",
                                 "->" if n == current else "  ", original[n - 1])
                for n in range(first, last + 1)]

    assert s.output(2).splitlines() == listing(line - 5, line + 5)
    assert s.output(3).splitlines() == listing(line + 6, line + 16)
    assert s.output(4).splitlines() == listing(1, 3)
    assert s.output(5).splitlines() == listing(line - 5, line + 5)
    assert s.output(6).splitlines() == listing(def_line, end_line)
    where = s.output(7).splitlines()
    assert "> %s(%d)withdraw()" % (script, line) in where
    assert "-> self.balance -= total" in where
    assert "-> src.withdraw(amount, fee)" in where
    assert s.output(8).splitlines() == [
        "self = Account(owner='ann', balance=100, history=[])", "amount = 30", "fee = 0"]


def test_longlist_of_a_decorated_function(tapes):
    """ll shows the whole function, decorators included, as pdb's longlist does."""
    rec = tapes("closures")
    path = SAMPLES_DIR / "closures.py"
    source = path.read_text(encoding="utf-8").splitlines()
    cases = [("@memoize", "def slow_square(n):", "return n * n"),
             ("@functools.wraps(func)", "def wrapper(*args):", "return result")]
    commands = []
    for _, _, body in cases:
        commands += ["cl", "goto start", "b closures.py:%d" % line_of(path, body), "c", "ll"]
    s = replay(rec.tape, commands + ["q"])
    assert s.status == 0, s.transcript()
    for k, (decorator, header, body) in enumerate(cases):
        first, last = line_of(path, decorator), line_of(path, body)
        shown = s.output(5 * k + 4).splitlines()
        numbers = [int(row[:4]) for row in shown]
        assert numbers == list(range(first, last + 1)), (
            "ll in %s shows lines %r, expected %d-%d:\n%s"
            % (header, numbers, first, last, "\n".join(shown)))
        # pdb's marks: B for the breakpoint set on this line, -> for the current line.
        assert shown[-1].startswith("%4d B-> " % last) and shown[-1].endswith(source[last - 1])


def test_args(tapes):
    rec = tapes("bank")
    line = line_of(BANK, "fee = 2 if amount > 50 else 0")
    hits = line_hits(rec.events, "bank.py", line)
    s = replay(rec.tape, ["goto %d" % hits[1], "a", "u", "a", "q"])
    assert s.status == 0, s.transcript()
    assert s.output(1).splitlines() == [
        "src = " + rec.events[hits[1]]["locals"]["src"],
        "dst = " + rec.events[hits[1]]["locals"]["dst"],
        "amount = 80"]
    assert s.output(1).splitlines()[0].startswith("src = Account(owner='bob', balance=130")
    assert s.output(3) == ""  # main() takes no arguments


def test_display_shows_changes_after_moves(tapes):
    rec = tapes("mutation")
    path = SAMPLES_DIR / "mutation.py"
    line = line_of(path, "alias = items")
    hit = line_hits(rec.events, "mutation.py", line)[0]
    s = replay(rec.tape, [
        "b mutation.py:%d" % line, "c",                # 0-1
        "display items", "display len(items)",         # 2-3
        "n", "n", "rn",                                # 4-6
        "display",                                     # 7
        "undisplay items", "n",                        # 8-9
        "undisplay", "n",                              # 10-11
        "q"])
    assert s.status == 0, s.transcript()
    assert s[1].after == hit
    assert s.output(2) == "display items: [5, 3, 8]"
    assert s.output(3) == "display len(items): 3"
    # items.append(1) is the next line: nothing changed yet.
    assert not [r for r in s.output(4).splitlines() if r.startswith("display")]
    assert [r for r in s.output(5).splitlines() if r.startswith("display")] == [
        "display items: [5, 3, 8, 1]  [old: [5, 3, 8]]",
        "display len(items): 4  [old: 3]"]
    assert [r for r in s.output(6).splitlines() if r.startswith("display")] == [
        "display items: [5, 3, 8]  [old: [5, 3, 8, 1]]",
        "display len(items): 3  [old: 4]"]
    assert s.output(7).splitlines() == ["display items: [5, 3, 8]", "display len(items): 3"]
    assert [r for r in s.output(9).splitlines() if r.startswith("display")] == [
        "display len(items): 4  [old: 3]"]
    assert not [r for r in s.output(11).splitlines() if r.startswith("display")]


def test_finish_retval_and_reverse_finish(tapes):
    rec = tapes("recursion")
    path = SAMPLES_DIR / "recursion.py"
    line = line_of(path, "return n * factorial(n - 1)")
    hit = [i for i in line_hits(rec.events, "recursion.py", line)
           if rec.events[i]["locals"]["n"] == "3"][0]
    depth = rec.events[hit]["depth"]
    returns = [e["i"] for e in rec.events[hit:] if e["kind"] == "return"]
    s = replay(rec.tape, ["goto %d" % hit, "retval", "r", "retval", "p n", "r", "retval",
                          "rr", "p n", "bfinish", "p n", "q"])
    assert s.output(1) == "*** not at a return or exception event"
    ret = next(i for i in returns if rec.events[i]["depth"] == depth)
    assert s[2].after == ret
    assert "--Return--" in s.output(2)
    assert "> %s(%d)factorial()->6" % (path, line) in s.output(2)
    assert s.output(3) == "6" == rec.events[ret]["value"]
    assert s.output(4) == "3"
    ret4 = next(i for i in returns if rec.events[i]["depth"] == depth - 1)
    assert (s[5].after, s.output(6)) == (ret4, "24")
    # From the return of factorial(4) back to the line of factorial(5) that called it,
    # then to the line of factorial(6) that called factorial(5).
    assert s.output(8) == "5" and rec.events[s[7].after]["depth"] == depth - 2
    assert rec.events[s[7].after]["kind"] == "line"
    assert s.output(10) == "6" and rec.events[s[9].after]["depth"] == depth - 3


@pytest.mark.parametrize("alias,short", [("reverse-step", "rs"), ("reverse-next", "rn"),
                                         ("reverse-finish", "rr"), ("reverse-continue", "rc")])
def test_gdb_reverse_commands_move_as_their_short_forms(tapes, alias, short):
    # gdb's and rr's names for the reverse moves, typed by their users.
    rec = tapes("recursion")
    path = SAMPLES_DIR / "recursion.py"
    line = line_of(path, "return n * factorial(n - 1)")
    start = line_hits(rec.events, "recursion.py", line)[-1]
    setup = ["b recursion.py:%d" % line, "goto %d" % start]
    a = replay(rec.tape, setup + [alias, alias, "q"])
    b = replay(rec.tape, setup + [short, short, "q"])
    assert a.status == 0, a.transcript()
    assert a[1].after == start
    assert a[2].after < start and a[3].after < a[2].after
    assert [(a[k].after, a.output(k)) for k in (2, 3)] == [(b[k].after, b.output(k)) for k in (2, 3)]


def test_an_unknown_backward_word_names_the_reverse_commands(tapes):
    rec = tapes("recursion")
    s = replay(rec.tape, ["goto end", "back", "reverse", "q"])
    for k in (1, 2):
        assert s[k].after == s[0].after
        assert "rs (step), rn (next), rr (finish), rc (continue)" in s.output(k), s.transcript()


def test_a_value_cut_at_the_total_bound_shows_what_was_captured(tmp_path):
    # A unittest-style object: a huge attribute first fills the 1000-byte bound
    # (docs/RENDERING.md), the one the user wants comes after it.
    script = tmp_path / "cut.py"
    script.write_text(
        "class Holder:\n"
        "    def __init__(self):\n"
        "        self.name = 'first'\n"
        "        self.outcome = {'log': ['x' * 150 + str(i) for i in range(20)]}\n"
        "        self.calc = 5\n"
        "\n"
        "def check(h):\n"
        "    seen = h.calc\n"
        "    return seen\n"
        "\n"
        "check(Holder())\n")
    tape = tmp_path / "cut.tape"
    proc = subprocess.run(tracetape_cmd("record", "-o", str(tape), str(script)), cwd=str(tmp_path),
                          env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=SUBPROCESS_TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    s = replay(tape, ["b check", "c", "p h.name", "p h.outcome['log'][1][-1]", "p h.calc",
                      "p len(h.outcome['log'])", "q"])
    assert s.output(2) == "'first'", s.transcript()
    assert s.output(3) == "'1'"
    assert s.output(4) == ("*** AttributeError: 'Holder' object's attribute 'calc' was past the recorder's "
                           "bounds (its rendering was cut, not captured)")
    assert s.output(5).startswith("*** ValueError:") and "cut" in s.output(5)


def test_goto(tapes):
    rec = tapes("uncaught")
    path = SAMPLES_DIR / "uncaught.py"
    raise_line = line_of(path, "raise ConfigError(")
    raised = [e["i"] for e in rec.events if e["kind"] == "exception"
              and e["func"] == "load" and e["line"] == raise_line]
    assert len(raised) == 1
    middle = next(e["i"] for e in rec.events if e["kind"] == "line" and e["func"] == "load")
    last = len(rec.events) - 1
    s = replay(rec.tape, ["goto %d" % middle, "goto end", "retval", "goto start",
                          "goto exception", "p number", "p line", "retval", "g %d" % middle,
                          "q"])
    assert s.status == 0, s.transcript()
    assert s[0].after == middle
    assert location(s.output(0)) == event_location(rec.events[middle])
    assert s[1].after == last and "--Return--" in s.output(1)
    assert s.output(2) == rec.events[last]["value"]
    assert s[3].after == 0 and "--Call--" in s.output(3)
    assert s[4].after == raised[0]
    assert s.output(4).splitlines()[0] == (
        "--Exception-- ConfigError: line 2 is malformed: 'broken line'")
    assert location(s.output(4)) == ("uncaught.py", raise_line, "load")
    assert [s.output(k) for k in (5, 6, 7)] == [
        "2", "'broken line'", "ConfigError: line 2 is malformed: 'broken line'"]
    assert s[8].after == middle


@pytest.mark.parametrize("spec", ["exception", "end", "start", "7"])
def test_goto_on_the_command_line(tapes, spec):
    rec = tapes("uncaught")
    raised = next(e["i"] for e in rec.events if e["kind"] == "exception"
                  and e["value"].startswith("ConfigError"))
    target = {"exception": raised, "end": len(rec.events) - 1, "start": 0, "7": 7}[spec]
    s = replay(rec.tape, ["p 1 + 1", "q"], "--goto", spec)
    assert s.status == 0, s.transcript()
    assert s[0].before == target
    assert location(s.banner) == event_location(rec.events[target])
    assert s.output(0) == "2"
    if spec == "exception":
        assert s.banner.startswith("--Exception-- ConfigError: line 2 is malformed")
    s2 = replay(rec.tape, ["q"], "--goto=%s" % spec)
    assert s2[0].before == target


@pytest.mark.parametrize("name,spec", [("uncaught", "99999"), ("recursion", "exception"),
                                       ("uncaught", "nowhere")])
def test_goto_on_the_command_line_rejects_a_bad_target(tapes, name, spec):
    rec = tapes(name)
    proc = subprocess.run(tracetape_cmd("replay", str(rec.tape), "--batch", "--goto", spec),
                          input=b"q\n", stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=child_env(), timeout=SUBPROCESS_TIMEOUT)
    out = proc.stdout.decode()
    assert proc.returncode != 0
    assert errors_in(out), out


def test_empty_line_repeats_and_double_semicolon_separates(tapes):
    rec = tapes("recursion")
    events = rec.events
    steps = [e["i"] for e in events if e["kind"] in ("line", "call")]  # one thread
    s = replay(rec.tape, ["s", "", "", "p 1 ;; s ;; p 2", "", "n;;n", "rs", "", "q"])
    assert s.status == 0, s.transcript()
    assert [s[k].after for k in (0, 1, 2)] == steps[1:4]
    for k in (0, 1, 2):
        assert location(s.output(k)) == event_location(events[steps[k + 1]])
    assert s.output(3).splitlines()[0] == "1" and s.output(3).splitlines()[-1] == "2"
    assert s[3].after == steps[4]
    assert location(s.output(3)) == event_location(events[steps[4]])
    # The empty line repeats the whole ';;' line.
    assert s.output(4).splitlines()[0] == "1" and s.output(4).splitlines()[-1] == "2"
    assert s[4].after == steps[5]
    two_nexts = [row for row in s.output(5).splitlines() if row.startswith("> ")]
    assert len(two_nexts) == 2
    back = s[5].after
    prev = max(i for i in steps if i < back)
    assert s[6].after == prev
    assert s[7].after == max(i for i in steps if i < prev)


def test_bad_input_is_reported_and_the_session_goes_on(tapes):
    rec = tapes("bank")
    line = line_of(BANK, "self.balance -= total")
    hit = line_hits(rec.events, "bank.py", line)[0]
    bad = ["frobnicate", "b nosuchfile.py:3", "b bank.py:0", "b bank.py:100000",
           "b no such thing", "b bank.py:%d, amount >" % line, "p nosuch", "p amount +",
           "p accounts", "goto 100000", "goto -3", "goto sideways", "goto", "cl 42",
           "s now", "condition 42 x", "unwatch 3", "watch nosuch", "tbreak",
           "undisplay nosuch", "l x", "u x", "when", "p"]
    commands = ["b bank.py:%d" % line, "c"]
    for command in bad:
        commands += [command, "p amount"]
    s = replay(rec.tape, commands + ["q"])
    assert s.status != 0, s.transcript()
    for k, command in enumerate(bad):
        step = s[2 + 2 * k]
        assert step.command == command
        assert len(errors_in(step.output)) == 1 and step.output == errors_in(step.output)[0], (
            "%r should print one '***' line, got:\n%s" % (command, step.output))
        assert step.after == hit, "%r moved the cursor" % command
        assert s.output(3 + 2 * k) == "30", "the session broke after %r" % command
    assert "nosuchfile.py" in s.output(4)
    assert "Unknown command 'frobnicate'" in s.output(2)


@pytest.mark.parametrize("command", ["frobnicate", "b nosuchfile.py:3", "b bank.py:x:y",
                                     "p nosuch", "goto 100000", "goto exceptions"])
def test_one_bad_command_makes_the_exit_status_non_zero(tapes, command):
    rec = tapes("bank")
    s = replay(rec.tape, ["s", command, "s", "q"])
    assert s.status != 0, s.transcript()
    assert errors_in(s.output(1)), s.transcript()
    assert (s[1].before, s[1].after, s[2].after) == (1, 1, 2)


def test_good_sessions_exit_zero(tapes):
    rec = tapes("bank")
    s = replay(rec.tape, ["s", "n", "b withdraw", "c", "w", "l", "p amount", "rc", "rn",
                          "info", "help", "q"])
    assert s.status == 0, s.transcript()
    assert not errors_in(s.stdout), s.transcript()
    info = s.output(9)
    assert "%d events, complete" % len(rec.events) in info
    # End of input without q ends the session too.
    s = replay(rec.tape, ["s", "s"])
    assert s.status == 0 and s[1].after == 2


@pytest.mark.parametrize("command,word", [("!x = 1", "statements"), ("!amount", "statements"),
                                          ("j 5", "'j'"), ("jump 30", "'jump'"),
                                          ("p amount = 3", "assignments"),
                                          ("pp amount = 3", "assignments"),
                                          ("p x = 3", "assignments")])
def test_commands_that_would_change_the_past_say_the_tape_is_read_only(tapes, command, word):
    rec = tapes("bank")
    line = line_of(BANK, "self.balance -= total")
    s = replay(rec.tape, ["b bank.py:%d" % line, "c", command, "p amount", "q"])
    out = s.output(2)
    assert out.startswith("*** the tape is read-only") and word in out, out
    assert s[2].after == s[2].before
    assert s.output(3) == "30"


def test_navigation_stays_on_the_current_thread(tapes):
    rec = tapes("threads")
    path = SAMPLES_DIR / "threads.py"
    line = line_of(path, "box.cell_contents[RESULTS][index] = result")
    hits = line_hits(rec.events, "threads.py", line)
    assert len(hits) == 3
    s = replay(rec.tape, ["b threads.py:%d" % line, "c", "w", "info", "rs", "p index",
                          "s", "c", "c", "rc", "p index", "q"])
    assert s.status == 0, s.transcript()
    first = rec.events[hits[0]]
    thread = first["thread"]
    assert s[1].after == hits[0]
    assert s.output(2).splitlines()[-1].startswith("  (thread %d: " % thread)
    assert "at: event %d (line) on thread %d" % (hits[0], thread) in s.output(3)
    before = max(e["i"] for e in rec.events[:hits[0]]
                 if e["thread"] == thread)  # pdb's step: any event, a return too
    assert s[4].after == before
    assert rec.events[before]["thread"] == thread
    assert s.output(5) == first["locals"]["index"]
    assert s[6].after == hits[0]
    assert [s[7].after, s[8].after] == hits[1:]
    assert s[9].after == hits[1]
    assert s.output(10) == rec.events[hits[1]]["locals"]["index"]


def test_text_beyond_ascii(tapes):
    """len() and indexing count characters; names need not be ASCII."""
    rec = tapes("replay_unicode")
    path = SAMPLES_DIR / "replay_unicode.py"
    line = line_of(path, "replay-marker: main-print")
    commands = ["b replay_unicode.py:%d" % line, "c",
                "p word", "p len(word)", "p word[2]", "p word[-2]", "p len(message)",
                "p letters[2] == word[2]", "p naïve", "p naïve['crème']", "p len(naïve)",
                "q"]
    s = replay(rec.tape, commands)
    expected = ["'brûlée'", "6", "'û'", "'é'", "14", "True",
                "{'crème': 'brûlée', '√2': 1.414}", "'brûlée'", "2"]
    got = [s.output(k) for k in range(2, 2 + len(expected))]
    assert got == expected, "\n".join(
        "%-24s expected %-36s got %s" % (c, e, g)
        for c, e, g in zip(commands[2:], expected, got) if e != g)
    assert s.status == 0, s.transcript()


# ------------------------------------------------------ interactive (a pty)
class _Pty:
    """A child on a pseudo-terminal; every read is bounded by a deadline."""

    def __init__(self, argv, env, cwd):
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave,
                                     env=env, cwd=cwd, close_fds=True)
        os.close(slave)
        self.pending = b""

    def read_until(self, token, timeout=60.0):
        deadline = time.monotonic() + timeout
        while token not in self.pending:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("timed out waiting for %r; got so far: %r"
                                     % (token, self.pending))
            ready, _, _ = select.select([self.master], [], [], left)
            if not ready:
                continue
            try:
                data = os.read(self.master, 4096)
            except OSError:  # EIO: the child closed the terminal
                data = b""
            if not data:
                raise AssertionError("the child ended while waiting for %r; got: %r"
                                     % (token, self.pending))
            self.pending += data
        end = self.pending.index(token) + len(token)
        text, self.pending = self.pending[:end], self.pending[end:]
        return text

    def send(self, line):
        os.write(self.master, line + b"\n")

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        os.close(self.master)


_ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]")


def _clean(data):
    return _ANSI.sub(b"", data).replace(b"\r", b"").decode("utf-8", "backslashreplace")


def test_interactive_prompt_on_a_terminal(tapes, tmp_path):
    rec = tapes("replay_unicode")
    path = SAMPLES_DIR / "replay_unicode.py"
    line = line_of(path, "replay-marker: main-print")
    hit = line_hits(rec.events, "replay_unicode.py", line)[0]
    env = child_env()
    env.update(HOME=str(tmp_path), TERM="dumb")  # readline's history goes to HOME
    term = _Pty(tracetape_cmd("replay", str(rec.tape)), env, str(tmp_path))
    try:
        banner = _clean(term.read_until(b"(tape 0) "))
        assert "--Call--" in banner and "<module>()" in banner
        outputs = []
        for command, next_prompt in ((b"n", 1), (b"", 2),
                                     (b"b replay_unicode.py:%d" % line, 2),
                                     (b"c", hit), (b"p word", hit), (b"p 6 * 7", hit)):
            term.send(command)
            outputs.append(_clean(term.read_until(b"(tape %d) " % next_prompt)))
        term.send(b"q")
        deadline = time.monotonic() + 60
        while term.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert term.proc.poll() == 0, "exit status %r" % term.proc.poll()
    finally:
        term.close()
    assert location(outputs[0]) == event_location(rec.events[1])
    assert location(outputs[1]) == event_location(rec.events[2])
    assert "Breakpoint 1 at" in outputs[2]
    assert location(outputs[3]) == ("replay_unicode.py", line, "main")
    assert "'brûlée'" in outputs[4].splitlines()
    assert "42" in outputs[5].splitlines()
