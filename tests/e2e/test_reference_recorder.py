"""Checks of the reference recorder itself, on the sample programs.

The reference is the oracle of test_record_vs_reference.py; these tests pin down that it
runs programs exactly like `python SCRIPT` and records what sys.settrace reports.
"""

import json
import os

import pytest

from conftest import (PROGRAMS, PROGRAM_IDS, REFERENCE, SAMPLES_DIR, by_thread, program,
                      run_plain, run_reference, well_formed_problems)

RENDER_REFERENCE = REFERENCE.with_name("render_reference.py")


# Programs that throw() into generators through delegating frames: CPython
# links those above the generator it runs, without an event (they are on
# sys._getframe()'s stack, not among the open calls), until it returns or
# yields. A frame called so may be deeper than its caller by more than one,
# and (3.11) a delegating frame may go on without a call event.
LINKED_FRAMES = {"throw_delegating"}


def stack_problems(events, linked=False):
    """Per thread, `depth` must be the number of open recorded frames (call/return),
    plus, with `linked`, the frames linked under a generator that throw() ran."""
    problems = []
    for thread, seq in by_thread(events).items():
        open_frames = []  # (file, func, depth)
        for event in seq:
            kind = event["kind"]
            expected = (open_frames[-1][2] if open_frames else 0) + (kind == "call")
            if kind == "call":
                if linked and event["depth"] > expected:
                    expected = event["depth"]
                open_frames.append((event["file"], event["func"], expected))
            elif not open_frames or open_frames[-1][:2] != (event["file"], event["func"]):
                # 3.11 resumes a delegating frame whose subgenerator returned
                # from a throw() without a call event: its events come first.
                if linked and event["depth"] > (open_frames[-1][2] if open_frames else 0):
                    expected = event["depth"]
                    open_frames.append((event["file"], event["func"], expected))
                else:
                    problems.append("event %d (%s in %s) outside its frame" % (
                        event["i"], kind, event["func"]))
                    break
            if event["depth"] != expected:
                problems.append("event %d: depth %d, %d recorded frames open" % (
                    event["i"], event["depth"], expected))
                break
            if kind == "return":
                open_frames.pop()
        if open_frames:
            problems.append("thread %s ends with %d frames open" % (thread, len(open_frames)))
    return problems


@pytest.mark.parametrize("prog", PROGRAMS, ids=PROGRAM_IDS)
def test_reference_runs_the_program_like_python(prog, reference_runs):
    plain = run_plain(prog.path, *prog.args)
    ref = reference_runs.reference(prog)
    assert plain.status == prog.exit, plain.stderr
    assert (ref.status, ref.stdout, ref.stderr) == (plain.status, plain.stdout,
                                                    plain.stderr)


@pytest.mark.parametrize("prog", PROGRAMS, ids=PROGRAM_IDS)
def test_reference_output_is_well_formed(prog, reference_runs):
    events = reference_runs.reference(prog).events
    assert events, "nothing recorded"
    assert well_formed_problems(events, "reference") == []
    assert stack_problems(events, linked=prog.name in LINKED_FRAMES) == []
    if prog.name in LINKED_FRAMES:  # and it does link some
        assert stack_problems(events) != []
    files = {e["file"] for e in events}
    assert files <= {str(p) for p in SAMPLES_DIR.glob("*.py")}
    assert str(prog.path) in files
    assert len(events) < 20000
    first = events[0]
    assert (first["kind"], first["func"], first["depth"], first["thread"]) == (
        "call", "<module>", 1, 0)
    # The main thread's last event (a thread may outlive the main module).
    last = [e for e in events if e["thread"] == 0][-1]
    assert (last["kind"], last["func"], last["depth"], last["thread"]) == (
        "return", "<module>", 1, 0)


@pytest.mark.parametrize("prog", [p for p in PROGRAMS if p.canaries],
                         ids=[p.name for p in PROGRAMS if p.canaries])
def test_reference_never_records_canaries(prog, reference_runs):
    events = reference_runs.reference(prog).events
    text = json.dumps(events)
    for canary in prog.canaries:
        assert canary not in text
    assert "<redacted>" in text


def test_reference_does_not_record_itself(tmp_path):
    # Even when its own directory is included, the reference skips its own files.
    prog = program("recursion")
    run = run_reference(prog.path, options=["--include", str(REFERENCE.parent),
                                            "--include", str(SAMPLES_DIR)],
                        cwd=tmp_path)
    files = {e["file"] for e in run.events}
    assert files == {str(prog.path)}
    assert str(REFERENCE) not in files and str(RENDER_REFERENCE) not in files


def test_include_selects_the_recorded_directories(tmp_path):
    prog = program("uses_helpers")
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    nothing = run_reference(prog.path, options=["--include", str(empty)], cwd=tmp_path)
    assert nothing.status == 0 and nothing.events == []
    everything = run_reference(prog.path, cwd=tmp_path)
    helper = [e for e in everything.events if e["file"].endswith("helpers_mod.py")]
    assert helper[0]["kind"] == "call" and helper[0]["func"] == "<module>"
    # Imported from main's module body through the (unrecorded) import system.
    assert helper[0]["depth"] == 2


def test_uncaught_exception_events_and_traceback(reference_runs):
    run = reference_runs.reference(program("uncaught"))
    assert run.status == 1
    exc, ret = run.events[-2:]
    assert (exc["kind"], exc["func"], exc["depth"]) == ("exception", "<module>", 1)
    assert exc["value"] == "ConfigError: line 2 is malformed: 'broken line'"
    assert ret["value"] == "None"
    assert "reference.py" not in run.stderr
    assert run.stderr.startswith("Traceback (most recent call last):")
    assert "The above exception was the direct cause" in run.stderr


def test_sys_exit_events(reference_runs):
    run = reference_runs.reference(program("sys_exit"))
    assert run.status == 3
    values = [(e["func"], e["value"]) for e in run.events if e["kind"] == "exception"]
    assert values == [("check", "SystemExit: 3"), ("run", "SystemExit: 3"),
                      ("<module>", "SystemExit: 3")]


def test_generator_resumes_are_calls(reference_runs):
    events = reference_runs.reference(program("generators")).events
    averager = [e["kind"] for e in events if e["func"] == "averager"]
    # The first `call` starts the generator; each send() resumes it with a `call`,
    # each yield leaves it with a `return`.
    assert averager.count("call") == averager.count("return") >= 5
    closes = [e for e in events if e["func"] == "with_cleanup" and e["kind"] == "exception"]
    assert [e["value"] for e in closes] == ["GeneratorExit"]
    raised = [e["value"] for e in events if e["func"] == "fragile"
              and e["kind"] == "exception"]
    assert raised == ["ValueError: negative item at 2"]


def test_threads_are_numbered_and_recorded_separately(reference_runs):
    events = reference_runs.reference(program("threads")).events
    threads = by_thread(events)
    assert list(threads) == [0, 1, 2, 3]
    for number in (1, 2, 3):
        first = threads[number][0]
        assert (first["kind"], first["func"], first["depth"]) == ("call", "worker", 1)
    assert all(e["func"] not in ("worker", "work", "collatz_steps")
               for e in threads[0])


def test_deleted_locals_disappear(reference_runs):
    events = reference_runs.reference(program("deleted_locals")).events
    shrink = [e for e in events if e["func"] == "shrink"]
    lines = [(e["line"], sorted(e["locals"])) for e in shrink if e["kind"] == "line"]
    by_line = dict(lines)
    first = shrink[0]["line"]
    assert by_line[first + 4] == ["a", "b", "c"]       # before `del a`
    assert by_line[first + 5] == ["b", "c"]            # after it
    assert by_line[first + 9] == ["a", "b", "c"]       # a bound again, before `del b`
    assert by_line[first + 10] == ["a", "c"]
    assert sorted(shrink[-1]["locals"]) == ["a", "c"]
    assert shrink[-1]["locals"]["c"] == "{}"


def test_mutation_shows_in_later_events(reference_runs):
    events = reference_runs.reference(program("mutation")).events
    items = [e["locals"].get("items") for e in events if e["func"] == "main"]
    items = [v for v in items if v is not None]
    assert items[0] == "[5, 3, 8]"
    assert "[5, 3, 8, 1]" in items
    assert items[-1] == "['first', 'x', 'y', 'z', 3, 2, 0, 1, 4]"
    alias = [e["locals"].get("alias") for e in events if e["func"] == "main"]
    assert alias[-1] == items[-1]


def test_locals_modes(reference_runs):
    prog = program("many_locals")
    all_ = reference_runs.reference(prog).events
    args = reference_runs.reference(prog, ("--locals", "args")).events
    none = reference_runs.reference(prog, ("--locals", "none")).events
    assert len(all_) == len(args) == len(none)
    assert all(e["locals"] == {} for e in none)
    for full, only in zip(all_, args):
        assert {k: full["locals"][k] for k in only["locals"]} == only["locals"]
        if full["func"] == "<module>":
            assert only["locals"] == {}
        if full["func"] == "params" and full["kind"] == "return":
            assert sorted(only["locals"]) == ["a", "b", "c", "d", "extra", "rest"]
            assert "local_only" in full["locals"]


def test_instances_never_run_user_code(reference_runs):
    run = reference_runs.reference(program("instances"))
    assert run.stdout == "13 {}\n"


def test_reference_cli_passes_arguments(tmp_path):
    prog = program("argv_env")
    run = run_reference(prog.path, "x", "--y", "--", "-o", cwd=tmp_path)
    assert run.stdout.splitlines()[0] == "{'flags': ['y', ''], 'words': ['x', '-o']}"
    assert "path[0] is the script dir: True" in run.stdout
    assert "__file__ is absolute: True" in run.stdout
    assert "main module: True" in run.stdout
    assert os.listdir(tmp_path) == ["reference.jsonl"]
