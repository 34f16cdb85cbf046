"""`tracetape export` (DESIGN section 2) on real recordings: the Chrome trace and the
speedscope file show each thread's frames as the tape's calls and returns say, with the
event number as the time axis; frames that began before the recording (tracetape.start()
in a nested function) open at its first event; what never returned closes at the end.

The expected frames come from `dump --format jsonl` of the same tape: a call event opens a
frame at its index, its return closes it just after, with the return value.
"""

import json
import subprocess
import sys

import pytest

from conftest import PROGRAMS, child_env, parse_jsonl, tracetape_cmd

UNFINISHED = "(the recording ended before it returned)"


def run(args, cwd):
    proc = subprocess.run(tracetape_cmd(*args), cwd=str(cwd), env=child_env(), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    return proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")


def expected_spans(events):
    """[(thread, 'B'|'E', at, qualname or return text)] in tape order, from jsonl
    events of a recording that adopted no frame."""
    spans = []
    open_frames = {}
    end = 0
    for e in events:
        t = e["thread"]
        n = open_frames.get(t, 0)
        if e["kind"] == "call":
            assert n == e["depth"] - 1, e
            spans.append((t, "B", e["i"], e["qualname"]))
            n += 1
        else:
            assert n == e["depth"], e
        if e["kind"] == "return":
            spans.append((t, "E", e["i"] + 1, e.get("value", "None")))
            n -= 1
        open_frames[t] = n
        end = e["i"] + 1
    for t, n in sorted(open_frames.items()):
        spans.extend([(t, "E", end, UNFINISHED)] * n)
    return spans


def chrome_spans(trace):
    spans, raised = [], []
    for e in trace["traceEvents"]:
        assert {"ph", "pid", "tid"} <= set(e), e
        if e["ph"] == "B":
            assert {"file", "line"} <= set(e["args"]), e
            spans.append((e["tid"], "B", e["ts"], e["name"]))
        elif e["ph"] == "E":
            spans.append((e["tid"], "E", e["ts"], e["args"]["return"]))
        elif e["ph"] == "i":
            raised.append((e["tid"], e["ts"], e["args"]["exception"]))
        else:
            assert e["ph"] == "M", e
    return spans, raised


def by_thread(spans):
    return sorted(spans, key=lambda s: s[0])  # stable: each thread's own order kept


def speedscope_spans(doc):
    assert doc["$schema"] == "https://www.speedscope.app/file-format-schema.json"
    assert isinstance(doc["version"], str)  # declared by speedscope's File type
    frames = doc["shared"]["frames"]
    spans = []
    for profile in doc["profiles"]:
        assert profile["type"] == "evented" and profile["unit"] == "none"
        thread = int(profile["name"].split()[1])
        stack, last = [], profile["startValue"]
        for e in profile["events"]:
            assert last <= e["at"] <= profile["endValue"], e
            last = e["at"]
            name = frames[e["frame"]]["name"]
            if e["type"] == "O":
                stack.append(name)
                spans.append((thread, "B", e["at"], name))
            else:
                assert e["type"] == "C" and stack and stack.pop() == name, e
                spans.append((thread, "E", e["at"], None))
        assert not stack
    return spans


SAMPLES = [p for p in PROGRAMS if p.name in (
    "threads", "recursion", "generators", "generator_resumes", "exceptions_caught", "uncaught", "async_tasks",
    "thread_switches", "closures", "sys_exit")]


@pytest.mark.parametrize("prog", SAMPLES, ids=[p.name for p in SAMPLES])
def test_export_shows_the_frames_of_the_tape(prog, tmp_path):
    status, _, err = run(["record", "-o", "run.tape", str(prog.path), *prog.args], tmp_path)
    assert status == prog.exit, err
    status, out, err = run(["dump", "run.tape", "--format", "jsonl"], tmp_path)
    assert status == 0, err
    events = parse_jsonl(out, "dump")
    want = expected_spans(events)
    assert any(s[1] == "E" and s[3] != UNFINISHED for s in want)

    status, _, err = run(["export", "run.tape"], tmp_path)
    assert status == 0, err
    assert "run.trace.json" in err
    trace = json.loads((tmp_path / "run.trace.json").read_text(encoding="utf-8"))
    got, raised = chrome_spans(trace)
    assert by_thread(got) == by_thread(want)
    assert [s[2] for s in got] == sorted(s[2] for s in got), "events in time order"
    assert raised == [(e["thread"], e["i"], e["value"]) for e in events if e["kind"] == "exception"]
    names = {e["tid"]: e["args"]["name"] for e in trace["traceEvents"] if e.get("name") == "thread_name"}
    assert names[0] == "MainThread"
    assert set(names) == {e["thread"] for e in events}

    status, _, err = run(["export", "run.tape", "--format", "speedscope", "-o", "run.ss.json"], tmp_path)
    assert status == 0, err
    doc = json.loads((tmp_path / "run.ss.json").read_text(encoding="utf-8"))
    assert by_thread(speedscope_spans(doc)) == [(t, k, at, name if k == "B" else None)
                                                for t, k, at, name in by_thread(want)]


ADOPT = """\
import tracetape

def leaf(x):
    return x * 2

def inner():
    tracetape.start("adopt.tape")
    y = leaf(3)
    tracetape.stop()
    return y

def outer():
    return inner()

outer()
"""


def test_frames_that_began_before_the_recording_open_at_its_first_event(tmp_path):
    (tmp_path / "adopt.py").write_text(ADOPT)
    proc = subprocess.run([sys.executable, "adopt.py"], cwd=str(tmp_path), env=child_env(), timeout=300)
    assert proc.returncode == 0
    status, out, err = run(["export", "adopt.tape", "-o", "-"], tmp_path)
    assert status == 0, err
    got, _ = chrome_spans(json.loads(out))
    assert got == [(0, "B", 0, "<module>"), (0, "B", 0, "outer"), (0, "B", 0, "inner"), (0, "B", 1, "leaf"),
                   (0, "E", 4, "6"), (0, "E", 5, UNFINISHED), (0, "E", 5, UNFINISHED), (0, "E", 5, UNFINISHED)]


def test_export_errors_name_the_problem(tmp_path):
    status, _, err = run(["export", "nothing.tape"], tmp_path)
    assert status == 1 and "nothing.tape" in err
    (tmp_path / "junk.tape").write_bytes(b"not a tape at all")
    status, _, err = run(["export", "junk.tape"], tmp_path)
    assert status == 1 and "error" in err and "Traceback" not in err
    assert not (tmp_path / "junk.trace.json").exists()
    status, _, err = run(["export", "junk.tape", "--format", "svg"], tmp_path)
    assert status == 2 and "chrome or speedscope" in err
    status, out, _ = run(["--help"], tmp_path)
    assert status == 0 and "export" in out
