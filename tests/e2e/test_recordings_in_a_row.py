"""Recordings one after another in one process (`pytest --tape` records each test):
what one recording leaves for the next (its ring, its redactor, and with
``stop(keep_hook=True)`` its idle sys.monitoring hook) must not show in the next
tape. Each tape of a run of several recordings is compared with the same
recording made alone in a fresh process.
"""

import os
import subprocess
import sys
import textwrap

import pytest

from conftest import BACKENDS, child_env, parse_jsonl, tracetape_cmd, sequence_report, normalise

PROGRAM = textwrap.dedent("""\
    import os
    import sys
    import tracetape

    def long_run(n):
        # Wraps the 4 MiB ring several times: every line changes a long text.
        text = "x" * 200
        total = 0
        for i in range(n):
            text = text[1:] + chr(97 + i % 26)
            total += len(text)
        return total

    def short(token, n):
        # `token` is redacted (the redactor kept from the last recording
        # must still say so); `n` is not.
        out = []
        for i in range(n):
            out.append(i * n)
        return out

    def between(n):
        # In scope, run while no recording is on.
        s = 0
        for i in range(n):
            s += i
        return s

    class Person:
        # A slotted class: its slots' redaction is kept with its layout,
        # decided again for each recording's patterns.
        __slots__ = ("name", "ssn", "password")

        def __init__(self, name, ssn, password):
            self.name = name
            self.ssn = ssn
            self.password = password

    def slotted(n):
        people = [Person("p%d" % i, "123-%d" % i, "pw") for i in range(n)]
        return people[-1].name

    def free_tracetape_tool():
        monitoring = getattr(sys, "monitoring", None)
        for tool in range(6) if monitoring else ():
            if monitoring.get_tool(tool) == "tracetape":
                monitoring.free_tool_id(tool)

    PHASES = {
        "long": (lambda: long_run(60000), {}),
        "short": (lambda: short("hunter2", 5), {}),
        # The options of "short": the hook parked after it is taken back,
        # and `between`, run while it was parked, is recorded now.
        "again": (lambda: (between(3), short("w", 1)), {}),
        # The same, after the program freed the parked hook's tool id.
        "freed": (lambda: (between(2), short("v", 2)), {}),
        "narrow": (lambda: (between(3), short("x", 2)), {"include": ["*/prog.py"], "exclude": ["*nothing*"]}),
        "none": (lambda: short("y", 3), {"locals": "none"}),
        "settrace": (lambda: short("z", 4), {"backend": "settrace"}),
        "slots": (lambda: slotted(2), {}),
        "slotsredact": (lambda: slotted(2), {"redact": ["ssn"]}),
    }

    keep = sys.argv[1] == "keep"
    for name in sys.argv[2:]:
        work, options = PHASES[name]
        if name == "freed":
            free_tracetape_tool()
        if options.get("backend") == "settrace" and os.environ.get("TRACETAPE_BACKEND") != "monitoring":
            options = {}
        tracetape.start(os.path.join("tapes", name + ".tape"), ring_mb=4, **options)
        work()
        tracetape.stop(keep_hook=keep)
        between(1000)
    if keep:
        monitoring = getattr(sys, "monitoring", None)
        tools = [monitoring.get_tool(i) for i in range(6)] if monitoring else []
        print("kept" if "tracetape" in tools else "none kept")
        tracetape.release_hook()
        tools = [monitoring.get_tool(i) for i in range(6)] if monitoring else []
        print("after release", "tracetape" in tools)
    print("done", between(10))
""")

PHASES = ["long", "short", "again", "freed", "narrow", "none", "short", "settrace", "short",
          "slots", "slotsredact", "slots"]


def run(cmd, cwd, backend):
    proc = subprocess.run(cmd, cwd=str(cwd), env=child_env(backend), capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def events_of(tape, cwd):
    status, out, err = run(tracetape_cmd("dump", str(tape), "--format", "jsonl"), cwd, None)
    assert status == 0, err
    status, _, err = run(tracetape_cmd("verify", str(tape)), cwd, None)
    assert status == 0, err
    return [normalise(e) for e in parse_jsonl(out, str(tape))]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("keep", ["keep", "release"])
def test_each_tape_of_a_row_is_the_tape_of_a_fresh_process(tmp_path, backend, keep):
    row = tmp_path / "row"
    (row / "tapes").mkdir(parents=True)
    script = row / "prog.py"
    script.write_text(PROGRAM)
    status, out, err = run([sys.executable, str(script), keep, *PHASES], row, backend)
    assert status == 0, err
    assert err == "", err
    lines = out.splitlines()
    if keep == "keep" and backend == "monitoring":
        # The last recording (settrace, then short) left the hook idle.
        assert lines[:2] == ["kept", "after release False"], out
    elif keep == "keep":
        assert lines[:2] == ["none kept", "after release False"], out
    assert lines[-1] == "done 45", out

    for name in dict.fromkeys(PHASES):
        alone = tmp_path / ("alone-" + name)
        (alone / "tapes").mkdir(parents=True)
        (alone / "prog.py").write_text(PROGRAM)
        status, _, err = run([sys.executable, str(alone / "prog.py"), keep, name], alone, backend)
        assert status == 0, err
        expected = events_of(alone / "tapes" / (name + ".tape"), alone)
        got = events_of(row / "tapes" / (name + ".tape"), row)
        # The files differ by their directory only.
        for e in expected + got:
            e["file"] = os.path.basename(e["file"] or "")
        assert expected, name
        assert got == expected, sequence_report(expected, got, "%s (%s, %s)" % (name, backend, keep))
        if name == "short":
            calls = [e for e in got if e["kind"] == "call" and e["func"] == "short"]
            assert calls[0]["locals"]["token"] == "<redacted>", calls
        if name.startswith("slots"):
            people = [e["locals"]["people"] for e in got if e["kind"] == "line" and "people" in e["locals"]]
            ssn = "<redacted>" if name == "slotsredact" else "'123-1'"
            # (Slots show in CPython's order: their names sorted.)
            assert people[-1] == ("[Person(name='p0', password=<redacted>, ssn=%s), "
                                  "Person(name='p1', password=<redacted>, ssn=%s)]"
                                  % (ssn.replace("1'", "0'"), ssn)), people
        if name in ("again", "freed"):
            assert [e["func"] for e in got if e["kind"] == "call"] == ["<lambda>", "between", "short"], got
        if name == "narrow":
            # `between` ran in scope before every recording but was recorded
            # only where the recording itself called it.
            assert [e["func"] for e in got if e["kind"] == "call"] == ["<lambda>", "between", "short"], got


def test_the_ring_of_a_long_recording_is_given_back_when_it_stops(tmp_path):
    # The ring is kept for the next recording, but only its first 2 MiB: a
    # long recording touched all 32, and they go back to the kernel at stop.
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent("""\
        import tracetape

        def rss_kib():
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])

        def long_run(n):
            text = "x" * 400
            for i in range(n):
                text = text[1:] + chr(97 + i % 26)
            return text

        before = rss_kib()
        tracetape.start("long.tape")
        long_run(250000)
        during = rss_kib()
        tracetape.stop(discard=True)
        after = rss_kib()
        print(during - before, after - before)
        """))
    proc = subprocess.run([sys.executable, str(script)], cwd=str(tmp_path), env=child_env(), capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    during, after = (int(x) for x in proc.stdout.split())
    assert during > 32 * 1024, proc.stdout  # the whole ring was written
    assert after < during - 24 * 1024, proc.stdout
