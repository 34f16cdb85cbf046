"""The two hook backends: the C trace function (every version) and sys.monitoring
(3.12+, the default there).

The sample programs are compared with the reference once per backend in
test_record_vs_reference.py. This file covers what a whole-program run does not:
which backend a tape says it used, recording that starts in the middle of a run
(running threads, suspended generators, the caller's frame), a forked child's own
tape, two recordings in one process with different scopes, living next to another
tool, and giving the sys.monitoring tool id back.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from conftest import BACKENDS, child_env, parse_jsonl, tracetape_cmd

needs_monitoring = pytest.mark.skipif(sys.version_info < (3, 12),
                                      reason="sys.monitoring exists from CPython 3.12")


def run(cmd, cwd, backend=None, timeout=120):
    proc = subprocess.run(cmd, cwd=str(cwd), env=child_env(backend), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def dump(tape, cwd):
    status, out, err = run(tracetape_cmd("dump", str(tape), "--format", "jsonl"), cwd)
    assert status == 0, err
    return parse_jsonl(out, str(tape))


def info(tape, cwd):
    status, out, err = run(tracetape_cmd("info", str(tape)), cwd)
    assert status == 0, err
    return out


def compared(events, unstable=()):
    """The compared fields; locals named in `unstable` (thread ids) left out."""
    keys = ("thread", "kind", "func", "line", "depth", "locals", "value")
    out = []
    for e in events:
        e = {k: e.get(k) for k in keys}
        e["locals"] = {k: v for k, v in e["locals"].items() if k not in unstable}
        out.append(e)
    return out


@pytest.mark.parametrize("backend", BACKENDS + [None])
def test_the_tape_names_the_backend_that_recorded_it(tmp_path, backend):
    script = tmp_path / "prog.py"
    script.write_text("x = 1\n")
    status, _, err = run(tracetape_cmd("record", "-o", "t.tape", str(script)), tmp_path, backend)
    assert status == 0, err
    expected = backend or ("monitoring" if sys.version_info >= (3, 12) else "settrace")
    assert "(%s hook)" % expected in info(tmp_path / "t.tape", tmp_path)


def test_an_unknown_backend_is_a_usage_error(tmp_path):
    script = tmp_path / "prog.py"
    script.write_text("print('ran')\n")
    status, out, err = run(tracetape_cmd("record", "-o", "t.tape", str(script)), tmp_path, "ptrace")
    assert status == 2
    assert "TRACETAPE_BACKEND must be one of auto, settrace, monitoring, not 'ptrace'" in err
    assert "ran" not in out
    assert not (tmp_path / "t.tape").exists()


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="3.12+ has sys.monitoring")
def test_monitoring_before_3_12_is_a_clear_error(tmp_path):
    script = tmp_path / "prog.py"
    script.write_text("print('ran')\n")
    status, out, err = run(tracetape_cmd("record", "-o", "t.tape", str(script)), tmp_path, "monitoring")
    assert status == 2
    assert "the monitoring backend needs CPython 3.12 or later" in err


# A program that starts recording in the middle: a thread is already running
# and a generator is suspended when tracetape.start() runs; both go on after.
MID_RUN = textwrap.dedent('''\
    import sys, threading, tracetape

    go = threading.Event()
    done = threading.Event()

    def worker():
        total = 0
        go.wait()
        for i in range(3):
            total += i
        done.set()
        return total

    def numbers():
        n = 0
        while True:
            n += 1
            yield n

    def outer():
        gen = numbers()
        first = next(gen)
        t = threading.Thread(target=worker, name="early")
        t.start()
        tracetape.start(sys.argv[1])
        second = next(gen)
        go.set()
        done.wait()
        t.join()
        tracetape.stop()
        return first + second

    print(outer())
''')


@needs_monitoring
def test_recording_started_mid_run_is_the_same_on_both_backends(tmp_path):
    script = tmp_path / "mid.py"
    script.write_text(MID_RUN)
    streams = {}
    for backend in ("settrace", "monitoring"):
        tape = tmp_path / (backend + ".tape")
        status, out, err = run([sys.executable, str(script), str(tape)], tmp_path, backend)
        assert (status, out) == (0, "3\n"), err
        assert "(%s hook)" % backend in info(tape, tmp_path)
        events = dump(tape, tmp_path)
        by_thread = {}
        for e in compared(events, unstable=("t",)):
            by_thread.setdefault(e.pop("thread"), []).append(e)
        streams[backend] = sorted(by_thread.values(), key=lambda s: s[0]["func"])
    assert streams["monitoring"] == streams["settrace"]
    funcs = {e["func"] for s in streams["monitoring"] for e in s}
    # The caller of start(), the resumed generator and the early thread.
    assert {"outer", "numbers", "worker"} <= funcs


SESSIONS = textwrap.dedent('''\
    import sys, tracetape
    sys.path.insert(0, sys.argv[3])
    import helper

    def run():
        return helper.double(4)

    with tracetape.record(sys.argv[1], exclude=[sys.argv[3]]):
        run()
    with tracetape.record(sys.argv[2]):
        run()
''')


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_recording_of_a_process_applies_its_own_scope(tmp_path, backend):
    # The first recording stops helper.py's events (sys.monitoring: DISABLE at
    # its locations); the second must see them again.
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "helper.py").write_text("def double(x):\n    y = x * 2\n    return y\n")
    script = tmp_path / "sessions.py"
    script.write_text(SESSIONS)
    status, _, err = run([sys.executable, str(script), "one.tape", "two.tape", str(lib)], tmp_path, backend)
    assert status == 0, err
    first = {e["func"] for e in dump(tmp_path / "one.tape", tmp_path)}
    second = [e for e in dump(tmp_path / "two.tape", tmp_path) if e["func"] == "double"]
    assert "run" in first and "double" not in first
    assert [(e["kind"], e["line"]) for e in second] == [
        ("call", 1), ("line", 2), ("line", 3), ("return", 3)]
    assert second[-1]["value"] == "8"


# A thread that runs no Python code from the end of a recording without locals to the
# start of the next, with locals: on 3.10 and 3.11 (settrace) it still carries the first
# recording's trace function, and the second recording's events from it must carry
# their locals all the same.
STALE_HOOK = textwrap.dedent('''\
    import sys, threading
    import tracetape

    go = threading.Event()
    ready = threading.Event()
    done = threading.Event()

    def step(x):
        y = x + 1
        return y

    def worker():
        x = step(0)
        ready.set()
        go.wait()
        for _ in range(3):
            x = step(x)
        done.set()

    tracetape.start(sys.argv[1], locals="none")
    t = threading.Thread(target=worker)
    t.start()
    ready.wait()
    tracetape.stop()
    tracetape.start(sys.argv[2], locals="all")
    go.set()
    done.wait()
    tracetape.stop()
    t.join()
''')


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_thread_keeps_no_earlier_recordings_locals_mode(tmp_path, backend):
    script = tmp_path / "stale.py"
    script.write_text(STALE_HOOK)
    status, _, err = run([sys.executable, str(script), "none.tape", "all.tape"], tmp_path, backend)
    assert status == 0, err
    first = [e for e in dump(tmp_path / "none.tape", tmp_path) if e["func"] == "step"]
    assert first and all(e["locals"] == {} for e in first)
    second = [(e["kind"], e["line"], e["locals"], e.get("value"))
              for e in dump(tmp_path / "all.tape", tmp_path) if e["func"] == "step"]
    expected = []
    for x in (1, 2, 3):
        args = {"x": str(x)}
        both = {"x": str(x), "y": str(x + 1)}
        expected += [("call", 8, args, None), ("line", 9, args, None), ("line", 10, both, None),
                     ("return", 10, both, str(x + 1))]
    assert second == expected


# A program's own trace function, which counts the events of work(): the start of the
# scripts of the tests that record next to it.
OWN_TRACER = textwrap.dedent('''\
    import sys, tracetape
    seen = []

    def tracer(frame, event, arg):
        if frame.f_code.co_name == "work":
            seen.append(event)
        return tracer

    def work(n):
        s = 0
        for i in range(n):
            s += i
        return s

''')


@needs_monitoring
def test_a_trace_function_keeps_working_while_monitoring_records(tmp_path):
    # coverage.py's C tracer, a debugger or a profiler may hold sys.settrace:
    # the monitoring backend records next to it instead of replacing it.
    script = tmp_path / "both.py"
    script.write_text(OWN_TRACER + textwrap.dedent('''\
        sys.settrace(tracer)
        with tracetape.record(sys.argv[1]):
            work(3)
        sys.settrace(None)
        print(seen.count("call"), seen.count("line"), seen.count("return"))
    '''))
    status, out, err = run([sys.executable, str(script), "t.tape"], tmp_path, "monitoring")
    assert status == 0, err
    assert "replacing the active trace function" not in err
    assert out.split() == ["1", "9", "1"]
    kinds = [e["kind"] for e in dump(tmp_path / "t.tape", tmp_path) if e["func"] == "work"]
    assert kinds.count("call") == 1 and kinds.count("line") == 9 and kinds.count("return") == 1


def test_a_trace_function_taken_for_good_is_a_warning_and_stays(tmp_path):
    # The settrace backend holds sys.settrace. A program that installs its own trace
    # function and never gives tracetape's back (a save and restore does: see the
    # trace_restore sample) stops the recording of calls on this thread from there:
    # tracetape says so when it stops, and leaves the program's trace function installed.
    script = tmp_path / "takes.py"
    script.write_text(OWN_TRACER + textwrap.dedent('''\
        with tracetape.record(sys.argv[1], backend="settrace"):
            work(1)
            sys.settrace(tracer)
            work(3)
        kept = sys.gettrace() is tracer
        sys.settrace(None)
        print(kept, seen.count("call"), seen.count("line"), seen.count("return"))
    '''))
    status, out, err = run([sys.executable, str(script), "t.tape"], tmp_path)
    assert status == 0, err
    assert out.split() == ["True", "1", "9", "1"], (out, err)
    assert err.count("tracetape: warning: the program replaced tracetape's trace function") == 1, err
    work = [e for e in dump(tmp_path / "t.tape", tmp_path) if e["func"] == "work"]
    assert [e["kind"] for e in work] == ["call", "line", "line", "line", "line", "line", "return"], work
    assert all(e["locals"].get("n") == "1" for e in work), work

    # A recording whose trace function was saved and given back says nothing.
    script.write_text(script.read_text().replace("sys.settrace(tracer)", "sys.settrace(sys.gettrace())"))
    status, out, err = run([sys.executable, str(script), "t.tape"], tmp_path)
    assert status == 0, err
    assert "warning" not in err, err
    work = [e for e in dump(tmp_path / "t.tape", tmp_path) if e["func"] == "work"]
    assert [e["locals"].get("n") for e in work if e["kind"] == "call"] == ["1", "3"], work


def test_frames_that_end_while_another_tracer_holds_the_hook_are_unwound(tmp_path):
    # The settrace backend. A debugger's set_trace takes every frame on the stack
    # (their f_trace) and the hook; frames recorded before then end without
    # tracetape seeing their returns. When the hook is given back, the tape
    # says so (an unwind at a chunk boundary, those returns counted as dropped)
    # and goes on at the right depth, instead of keeping the ended frames on
    # its stack.
    script = tmp_path / "steal.py"
    script.write_text(textwrap.dedent('''\
        import sys, tracetape

        def quiet(frame, event, arg):
            return None

        def steal():
            steal.saved = sys.gettrace()
            frame = sys._getframe()
            while frame is not None:
                frame.f_trace = quiet
                frame = frame.f_back
            sys.settrace(quiet)

        def middle():
            steal()
            return 1

        def helper(n):
            return n + 1

        def outer():
            r = middle()
            sys.settrace(steal.saved)
            s = helper(r)
            return r + s

        with tracetape.record(sys.argv[1], backend="settrace"):
            total = outer()
            again = helper(total)
        print(total, again)
    '''))
    status, out, err = run([sys.executable, str(script), "t.tape"], tmp_path)
    assert status == 0, err
    assert out.split() == ["3", "4"], (out, err)
    assert "warning" not in err, err
    status, verified, verr = run(tracetape_cmd("verify", "t.tape"), tmp_path)
    assert status == 0, verified + verr
    assert "dropped:   2 events" in info(tmp_path / "t.tape", tmp_path)  # middle's and steal's returns
    events = dump(tmp_path / "t.tape", tmp_path)
    depth = {(e["func"], e["kind"]): e["depth"] for e in events}
    base = depth[("outer", "call")]
    assert depth[("middle", "call")] == base + 1 and depth[("steal", "call")] == base + 2
    # After the hook came back: helper called from outer, then from the with block.
    helper_calls = [e["depth"] for e in events if e["func"] == "helper" and e["kind"] == "call"]
    assert helper_calls == [base + 1, base], events
    assert [e["depth"] for e in events if e["func"] == "outer" and e["kind"] == "return"] == [base]
    assert ("middle", "return") not in depth and ("steal", "return") not in depth


PDB_SESSION = textwrap.dedent('''\
    import io, pdb, sys

    def work(n):
        total = n * 2
        pdb.Pdb(nosigint=True, readrc=False, stdin=io.StringIO(COMMANDS),
                stdout=sys.stdout).set_trace()
        total += 1
        total += 10
        return total

    COMMANDS = "p total\\nnext\\np total\\ncontinue\\n"
    print("result", work(5))
''')


@pytest.mark.parametrize("backend", BACKENDS)
def test_pdb_stops_and_steps_where_it_does_without_recording(tmp_path, backend):
    # pdb.set_trace() under recording: the session (where it stops, what it
    # prints, where `next` goes) is the one without tracetape, and the events of
    # work() before it took over are on the tape.
    if backend == "monitoring" and sys.version_info[:2] == (3, 13):
        pytest.skip("CPython 3.13: opcode tracing gets no events beside a sys.monitoring tool "
                    "that watches calls, so set_trace stops a line late (README: How it hooks in)")
    script = tmp_path / "session.py"
    script.write_text(PDB_SESSION)
    plain = subprocess.run([sys.executable, str(script)], cwd=str(tmp_path), env=child_env(),
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60)
    assert plain.returncode == 0, plain.stderr.decode()
    expected = plain.stdout.decode()
    assert "(Pdb) 10" in expected and "result 21" in expected, expected
    status, out, err = run(tracetape_cmd("record", "-o", "t.tape", str(script)), tmp_path, backend)
    assert status == 0, err
    assert out == expected, (out, expected)
    status, verified, verr = run(tracetape_cmd("verify", "t.tape"), tmp_path)
    assert status == 0, verified + verr
    work = [e for e in dump(tmp_path / "t.tape", tmp_path) if e["func"] == "work"]
    assert [e["kind"] for e in work[:3]] == ["call", "line", "line"], work
    assert work[1]["locals"] == {"n": "5"} and work[2]["locals"]["total"] == "10", work


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_deep_stack_of_long_locals_is_not_repeated_at_every_event(tmp_path, backend):
    # Every chunk starts with the locals of every open frame. 2,500 frames
    # each holding a value of its own (834 bytes rendered) are past the chunk
    # limit (1 MiB): each chunk was full at its first event, and the next
    # repeated them all, one chunk per event at the bottom of the stack (CPython
    # 3.13's test_json, 20,000 deep: 4.4 GB of tape in 17 minutes).
    script = tmp_path / "deep.py"
    script.write_text(textwrap.dedent('''\
        import sys
        sys.setrecursionlimit(10000)
        TEXT = "x" * 5000

        def down(n):
            pair = (n, TEXT, TEXT, TEXT, TEXT)
            if n == 0:
                total = 0
                for i in range(300):
                    total += i
                return total
            return down(n - 1)

        print(down(2500))
    '''))
    status, out, err = run(tracetape_cmd("record", "-o", "t.tape", str(script)), tmp_path, backend)
    assert status == 0, err
    assert out.split() == ["44850"], (out, err)
    text = info(tmp_path / "t.tape", tmp_path)
    assert "(call 2502, line 8110, return 2502, exception 0)" in text, text
    chunks = int(text.split(" chunks")[0].split()[-1].replace(",", ""))
    assert chunks < 30, text
    status, out, err = run(tracetape_cmd("verify", "t.tape"), tmp_path)
    assert status == 0 and "complete" in out, (out, err)


# The start of the programs that check whether an instance got a __dict__:
# has_dict reads the word three before the object, the managed __dict__'s
# address (null until one is made; on 3.12, while there is none, the inline
# values' address less one: odd), and a plain class whose instances keep
# their attributes in inline values (3.11+). The programs add to the class.
INLINE_VALUES_PRELUDE = textwrap.dedent('''\
    import ctypes

    def has_dict(obj):
        word = ctypes.c_void_p.from_address(id(obj) - 3 * ctypes.sizeof(ctypes.c_void_p)).value
        return bool(word) and not word & 1

    class Account:
        def __init__(self, owner):
            self.owner = owner
            self.balance = 0

''')


@pytest.mark.skipif(sys.version_info < (3, 11), reason="inline values exist from CPython 3.11")
@pytest.mark.parametrize("backend", BACKENDS)
def test_recording_makes_no_dict_for_instances_it_renders(tmp_path, backend):
    # CPython keeps a plain instance's attributes in inline values until
    # something asks for its __dict__; asking makes one for good (a split
    # table, on which no attribute access is specialized), and the program's
    # attribute loads and stores on that instance take the generic path for
    # the rest of the run, in recorded code or not. The recorder reads them
    # where they are.
    script = tmp_path / "prog.py"
    script.write_text(INLINE_VALUES_PRELUDE + textwrap.dedent('''\
            def deposit(self, amount):
                self.balance += amount
                return self.balance

        def work():
            a = Account("ann")
            for amount in (5, 7):
                a.deposit(amount)
            del a.owner
            a.note = "closed"
            return a

        kept = work()
        probe = Account("bob")
        print(has_dict(kept), has_dict(probe), kept.balance)
        vars(probe)
        print(has_dict(probe))
    '''))
    status, out, err = run(tracetape_cmd("record", "-o", "t.tape", str(script)), tmp_path, backend)
    assert status == 0, err
    assert out.split() == ["False", "False", "12", "True"], (out, err)
    shown = [e["locals"].get("a") for e in dump(tmp_path / "t.tape", tmp_path) if e["func"] == "work"]
    assert "Account(owner='ann', balance=12)" in shown, shown
    assert shown[-1] == "Account(balance=12, note='closed')", shown


@pytest.mark.skipif(sys.version_info < (3, 11), reason="inline values exist from CPython 3.11")
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_recording_without_locals_makes_no_dict_for_the_values_it_returns(tmp_path, backend):
    # With --locals none only return values (and exceptions) are rendered, each
    # once: on every version with inline values (3.11+) they are read where they
    # are, and the instances are left as they were (as with locals: see
    # test_recording_makes_no_dict_for_instances_it_renders). On 3.11 a list
    # comprehension is a function of its own, whose return value is the list.
    script = tmp_path / "prog.py"
    script.write_text(INLINE_VALUES_PRELUDE + textwrap.dedent('''\
        def opened(owner, amount):
            a = Account(owner)
            a.balance += amount
            return a

        accounts = [opened("acct%d" % i, 10 * i) for i in range(3)]
        single = opened("ann", 5)
        probe = Account("bob")
        print(*[has_dict(a) for a in accounts], has_dict(single), has_dict(probe))
        vars(probe)
        print(has_dict(probe), single.balance)
    '''))
    status, out, err = run(tracetape_cmd("record", "-o", "t.tape", "--locals", "none", str(script)),
                           tmp_path, backend)
    assert status == 0, err
    assert out.split() == ["False"] * 5 + ["True", "5"], (out, err)
    returned = [e["value"] for e in dump(tmp_path / "t.tape", tmp_path)
                if e["kind"] == "return" and e["func"] in ("opened", "<listcomp>")]
    assert "Account(owner='ann', balance=5)" in returned, returned
    if sys.version_info < (3, 12):
        assert ("[Account(owner='acct0', balance=0), Account(owner='acct1', balance=10), "
                "Account(owner='acct2', balance=20)]") in returned, returned


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_large_string_in_a_suspended_generator_is_not_kept_alive(tmp_path, backend):
    # tracetape keeps a generator's slot states from its yield to its resume,
    # with references to the immutable values they were rendered from; those
    # of a generator that never resumes (abandoned, or finished on the
    # settrace backend) stay until their place is taken. A large str or bytes
    # is not kept that way: its last reference goes when the program's does.
    script = tmp_path / "keep.py"
    script.write_text(textwrap.dedent('''\
        import sys, tracetape

        def reader(chunk):
            data = chunk
            small = chunk[:10]
            yield len(data)
            yield len(small)

        big = "x" * 100000
        with tracetape.record(sys.argv[1]):
            before = sys.getrefcount(big)
            done = reader(big)
            print(list(done))           # finished
            left = reader(big)
            print(next(left))           # suspended, then abandoned
            left.close()
            del done, left
            print(sys.getrefcount(big) - before)
    '''))
    status, out, err = run([sys.executable, str(script), "t.tape"], tmp_path, backend)
    assert status == 0, err
    assert out.split() == ["[100000,", "10]", "100000", "0"], (out, err)
    events = [e for e in dump(tmp_path / "t.tape", tmp_path) if e["func"] == "reader"]
    calls = [e for e in events if e["kind"] == "call"]
    assert len(calls) >= 4 and all(e["locals"]["chunk"].startswith("'xxxx") for e in calls), calls
    assert calls[1]["locals"]["data"] == calls[0]["locals"]["chunk"]  # sent again at the resume


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_subclassed_scalar_is_held_only_where_no_program_can_tell(tmp_path, backend):
    # An int, bytes... subclass instance inside a rendered value is compared
    # at the next events by identity, holding a reference, as an exact int
    # is. One with a __del__, or one a weak reference can point to, is not
    # held: dropping it in the middle of a line finalizes it there, as
    # without recording. A held one goes with the frame's states.
    script = tmp_path / "held.py"
    script.write_text(textwrap.dedent('''\
        import sys, weakref, tracetape

        log = []

        class Tracked(int):
            def __del__(self):
                log.append(int(self))

        class Name(str):
            pass

        class Plain(int):
            pass

        class Box:
            pass

        def work():
            box = Box()
            box.t = Tracked(5)
            box.n = Name("n" * 20)
            box.p = Plain(7)
            ref = weakref.ref(box.n)
            box.t = None; seen = list(log)
            box.n = None; alive = ref() is not None
            return seen, alive

        plain = Plain(9)
        before = sys.getrefcount(plain)
        with tracetape.record(sys.argv[1]):
            print(work())
            box = Box()
            box.p = plain
            box.p = None
            del box
        print(sys.getrefcount(plain) - before)
    '''))
    status, out, err = run([sys.executable, str(script), "t.tape"], tmp_path, backend)
    assert status == 0, err
    assert out.split() == ["([5],", "False)", "0"], (out, err)
    work = [e for e in dump(tmp_path / "t.tape", tmp_path) if e["func"] == "work"]
    assert any(e["locals"].get("box", "").startswith("Box(t=Tracked(5), n=Name('nnnn") for e in work), work
    assert any("p=Plain(7)" in e["locals"].get("box", "") for e in work), work


@needs_monitoring
def test_the_tool_id_is_given_back_and_a_full_table_is_a_clear_error(tmp_path):
    script = tmp_path / "tools.py"
    script.write_text(textwrap.dedent('''\
        import json, sys, tracetape
        mon = sys.monitoring
        out = {}
        with tracetape.record(sys.argv[1]):
            out["during"] = [i for i in range(6) if mon.get_tool(i) == "tracetape"]
        out["after"] = [i for i in range(6) if mon.get_tool(i) is not None]
        out["events_after"] = [mon.get_events(i) for i in range(6)]
        for i in (0, 2, 3, 4):
            mon.use_tool_id(i, "other")
        try:
            tracetape.start(sys.argv[2], backend="monitoring")
        except ValueError as exc:
            out["error"] = str(exc)
        out["recording"] = tracetape.is_recording()
        print(json.dumps(out))
    '''))
    status, out, err = run([sys.executable, str(script), "a.tape", "b.tape"], tmp_path, "monitoring")
    assert status == 0, err
    result = json.loads(out)
    assert len(result["during"]) == 1
    assert result["after"] == []
    assert result["events_after"] == [0] * 6
    assert "no sys.monitoring tool id is free" in result["error"]
    assert result["recording"] is False


FORKS = """\
import os
import sys


def work(tag, n):
    total = 0
    for i in range(n):
        total += i
    return total


def parent():
    marker = "before"
    count = 7
    pid = os.fork()
    if pid == 0:
        work("child", 3)
        sys.exit(0)
    os.waitpid(pid, 0)
    return work("parent", 2)


parent()
"""


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_forked_child_gets_its_own_tape_starting_from_its_stack(tmp_path, backend):
    # The child's tape adopts the frames the fork happened in, with their
    # lines and locals, then records what only the child does.
    script = tmp_path / "forks.py"
    script.write_text(FORKS)
    status, _, err = run(tracetape_cmd("record", "-o", "run.tape", str(script)), tmp_path, backend)
    assert status == 0, err
    children = [p for p in tmp_path.glob("run.*.tape")]
    assert len(children) == 1, sorted(p.name for p in tmp_path.iterdir())
    child = children[0]
    parent_calls = [e["locals"]["tag"] for e in dump(tmp_path / "run.tape", tmp_path)
                    if e["kind"] == "call" and e["func"] == "work"]
    assert parent_calls == ["'parent'"]
    events = dump(child, tmp_path)
    assert [e["locals"]["tag"] for e in events if e["kind"] == "call" and e["func"] == "work"] == ["'child'"]
    # The first event is the child's own, in the adopted frame of parent().
    first = events[0]
    assert (first["func"], first["depth"]) == ("parent", 2), first
    assert first["locals"]["marker"] == "'before'"
    assert first["locals"]["count"] == "7"  # an int the hook keeps as a word
    # The module's adopted frame stands where it stood at the fork, at its
    # call of parent(); parent() is at the child's first event, line 16.
    proc = subprocess.run(tracetape_cmd("replay", str(child), "--goto", "0", "--batch"), cwd=str(tmp_path),
                          env=child_env(), input=b"w\n", stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    text = proc.stdout.decode()
    assert proc.returncode == 0, proc.stderr.decode()
    assert "forks.py(23)<module>()" in text, text
    assert "forks.py(16)parent()" in text, text


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_fork_under_recording_warns_no_more_than_without(tmp_path, backend):
    # CPython (3.12+) warns when a multi-threaded process forks; 3.13 counts
    # the threads after the fork hooks have run, when the parent's writer used
    # to be running again: every fork of a recorded program printed a
    # DeprecationWarning that plain python does not.
    # The parent's tape is still complete, with the events after the fork.
    script = tmp_path / "forks.py"
    script.write_text(FORKS)
    plain = subprocess.run([sys.executable, "-W", "always::DeprecationWarning", str(script)], cwd=str(tmp_path),
                           env=child_env(), capture_output=True, text=True, timeout=60)
    status, _, err = run([sys.executable, "-W", "always::DeprecationWarning", "-m", "tracetape", "record",
                          "-o", "run.tape", str(script)], tmp_path, backend)
    assert status == plain.returncode == 0, err
    assert "multi-threaded" not in plain.stderr, plain.stderr  # a single-threaded program
    assert "multi-threaded" not in err, err
    info = subprocess.run(tracetape_cmd("info", "run.tape"), cwd=str(tmp_path), env=child_env(),
                          capture_output=True, text=True, timeout=60)
    assert "complete" in info.stdout and "incomplete" not in info.stdout, info.stdout
    calls = [e["locals"]["tag"] for e in dump(tmp_path / "run.tape", tmp_path)
             if e["kind"] == "call" and e["func"] == "work"]
    assert calls == ["'parent'"]


DISCARDS_THEN_FORKS = """\
import os
import sys
import time
import tracetape

def work(n):
    total = n * 2
    return total

kept = []
for i in range(30):
    tracetape.start("t%d.tape" % i, include=[os.getcwd()])
    work(i)
    time.sleep(0.005)  # the writer, done, naps
    # pytest --tape's passing test: the writer, napping, is left to end by itself.
    tracetape.stop(discard=True, keep_hook=True)
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    kept.append(os.waitstatus_to_exitcode(status))
tracetape.start("last.tape", include=[os.getcwd()])
work(99)
tracetape.stop()
print(kept.count(0), sorted(os.listdir(".")))
"""


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_fork_right_after_discarded_recordings_warns_no_more_than_without(tmp_path, backend):
    # A discarded recording's writer thread, napping, is not waited for; a
    # fork right after must still be from a process without it (CPython
    # 3.12+ warns of a fork with threads). The left threads take 20 ms to
    # end here, as on a busy machine.
    script = tmp_path / "discards.py"
    script.write_text(DISCARDS_THEN_FORKS)
    env = dict(child_env(backend), TRACETAPE_TEST_LEFT_WRITER_LINGER_US="20000")
    proc = subprocess.run([sys.executable, "-W", "always::DeprecationWarning", str(script)], cwd=str(tmp_path),
                          env=env, capture_output=True, text=True, timeout=120)
    status, out, err = proc.returncode, proc.stdout, proc.stderr
    assert status == 0, err
    assert "multi-threaded" not in err, err
    assert out.strip() == "30 ['discards.py', 'last.tape']", out
    events = dump(tmp_path / "last.tape", tmp_path)
    assert [e["value"] for e in events if e["kind"] == "return" and e["func"] == "work"] == ["198"]



NEW_THREAD = """\
import threading

def work(n):
    total = n * 2
    return total

t = threading.Thread(target=work, args=(21,))
t.start()
t.join()
"""


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_new_thread_s_first_call_is_recorded_with_threading_in_scope(tmp_path, backend):
    # threading.settrace's hook gets the new thread's first call (its run(),
    # in threading.py) and installs the C hook from there: that call is an
    # event, not a frame adopted at its first line. Its bootstrap frames,
    # which began before, are adopted; below them the thread's events are
    # the reference's, depth for depth.
    from conftest import REFERENCE
    events, scope = record_new_thread_with_threading_in_scope(tmp_path, backend)
    recorded = [e for e in events if e["thread"] != 0]
    status, _, err = run([sys.executable, str(REFERENCE), "-o", "ref.jsonl", *scope, "prog.py"], tmp_path)
    assert status == 0, err
    reference = [e for e in parse_jsonl((tmp_path / "ref.jsonl").read_text(), "reference")
                 if e["thread"] != 0]
    first = reference[0]
    assert (first["kind"], first["func"], first["depth"]) == ("call", "run", 1), first
    # The recorded thread's frames above its adopted or earlier-called ones.
    start = next((i for i, e in enumerate(recorded) if e["kind"] == "call" and e["func"] == "run"), None)
    assert start is not None, "no call event of the thread's run(): %s" % recorded[:3]
    base = recorded[start]["depth"] - 1
    mine = [dict(e, depth=e["depth"] - base) for e in recorded[start:] if e["depth"] > base]
    assert compared(mine, unstable=("self",)) == compared(reference, unstable=("self",))
    if backend == "settrace":
        # Nothing of the thread before run(): its bootstrap frames began unseen.
        assert start == 0, recorded[:3]


def record_new_thread_with_threading_in_scope(tmp_path, backend):
    """NEW_THREAD recorded with threading.py and the program in scope: the
    dumped events and the scope options."""
    import threading
    (tmp_path / "prog.py").write_text(NEW_THREAD)
    scope = ("--include", os.path.dirname(threading.__file__), "--include", str(tmp_path))
    status, _, err = run(tracetape_cmd("record", "-o", "t.tape", *scope, "prog.py"), tmp_path, backend)
    assert status == 0, err
    return dump(tmp_path / "t.tape", tmp_path), scope


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_runner_s_own_calls_into_the_standard_library_are_not_recorded(tmp_path, backend):
    # With the standard library in scope, what tracetape itself calls there
    # (threading.settrace when it starts and stops, threading.enumerate while
    # it waits for the program's threads as the interpreter does at exit) is
    # not the program's: the main thread's events are its module's, and the
    # thread it started is recorded to its end.
    events, _ = record_new_thread_with_threading_in_scope(tmp_path, backend)
    main = [e for e in events if e["thread"] == 0]
    assert (main[0]["kind"], main[0]["func"]) == ("call", "<module>"), main[:2]
    assert (main[-1]["kind"], main[-1]["func"]) == ("return", "<module>"), main[-3:]
    assert any(e["func"] == "work" and e["kind"] == "return" and e["value"] == "42" for e in events)


SIGNAL_AT_EXIT = """\
import os
import signal
import threading
import time

seen = []


def handler(signum, frame):
    seen.append(signum)
    note = "handled %d" % len(seen)
    print(note, flush=True)


def late(main_ident):
    time.sleep(0.3)  # the main module has ended: the main thread waits in its join
    signal.pthread_kill(main_ident, signal.SIGUSR1)
    time.sleep(0.3)


signal.signal(signal.SIGUSR1, handler)
threading.Thread(target=late, args=(threading.get_ident(),)).start()
"""


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("stdlib_in_scope", [False, True])
def test_the_program_s_code_that_runs_after_its_main_module_is_recorded(tmp_path, backend, stdlib_in_scope):
    # After the main module, the main thread waits for the program's threads
    # (as the interpreter does at exit); a signal handler of the program runs
    # there and is the program's, recorded, while the runner's own calls into
    # threading.py are not, even with the standard library in scope.
    import threading
    (tmp_path / "prog.py").write_text(SIGNAL_AT_EXIT)
    scope = ("--include", str(tmp_path))
    if stdlib_in_scope:
        scope += ("--include", os.path.dirname(threading.__file__))
    status, out, err = run(tracetape_cmd("record", "-o", "t.tape", *scope, "prog.py"), tmp_path, backend)
    assert status == 0 and "handled 1" in out, (out, err)
    main = [e for e in dump(tmp_path / "t.tape", tmp_path) if e["thread"] == 0]
    end = next(i for i, e in enumerate(main)
               if e["kind"] == "return" and e["func"] == "<module>" and e["depth"] == 1)
    after = [(e["kind"], e["func"], e["depth"]) for e in main[end + 1:]]
    handled = [e for e in main[end + 1:] if e["func"] == "handler"]
    assert after[0] == ("call", "handler", 1), after[:5]
    assert handled[-1]["kind"] == "return" and handled[-1]["locals"]["note"] == "'handled 1'", handled[-1]
    # Nothing of threading.py's on the main thread outside the handler's calls.
    assert all(f == "handler" or d > 1 for _, f, d in after), after


# --- throw() through delegating frames (yield from, await) ------------------

CANCELLED_APP = '''\
import asyncio

async def wait_forever():
    await asyncio.sleep(3600)

async def handler(n):
    try:
        await wait_forever()
    except asyncio.CancelledError:
        return "cancelled %d" % n

async def serve():
    tasks = [asyncio.ensure_future(handler(n)) for n in range(3)]
    await asyncio.sleep(0)
    for t in tasks:
        t.cancel()
    done = [await t for t in tasks]
    return done
'''

CANCELLED_RUNNER = '''\
import asyncio, sys, threading
sys.path.insert(0, sys.argv[1])
import app
print(asyncio.run(app.serve()))
worker = threading.Thread(target=lambda: print(asyncio.run(app.serve())))
worker.start()
worker.join()
'''


@pytest.mark.parametrize("backend", BACKENDS)
def test_cancellation_driven_by_code_out_of_scope_keeps_python_s_depths(tmp_path, backend):
    # asyncio's loop run by a module out of scope (a console script, a server's
    # entry point): each recorded coroutine is entered with an empty stack. The
    # cancellation throws through the awaiting coroutines; those linked frames
    # leave with the one it ran, on the main thread and on another.
    from conftest import run_reference
    from test_record_vs_reference import sequence_report
    rec = tmp_path / "rec"
    rec.mkdir()
    (rec / "app.py").write_text(CANCELLED_APP)
    (tmp_path / "runner.py").write_text(CANCELLED_RUNNER)
    status, out, err = run(tracetape_cmd("record", "-o", "t.tape", "--exclude", str(tmp_path / "runner.py"),
                                         "runner.py", str(rec)), tmp_path, backend)
    assert status == 0, err
    assert out.count("['cancelled 0', 'cancelled 1', 'cancelled 2']") == 2, out
    reference = run_reference(tmp_path / "runner.py", str(rec), options=("--include", str(rec)), cwd=tmp_path)
    assert reference.stdout == out
    events = dump(tmp_path / "t.tape", tmp_path)
    assert "dropped:   0 events" in info(tmp_path / "t.tape", tmp_path)
    for thread in (0, 1):
        got = [e for e in events if e["thread"] == thread]
        want = [e for e in reference.events if e["thread"] == thread]
        assert [e["depth"] for e in got if e["func"] == "wait_forever"][:1] == [2], got
        report = sequence_report(want, got, "thread %d (%s hook)" % (thread, backend))
        assert not report, report


START_INSIDE = '''\
import sys, tracetape

def inner():
    while True:
        try:
            yield 1
        except KeyError:
            tracetape.start(sys.argv[1])
            x = 1
            yield x

def middle():
    yield from inner()

def outer():
    yield from middle()

def after():
    return 3

def main():
    g = outer()
    next(g)
    g.throw(KeyError("k"))
    y = after()
    next(g)
    z = after()
    tracetape.stop()
    return y + z

print(main())
'''


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_recording_started_inside_a_generator_a_throw_ran_adopts_its_linked_frames(tmp_path, backend):
    # tracetape.start() in the generator that g.throw() ran: its callers are
    # adopted, the delegating frames among them leave with it when it yields,
    # and main's calls after that are at main's depth plus one.
    (tmp_path / "prog.py").write_text(START_INSIDE)
    status, out, err = run([sys.executable, "prog.py", "t.tape"], tmp_path, backend)
    assert status == 0 and out == "6\n", (out, err)
    events = dump(tmp_path / "t.tape", tmp_path)
    assert "dropped:   0 events" in info(tmp_path / "t.tape", tmp_path)
    depths = {(e["func"], e["kind"]): e["depth"] for e in events}
    assert depths[("inner", "line")] == 5  # <module>, main, outer, middle, inner
    assert [e["depth"] for e in events if e["func"] == "after" and e["kind"] == "call"] == [3, 3]
    assert {e["depth"] for e in events if e["func"] == "main"} == {2}
    status, _, err = run(tracetape_cmd("verify", "t.tape"), tmp_path)
    assert status == 0, err


MANY_THROWS = '''\
def inner():
    while True:
        try:
            yield 1
        except KeyError:
            pass

def middle():
    yield from inner()

def outer():
    yield from middle()

def main():
    g = outer()
    next(g)
    for i in range(300):
        g.throw(KeyError(i))

main()
'''


@pytest.mark.parametrize("backend", BACKENDS)
def test_throws_through_delegating_frames_in_a_loop_do_not_grow_the_tape_by_a_chunk_each(tmp_path, backend):
    # Each throw whose linked frames are put on the tape costs two chunks: past
    # the first 256 (and then one per MiB of records), the generator's events
    # keep the depth without them, and the recording says so at its end.
    (tmp_path / "prog.py").write_text(MANY_THROWS)
    status, _, err = run(tracetape_cmd("record", "-o", "t.tape", "prog.py"), tmp_path, backend)
    assert status == 0, err
    assert ("tracetape: warning: 44 calls of generators that throw() ran through delegating frames (yield from, "
            "await) were recorded without those frames, their depth one less per frame than Python's: 256 were "
            "recorded with them, at most 256 and then one per MiB of records") in err, err
    text = info(tmp_path / "t.tape", tmp_path)
    chunks = int(text.split(" chunks")[0].split()[-1].replace(",", ""))
    assert 2 * 256 <= chunks < 2 * 256 + 20, text
    calls = [e["depth"] for e in dump(tmp_path / "t.tape", tmp_path) if e["kind"] == "call" and e["func"] == "inner"]
    # next() under <module>, main, outer and middle; 256 throws with the linked
    # frames; 44 without; then the close when main's g goes (not linked).
    assert calls == [5] + [5] * 256 + [3] * 44 + [2], calls


STARTED_UNDER_RUNNING_GENERATORS = {
    # A generator that really runs (a send() in progress), not one a throw()
    # linked: later calls from it are at its depth plus one.
    "sent": ('''\
import sys, tracetape
def consumer():
    total = 0
    while True:
        v = yield total
        if v == 2:
            tracetape.start(sys.argv[1])
        total += v
def h(x):
    return x * 2
def producer():
    g = consumer(); next(g)
    for i in range(5):
        yield h(g.send(i))
def main():
    out = list(producer())
    tracetape.stop()
    return out
print(main())
''', "h", 4),
    # A generator that runs asyncio.run(): each resume of the coroutine comes
    # from the loop's frames, and the generator under them is not linked (it
    # was, at every loop step, before the suspended-at-a-yield check).
    "loop": ('''\
import asyncio, sys, tracetape
async def work(i):
    await asyncio.sleep(0)
    return i
async def main():
    tracetape.start(sys.argv[1])
    total = 0
    for i in range(300):
        total += await work(i)
    return total
def jobs():
    yield asyncio.run(main())
    tracetape.stop()
print(list(jobs()))
''', "work", 4),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", sorted(STARTED_UNDER_RUNNING_GENERATORS))
def test_generators_that_really_run_are_not_taken_for_frames_a_throw_linked(tmp_path, backend, case):
    source, func, depth = STARTED_UNDER_RUNNING_GENERATORS[case]
    (tmp_path / "prog.py").write_text(source)
    status, out, err = run([sys.executable, "prog.py", "t.tape"], tmp_path, backend)
    assert status == 0, err
    assert "warning" not in err, err
    events = dump(tmp_path / "t.tape", tmp_path)
    calls = [e["depth"] for e in events if e["kind"] == "call" and e["func"] == func]
    assert calls and set(calls) == {depth}, calls
    text = info(tmp_path / "t.tape", tmp_path)
    assert "dropped:   0 events" in text, text
    chunks = int(text.split(" chunks")[0].split()[-1].replace(",", ""))
    assert chunks <= 3, text
