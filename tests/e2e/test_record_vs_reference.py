"""End-to-end: `tracetape record` + `dump --format jsonl` against the reference recorder.

For every sample program, the C++ recorder and the pure-Python reference
(tests/e2e/reference.py, sys.settrace + docs/RENDERING.md) run the program the same
way; the program's exit status and output must be the same, and so must the event
streams: kind, file, func, line, depth, locals and value of every event. Threaded
programs are compared thread by thread, the interleaving being free.
"""

import json
import os
import re
import signal
import subprocess
import sys
import textwrap

import pytest

from conftest import (BACKENDS, PROGRAMS, PROGRAM_IDS, SAMPLES_DIR, child_env, program,
                      program_stderr, run_plain, run_record, run_reference,
                      sequence_report, threaded_report, tracetape_cmd,
                      well_formed_problems)


@pytest.fixture(scope="session")
def tracetape_installed():
    """`python -m tracetape --help` must work: a missing package is a failure."""
    try:
        proc = subprocess.run(tracetape_cmd("--help"), env=child_env(),
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.fail("cannot run `python -m tracetape --help`: %s" % exc, pytrace=False)
    if proc.returncode != 0:
        pytest.fail(
            "tracetape is not installed for this interpreter, or its CLI is broken:\n"
            "`%s -m tracetape --help` exited with status %d\n%s\n"
            "Install it first, e.g. `python -m pip install --no-build-isolation .`."
            % (tracetape_cmd()[0], proc.returncode,
               proc.stderr.decode("utf-8", "replace")[-2000:]), pytrace=False)


@pytest.fixture(autouse=True)
def _requires_tracetape(tracetape_installed):
    pass


def assert_same_run(prog, recorded, reference, title):
    """Exit status, program output and event streams of the two runs are the same."""
    assert recorded.status == reference.status, (
        "%s: exit status %d under tracetape, %d under the reference\n"
        "tracetape stderr:\n%s" % (title, recorded.status, reference.status,
                                  recorded.stderr))
    assert recorded.stdout == reference.stdout, "%s: the program's stdout differs" % title
    assert program_stderr(recorded.stderr) == reference.stderr, (
        "%s: the program's stderr differs (tracetape's 'tracetape:' lines removed)"
        % title)
    problems = well_formed_problems(recorded.events, "tracetape dump")
    assert not problems, "%s: malformed dump:\n%s" % (title, "\n".join(problems))
    if prog.threaded:
        report = threaded_report(reference.events, recorded.events, title)
    else:
        report = sequence_report(reference.events, recorded.events, title)
    if report:
        pytest.fail(report, pytrace=False)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("prog", PROGRAMS, ids=PROGRAM_IDS)
def test_record_matches_reference(prog, backend, reference_runs):
    reference = reference_runs.reference(prog)
    assert reference.status == prog.exit, reference.stderr
    recorded = run_record(prog.path, *prog.args, backend=backend)
    assert_same_run(prog, recorded, reference, "%s (%s hook)" % (prog.name, backend))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("mode", ["args", "none"])
@pytest.mark.parametrize("prog", PROGRAMS, ids=PROGRAM_IDS)
def test_locals_mode_matches_reference(prog, mode, backend, reference_runs):
    options = ("--locals", mode)
    reference = reference_runs.reference(prog, options)
    recorded = run_record(prog.path, *prog.args, options=options, backend=backend)
    assert_same_run(prog, recorded, reference,
                    "%s --locals %s (%s hook)" % (prog.name, mode, backend))
    if mode == "none":
        assert all(event["locals"] == {} for event in recorded.events)


@pytest.mark.parametrize("prog", [p for p in PROGRAMS if p.canaries],
                         ids=[p.name for p in PROGRAMS if p.canaries])
def test_redaction_canaries_never_reach_the_dump(prog):
    recorded = run_record(prog.path, *prog.args)
    text = json.dumps(recorded.events)
    for canary in prog.canaries:
        assert canary not in text, "a redaction canary %r is in the dump" % canary
    assert "<redacted>" in text


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("mode", ["all", "none"])
def test_a_ring_that_fills_loses_nothing(mode, backend, monkeypatch):
    # A 1 MB ring and a writer thread slowed on purpose (a 50 us pause after each
    # 4 KiB it takes, TRACETAPE_TEST_WRITER_PAUSE_US): the hook finds the ring full
    # again and again, and builds each such record aside (the plain, word-delta and
    # general records alike; with --locals none, the emitters of each backend's
    # plain-only path) and waits. The tape is still the reference's, event by event.
    monkeypatch.setenv("TRACETAPE_TEST_WRITER_PAUSE_US", "50")
    prog = program("int_calls")
    locals_option = ("--locals", mode)
    reference = run_reference(prog.path, "20000", options=locals_option)
    recorded = run_record(prog.path, "20000", options=("--ring", "1") + locals_option,
                          backend=backend)
    assert len(reference.events) > 150_000
    full = re.search(r"tracetape: test: (\d+) records found the ring full", recorded.stderr)
    assert full, recorded.stderr
    assert int(full.group(1)) > 100, recorded.stderr
    assert_same_run(prog, recorded, reference,
                    "int_calls, --ring 1 --locals %s (%s hook)" % (mode, backend))


def test_include_glob_matches_reference_include_dir(reference_runs):
    # An --include glob naming the samples directory records what the default scope
    # records: the samples are the only files outside the standard library.
    prog = program("uses_helpers")
    reference = reference_runs.reference(prog)
    recorded = run_record(prog.path, options=("--include", str(SAMPLES_DIR / "*")))
    assert_same_run(prog, recorded, reference, "uses_helpers --include glob")


@pytest.mark.parametrize("form", [".", "./", "../work", "{work}/./", "sub/.."])
def test_include_of_a_directory_by_any_path_records_what_is_below_it(tmp_path, form):
    # `--include .` (or `..` and `.` in the path) names the directory as the
    # file names of code objects do not: it still means every file below it.
    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    prog = program("closures")
    script = work / "closures.py"
    script.write_bytes(prog.path.read_bytes())
    reference = run_reference(script, options=("--include", str(work)), cwd=work)
    recorded = run_record(script, options=("--include", form.format(work=work)), cwd=work)
    assert recorded.events, recorded.stderr
    assert_same_run(prog, recorded, reference, "closures --include %s" % form)


def test_symlinked_script_runs_like_python(tmp_path):
    # `python LINK` puts the directory of the resolved script in sys.path[0], so the
    # script's sibling modules import; __file__ stays the link's path.
    prog = program("uses_helpers")
    links = tmp_path / "links"
    links.mkdir()
    link = links / "linked_program.py"
    os.symlink(prog.path, link)
    plain = run_plain(link, cwd=tmp_path)
    assert plain.status == 0, plain.stderr
    reference = run_reference(link, options=("--include", str(links),
                                             "--include", str(SAMPLES_DIR)),
                              cwd=tmp_path)
    recorded = run_record(link, cwd=tmp_path)
    assert_same_run(prog, recorded, reference, "uses_helpers through a symlink")


@pytest.mark.parametrize("closes", ["sys.stdout", "sys.stderr", "sys.stdout, sys.stderr"])
def test_a_program_that_closes_its_standard_streams_exits_as_under_python(tmp_path, closes):
    # json.tool closes sys.stdout when it is done (`with outfile:`); python then
    # exits 0. The recording must too, with the program's output and its tape.
    script = tmp_path / "closes.py"
    script.write_text(textwrap.dedent("""\
        import sys

        def done(value):
            print("value", value)
            print("to stderr", file=sys.stderr)
            for stream in (%s,):
                stream.close()
            return value

        done(7)
        """ % closes))
    plain = run_plain(script, cwd=tmp_path)
    recorded = run_record(script, cwd=tmp_path)
    assert plain.status == 0, plain.stderr
    assert (recorded.status, recorded.stdout, program_stderr(recorded.stderr)) == (
        plain.status, plain.stdout, plain.stderr), recorded.stderr
    assert "Traceback" not in recorded.stderr
    returns = [e for e in recorded.events if e["kind"] == "return" and e["func"] == "done"]
    assert [e["value"] for e in returns] == ["7"]


def test_a_recording_that_holds_no_events_says_why(tmp_path):
    # The standard library is out of the default scope: recording one of its modules
    # alone gives an empty tape, and the user is told why and what to do.
    data = tmp_path / "x.json"
    data.write_text('{"a": 1}')
    recorded = run_record("-m", "json.tool", str(data), cwd=tmp_path)
    assert recorded.status == 0, recorded.stderr
    assert recorded.events == []
    assert ("tracetape: warning: the tape holds no events: all the code that ran is out of the "
            "default scope") in recorded.stderr and "--include GLOB" in recorded.stderr
    unmatched = run_record(program("uses_helpers").path, options=("--include", str(tmp_path / "none*")),
                           cwd=tmp_path)
    assert unmatched.events == []
    assert "the tape holds no events: no code that ran matched --include" in unmatched.stderr
    recorded = run_record(program("uses_helpers").path, cwd=tmp_path)
    assert recorded.events and "holds no events" not in recorded.stderr


ZIPAPP_MAIN = """\
import sys
import helper

print(sys.argv, sys.path[0], __file__, __name__, type(__loader__).__name__)
print(helper.work(4))
"""
ZIPAPP_HELPER = """\
def work(n):
    total = 0
    for i in range(n):
        total += i * i
    return total
"""


def _tracetape(cwd, *args, stdin=""):
    proc = subprocess.run(tracetape_cmd(*args), cwd=str(cwd), env=child_env(), input=stdin,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.parametrize("packed", ["zipapp", "directory"])
def test_a_zipapp_or_a_directory_runs_as_under_python_with_its_sources(tmp_path, packed):
    # `python app.pyz ARGS` and `python DIR ARGS` run the archive's or directory's
    # __main__.py with it as sys.path[0]; so does the recording, which embeds the
    # sources it read from the archive (no file on disk to read them from).
    import zipapp

    src = tmp_path / "app"
    src.mkdir()
    (src / "__main__.py").write_text(ZIPAPP_MAIN)
    (src / "helper.py").write_text(ZIPAPP_HELPER)
    if packed == "zipapp":
        zipapp.create_archive(str(src), str(tmp_path / "app.pyz"))
        target = "app.pyz"
    else:
        target = "app"
    plain = run_plain(target, "x", "--flag", cwd=tmp_path)
    assert plain.status == 0 and "14" in plain.stdout, plain.stderr
    recorded = run_record(target, "x", "--flag", cwd=tmp_path)
    assert (recorded.status, recorded.stdout, program_stderr(recorded.stderr)) == (
        plain.status, plain.stdout, plain.stderr)
    calls = [(os.path.basename(e["file"]), e["func"]) for e in recorded.events if e["kind"] == "call"]
    assert calls[:3] == [("__main__.py", "<module>"), ("helper.py", "<module>"), ("helper.py", "work")], calls
    status, info = _tracetape(tmp_path, "info", "run.tape")
    assert status == 0 and "2 recorded, 2 with embedded source" in info, info
    assert "omitted" not in info, info
    status, out = _tracetape(tmp_path, "replay", "run.tape", "--batch",
                             stdin="b helper.py:4\nc\nl\nq\n")
    assert "4 B->         total += i * i" in out, out


def test_a_directory_without_main_is_refused_as_by_python(tmp_path):
    (tmp_path / "nomain").mkdir()
    plain = run_plain("nomain", cwd=tmp_path)
    proc = subprocess.run(tracetape_cmd("record", "-o", "t.tape", "nomain"), cwd=str(tmp_path),
                          env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True)
    assert (proc.returncode, plain.status) == (1, 1)
    assert "can't find '__main__' module in 'nomain'" in proc.stderr, proc.stderr


def test_info_counts_only_the_sources_it_embedded(tmp_path):
    # Code compiled under the name of a file that does not exist: recorded, its
    # source omitted, and info does not count it as embedded.
    script = tmp_path / "fake_file.py"
    script.write_text(textwrap.dedent("""\
        ns = {}
        exec(compile("def f(a):\\n    return a + 1\\n", %r, "exec"), ns)
        ns["f"](1)
        """ % str(tmp_path / "not_there.py")))
    recorded = run_record(script, options=("--include", str(tmp_path)), cwd=tmp_path)
    assert [e["func"] for e in recorded.events if e["kind"] == "call"] == ["<module>", "<module>", "f"]
    status, info = _tracetape(tmp_path, "info", "run.tape")
    assert "3 recorded" not in info
    assert "files:     2 recorded, 1 with embedded source" in info, info
    assert "not_there.py  (source omitted: cannot read" in info, info


def test_program_excepthook_reports_its_uncaught_exception(tmp_path):
    # An uncaught exception goes to sys.excepthook as the program left it.
    script = tmp_path / "hooked.py"
    script.write_text(textwrap.dedent("""\
        import sys

        def hook(kind, value, tb):
            sys.stderr.write("custom hook saw %s: %s\\n" % (kind.__name__, value))

        sys.excepthook = hook
        raise ValueError("boom")
        """))
    plain = run_plain(script, cwd=tmp_path)
    assert (plain.status, plain.stderr) == (1, "custom hook saw ValueError: boom\n")
    recorded = run_record(script, cwd=tmp_path)
    assert (recorded.status, recorded.stdout, program_stderr(recorded.stderr)) == (
        plain.status, plain.stdout, plain.stderr)
    # The hook is the program's code, run as the interpreter runs it after the
    # main module: recorded, on its own at depth 1 after the module's return.
    kinds = [(e["kind"], e["func"], e["depth"]) for e in recorded.events]
    end = kinds.index(("return", "<module>", 1))
    assert kinds[end + 1:] == [("call", "hook", 1), ("line", "hook", 1), ("return", "hook", 1)], kinds[end:]


def test_the_console_script_that_launches_record_is_not_recorded(tmp_path):
    # `tracetape record` through pip's console script (bin/tracetape: a file
    # outside site-packages, in the default scope) recorded the launcher's
    # frame under the program's: every depth was one too high, `w` showed it,
    # `info` listed it. A launcher of the same shape:
    launcher = tmp_path / "tracetape-launcher"
    launcher.write_text("import sys\nfrom tracetape.cli import main\n"
                        "if __name__ == '__main__':\n    sys.exit(main())\n")
    script = tmp_path / "prog.py"
    script.write_text("def h(n):\n    t = n + 1\n    return t\n\nprint(h(4))\n")
    tape = tmp_path / "t.tape"
    env = child_env()
    rec = subprocess.run([sys.executable, str(launcher), "record", "-o", str(tape), str(script)],
                         cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=120)
    assert rec.returncode == 0, rec.stderr
    assert rec.stdout == "5\n"
    dump = subprocess.run(tracetape_cmd("dump", str(tape), "--format", "jsonl"), env=env,
                          capture_output=True, text=True, timeout=120)
    events = [json.loads(line) for line in dump.stdout.splitlines()]
    assert [(e["kind"], e["func"], e["depth"]) for e in events[:2]] == [
        ("call", "<module>", 1), ("line", "<module>", 1)], events[:2]
    assert {e["file"] for e in events} == {str(script)}
    info = subprocess.run(tracetape_cmd("info", str(tape)), env=env, capture_output=True,
                          text=True, timeout=120)
    assert str(launcher) not in info.stdout, info.stdout


def test_an_uncaught_keyboard_interrupt_ends_the_process_by_sigint_as_under_python(tmp_path):
    script = tmp_path / "interrupted.py"
    # The program sets Python's own SIGINT handler: a child started in the
    # background (CI) may inherit SIGINT ignored, and then python ignores it.
    script.write_text(textwrap.dedent("""\
        import atexit, os, signal, threading, time

        signal.signal(signal.SIGINT, signal.default_int_handler)
        atexit.register(print, "atexit ran", flush=True)

        def finish_later():
            time.sleep(0.2)
            print("thread finished", flush=True)

        threading.Thread(target=finish_later).start()

        def work():
            for i in range(10):
                if i == 3:
                    os.kill(os.getpid(), signal.SIGINT)
            return i

        work()
        """))
    plain = run_plain(script, cwd=tmp_path)
    recorded = run_record(script, cwd=tmp_path)
    assert plain.status == -signal.SIGINT, plain.stderr
    assert plain.stdout == "thread finished\natexit ran\n", plain.stdout
    # Threads joined and atexit handlers run before the process ends by SIGINT.
    assert (recorded.status, recorded.stdout) == (plain.status, plain.stdout), recorded.stderr
    assert "KeyboardInterrupt" in program_stderr(recorded.stderr)
    assert any(e["kind"] == "exception" and e["value"].startswith("KeyboardInterrupt")
               for e in recorded.events)
    # The thread ran on after the interrupt, as under python: recorded to its end.
    assert any(e["kind"] == "return" and e["func"] == "finish_later" and e["thread"] != 0
               for e in recorded.events)


def test_a_debugger_holding_the_hook_is_not_reported_as_code_out_of_scope(tmp_path):
    # pdb (settrace backend) takes the hook for the whole run: the tape holds
    # no event of the program, but not because the program is out of scope.
    script = tmp_path / "work.py"
    script.write_text("def f():\n    return 1\n\nf()\n")
    env = child_env(backend="settrace")
    proc = subprocess.run(tracetape_cmd("record", "-o", str(tmp_path / "t.tape"), "-m", "pdb", str(script)),
                          input="c\nq\n", cwd=str(tmp_path), env=env, capture_output=True, text=True,
                          timeout=120)
    assert "replaced tracetape's trace function" in proc.stderr, proc.stderr
    assert "out of the default scope" not in proc.stderr, proc.stderr


@pytest.mark.parametrize("module", ["boom", "nosuchmodule"])
def test_record_dash_m_fails_as_python_dash_m_does(tmp_path, module):
    # `python -m` runs runpy._run_module_as_main: its traceback frames, and
    # "python: No module named X" with status 1 for a module it cannot find.
    (tmp_path / "boom.py").write_text("def f():\n    raise ValueError('x')\n\nf()\n")
    env = child_env()
    plain = subprocess.run([sys.executable, "-m", module], cwd=str(tmp_path), env=env, capture_output=True,
                           text=True, timeout=120)
    rec = subprocess.run(tracetape_cmd("record", "-o", "t.tape", "-m", module), cwd=str(tmp_path), env=env,
                         capture_output=True, text=True, timeout=120)
    assert plain.returncode == 1
    assert (rec.returncode, rec.stdout, program_stderr(rec.stderr)) == (plain.returncode, plain.stdout, plain.stderr)
    assert "out of the default scope" not in rec.stderr


MAIN_GLOBALS = """\
import sys
g = dict(globals())
loader = g.get("__loader__")
print([k for k in g if k.startswith("__")])
print(getattr(loader, "__name__", type(loader).__name__), getattr(loader, "name", None),
      getattr(loader, "path", None) == g.get("__file__"), g.get("__annotations__"),
      g.get("__spec__") is None)
"""


@pytest.mark.parametrize("form", ["script", "-c", "-m"])
def test_the_program_s_main_module_holds_what_python_gives_it(tmp_path, form):
    # A program sees the same `__main__` under `tracetape record` as under
    # python: the same dunder names in the same order, its loader
    # (SourceFileLoader for a file, BuiltinImporter for -c) and an empty
    # __annotations__ (inspect, typing and linecache read them).
    (tmp_path / "mainglobals.py").write_text(MAIN_GLOBALS)
    args = {"script": ["mainglobals.py"], "-c": ["-c", MAIN_GLOBALS], "-m": ["-m", "mainglobals"]}[form]
    env = child_env()
    plain = subprocess.run([sys.executable, *args], cwd=str(tmp_path), env=env, capture_output=True,
                           text=True, timeout=120)
    rec = subprocess.run(tracetape_cmd("record", "-o", "t.tape", *args), cwd=str(tmp_path), env=env,
                         capture_output=True, text=True, timeout=120)
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.splitlines()[1].split()[0] in ("SourceFileLoader", "BuiltinImporter"), plain.stdout
    assert (rec.returncode, rec.stdout, program_stderr(rec.stderr)) == (plain.returncode, plain.stdout, plain.stderr)
