"""End-to-end: the pytest plugin (`pytest --tape`), DESIGN.md section 2 "pytest plugin".

Every inner pytest run is a fresh process (`pytester.runpytest_subprocess`), so the
plugin is loaded the way users get it: through the `pytest11` entry point of the
installed tracetape. The kept tapes are then read back with `python -m tracetape`
(`replay --batch`, `dump --format jsonl`, `verify`), so the tests check what a user
would see, not the plugin's internals.

Reading guide:
- exit status and outcomes: a run with the plugin is compared with a run without it;
- which tapes are kept: the exact set of files in the tape directory, named by
  `tape_name(nodeid)`;
- what the user is told: the "tracetape" section of each failure report and the
  "tracetape: tapes kept" terminal summary name the tape and `tracetape replay PATH`,
  and PATH (relative to where pytest was started) is the kept tape;
- what is in a tape: replay starts at the failing line with the frame's locals, the
  fixtures' code is recorded, pytest's and pluggy's code never is.

The pytest-xdist tests fail (never skip) when pytest-xdist is not installed.
"""

import importlib.util
import os
import re
import shlex
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import BACKENDS, SUBPROCESS_TIMEOUT, child_env, parse_jsonl, tracetape_cmd

pytest_plugins = ["pytester"]

try:
    from tracetape.pytest_plugin import tape_name
except ImportError as exc:  # reported by test_plugin_is_installed, never skipped
    _IMPORT_ERROR = exc

    def tape_name(nodeid):
        raise AssertionError("tracetape.pytest_plugin is not importable with %s: %s"
                             % (sys.executable, _IMPORT_ERROR))

DEFAULT_DIR = ".tapes"
SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*\.tape$")
SECTION_SEP = re.compile(r"^-+ tracetape -+$")
SUMMARY_SEP = re.compile(r"^-+ tracetape: tapes kept -+$")
FAILURE_HEADER = re.compile(r"^_+ (.+?) _+$")
ANY_SEP = re.compile(r"^([=_-])\1+( .* \1+)?$")


# ------------------------------------------------------------------- suites
MIXED_CONFTEST = '''
import pytest


@pytest.fixture
def counter():
    start = 40
    value = start + 2
    yield value
    finished = True


@pytest.fixture
def broken_setup():
    reason = "setup boom"
    raise RuntimeError(reason)


@pytest.fixture
def broken_teardown():
    yield "ok"
    cleanup_state = "dirty"
    raise ValueError("teardown boom")
'''

MIXED_TESTS = '''
import pytest


def test_pass(counter):
    assert counter == 42


def test_fail():
    x = 3
    y = x + 1
    assert x == y


def test_setup_error(broken_setup):
    pass


def test_teardown_error(broken_teardown):
    assert broken_teardown == "ok"


@pytest.mark.xfail(reason="known bug", strict=True)
def test_xfail():
    assert 1 == 2


@pytest.mark.xfail(reason="fixed?", strict=True)
def test_xpass_strict():
    assert True


@pytest.mark.xfail(reason="maybe")
def test_xpass_lax():
    pass


def test_skip():
    pytest.skip(reason="not today")


@pytest.mark.skip(reason="marker")
def test_skip_marker():
    pass
'''

M = "test_mixed.py::"
MIXED_ALL = [M + n for n in ("test_pass", "test_fail", "test_setup_error", "test_teardown_error",
                             "test_xfail", "test_xpass_strict", "test_xpass_lax", "test_skip",
                             "test_skip_marker")]
MIXED_KEPT = [M + n for n in ("test_fail", "test_setup_error", "test_teardown_error",
                              "test_xpass_strict")]
# What --tape=on keeps: every test that ran (test_skip_marker never did).
MIXED_RAN = [n for n in MIXED_ALL if n != M + "test_skip_marker"]
MIXED_OUTCOMES = dict(passed=2, failed=2, errors=2, xfailed=1, xpassed=1, skipped=2)


def write_mixed(pytester):
    pytester.makeini("[pytest]\n")
    pytester.makeconftest(MIXED_CONFTEST)
    pytester.makepyfile(test_mixed=MIXED_TESTS)


# ------------------------------------------------------------------ helpers
@pytest.fixture(autouse=True)
def _inner_environment(monkeypatch):
    """Inner runs load plugins from entry points, with no outside options, in UTF-8."""
    for var in ("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "PYTEST_PLUGINS", "PYTEST_ADDOPTS",
                "PYTHONSTARTUP", "PYTHONWARNINGS", "COVERAGE_PROCESS_START"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PYTHONIOENCODING", "utf-8")
    monkeypatch.setenv("PYTHONUTF8", "1")
    monkeypatch.setenv("PYTHONHASHSEED", "0")


def run(pytester, *args):
    return pytester.runpytest_subprocess(*args, timeout=SUBPROCESS_TIMEOUT)


def outcomes(result):
    try:
        return result.parseoutcomes()
    except ValueError:
        return {}


def show(result):
    """The whole output of an inner run, for assertion messages."""
    return "\n--- stdout ---\n%s\n--- stderr ---\n%s" % (result.stdout.str(), result.stderr.str())


def same_run(plain, taped):
    """The plugin changes neither the exit status nor the outcomes of a run."""
    assert taped.ret == plain.ret, "exit status %r with the plugin, %r without%s" % (
        taped.ret, plain.ret, show(taped))
    assert outcomes(taped) == outcomes(plain), show(taped)


def tape_files(directory):
    directory = Path(directory)
    if not directory.is_dir():
        return []
    return sorted(p.name for p in directory.iterdir())


def all_tapes(root):
    return sorted(str(p) for p in Path(root).rglob("*.tape"))


def names(nodeids):
    return sorted(tape_name(n) for n in nodeids)


def tracetape(cwd, *args, stdin=""):
    proc = subprocess.run(tracetape_cmd(*args), cwd=str(cwd), env=child_env(),
                          input=stdin.encode("utf-8"), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=SUBPROCESS_TIMEOUT)
    return (proc.returncode, proc.stdout.decode("utf-8", "backslashreplace"),
            proc.stderr.decode("utf-8", "backslashreplace"))


def replay(cwd, tape):
    """`python -m tracetape replay TAPE --batch` with no commands: the opening screen."""
    status, out, err = tracetape(cwd, "replay", str(tape), "--batch")
    assert status == 0, "replay %s: exit %d\n%s%s" % (tape, status, out, err)
    return out.splitlines()


def dump(cwd, tape):
    status, out, err = tracetape(cwd, "dump", str(tape), "--format", "jsonl")
    assert status == 0, "dump %s: exit %d\n%s" % (tape, status, err)
    return parse_jsonl(out, "dump of %s" % tape)


def assert_sound(cwd, tape):
    status, out, err = tracetape(cwd, "verify", str(tape))
    assert status == 0, "verify %s: exit %d\n%s%s" % (tape, status, out, err)
    mode = stat.S_IMODE(os.stat(str(Path(cwd) / tape)).st_mode)
    assert mode == 0o600, "%s has mode %o, not 600" % (tape, mode)


def line_of(path, text):
    """The line number of the only line of PATH whose stripped text is TEXT."""
    found = [n for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1)
             if line.strip() == text]
    assert len(found) == 1, "%r is on lines %r of %s" % (text, found, path)
    return found[0]


def failure_blocks(result):
    """{header of a FAILURES/ERRORS entry: its lines}, e.g. 'test_fail' or
    'ERROR at setup of test_setup_error'."""
    blocks, current = {}, None
    for line in result.outlines:
        m = FAILURE_HEADER.match(line)
        if m:
            current = blocks.setdefault(m.group(1), [])
            continue
        if line.startswith("=") and ANY_SEP.match(line):
            current = None
        elif current is not None:
            current.append(line)
    return blocks


def tracetape_section(block):
    """The lines of the 'tracetape' section of one failure entry."""
    for index, line in enumerate(block):
        if SECTION_SEP.match(line):
            section = []
            for rest in block[index + 1:]:
                if ANY_SEP.match(rest):
                    break
                section.append(rest)
            return section
    return None


def summary_block(result):
    """The lines under the 'tracetape: tapes kept' separator, or None."""
    lines = result.outlines
    for index, line in enumerate(lines):
        if SUMMARY_SEP.match(line):
            block = []
            for rest in lines[index + 1:]:
                if ANY_SEP.match(rest):
                    break
                block.append(rest)
            return block
    return None


def replay_paths(lines):
    """The PATH of every `tracetape replay PATH` in LINES."""
    paths = []
    for line in lines:
        m = re.search(r"tracetape replay (.+)$", line)
        if m:
            words = shlex.split(m.group(1))
            assert len(words) == 1, "not a single path in %r" % line
            paths.append(words[0])
    return paths


def resolve(cwd, shown):
    return (Path(cwd) / shown).resolve()


def check_announced(result, cwd, tape_dir, kept):
    """Each failure entry of KEPT's tests has a tracetape section naming its tape and the
    replay command; the terminal summary lists each of these tapes with its replay command
    (and no tape twice).
    Every path shown, taken from CWD (where pytest was started), is the tape itself.
    KEPT: {failure entry header: node id}."""
    blocks = failure_blocks(result)
    for header, nodeid in kept.items():
        tape = (Path(tape_dir) / tape_name(nodeid)).resolve()
        assert header in blocks, "no failure entry %r%s" % (header, show(result))
        section = tracetape_section(blocks[header])
        assert section is not None, "no tracetape section in %r:\n%s" % (
            header, "\n".join(blocks[header]))
        paths = replay_paths(section)
        assert len(paths) == 1, section
        assert resolve(cwd, paths[0]) == tape, (
            "the report of %s says `tracetape replay %s`, which from %s is not the tape %s"
            % (nodeid, paths[0], cwd, tape))
        assert any(paths[0] in line for line in section if "replay" not in line), (
            "the section does not name the tape on its own: %r" % section)
    summary = summary_block(result)
    assert summary is not None, "no 'tracetape: tapes kept' summary%s" % show(result)
    shown = [str(resolve(cwd, p)) for p in replay_paths(summary)]
    assert len(shown) == len(set(shown)), "a tape listed twice:\n%s" % "\n".join(summary)
    for nodeid in kept.values():
        tape = str((Path(tape_dir) / tape_name(nodeid)).resolve())
        assert tape in shown, "no `tracetape replay` of %s (%s) in the summary:\n%s" % (
            nodeid, tape, "\n".join(summary))
    text = "\n".join(summary)
    for nodeid in kept.values():
        assert nodeid in text, "%s not in the summary:\n%s" % (nodeid, text)


# --------------------------------------------------------------------- tests
def test_plugin_is_installed(pytester):
    """The pytest11 entry point registers the plugin: options, ini keys, header."""
    tape_name("x.py::y")  # fails with the import error when the plugin is missing
    result = run(pytester, "--help")
    assert result.ret == 0, show(result)
    text = result.stdout.str()
    for word in ("--tape", "--tape-dir", "retain-on-failure", "tape_dir"):
        assert word in text, "%r not in pytest --help%s" % (word, show(result))
    pytester.makepyfile("def test_ok():\n    pass\n")
    result = run(pytester)
    assert result.ret == 0, show(result)
    assert any(line.startswith("plugins:") and "tracetape" in line
               for line in result.outlines), show(result)


EXIT_SUITES = {
    "mixed": ({"test_mixed": MIXED_TESTS}, MIXED_CONFTEST, 1),
    "all-pass": ({"test_ok": "def test_a():\n    pass\n\ndef test_b():\n    assert 1\n"}, None, 0),
    "no-tests": ({"test_empty": "x = 1\n"}, None, 5),
    "collection-error": ({"test_broken": "def test_a():\n    pass\n\nimport no_such_module_xyz\n",
                          "test_fine": "def test_b():\n    assert 0\n"}, None, 2),
    "pytest-exit": ({"test_exit": "import pytest\n\ndef test_a():\n    assert 0\n\n"
                                  "def test_b():\n    pytest.exit('leaving', returncode=3)\n\n"
                                  "def test_c():\n    pass\n"}, None, 3),
}


@pytest.mark.parametrize("suite", sorted(EXIT_SUITES))
def test_exit_status_and_outcomes_as_without_the_plugin(pytester, suite):
    files, conftest, expected = EXIT_SUITES[suite]
    pytester.makeini("[pytest]\n")
    if conftest:
        pytester.makeconftest(conftest)
    pytester.makepyfile(**files)
    plain = run(pytester)
    assert plain.ret == expected, show(plain)
    taped = run(pytester, "--tape")
    same_run(plain, taped)
    if suite == "mixed":
        taped.assert_outcomes(**MIXED_OUTCOMES)
    if suite in ("all-pass", "no-tests", "collection-error"):
        assert all_tapes(pytester.path) == [], show(taped)
    if suite == "pytest-exit":
        assert tape_files(pytester.path / DEFAULT_DIR) == names(["test_exit.py::test_a"])


def test_retain_on_failure_keeps_failures_and_errors_only(pytester):
    """Failures, setup and teardown errors, strict xpass: kept. Passes, xfail, lax xpass,
    skips: not kept. Each kept tape is sound, 0600, and replays from its failure; the
    failure reports and the terminal summary name the kept tapes, and only them."""
    write_mixed(pytester)
    result = run(pytester, "--tape")
    assert result.ret == 1, show(result)
    result.assert_outcomes(**MIXED_OUTCOMES)
    assert tape_files(pytester.path / DEFAULT_DIR) == names(MIXED_KEPT), show(result)
    assert len(all_tapes(pytester.path)) == len(MIXED_KEPT)
    for nodeid in MIXED_KEPT:
        assert_sound(pytester.path, Path(DEFAULT_DIR) / tape_name(nodeid))
    # Errors replay from the exception raised in the fixture (test_fail's replay: see
    # test_replay_of_a_failed_test_starts_at_the_failing_assertion).
    conftest = pytester.path / "conftest.py"
    setup = replay(pytester.path, Path(DEFAULT_DIR) / tape_name(M + "test_setup_error"))
    assert setup[0] == "Test %stest_setup_error failed here:" % M, setup
    assert setup[1].startswith("--Exception-- RuntimeError: setup boom"), setup
    assert "> %s(%d)broken_setup()" % (conftest, line_of(conftest, "raise RuntimeError(reason)")) \
        in setup, setup
    assert "  reason = 'setup boom'" in setup, setup
    teardown = replay(pytester.path, Path(DEFAULT_DIR) / tape_name(M + "test_teardown_error"))
    assert teardown[0] == "Test %stest_teardown_error failed here:" % M, teardown
    assert teardown[1].startswith("--Exception-- ValueError: teardown boom"), teardown
    assert "  cleanup_state = 'dirty'" in teardown, teardown
    # The failure reports and the terminal summary name each kept tape.
    check_announced(result, pytester.path, pytester.path / DEFAULT_DIR, {
        "test_fail": M + "test_fail",
        "test_xpass_strict": M + "test_xpass_strict",
        "ERROR at setup of test_setup_error": M + "test_setup_error",
        "ERROR at teardown of test_teardown_error": M + "test_teardown_error",
    })
    # Passing, skipped and xfailed tests are not announced anywhere.
    summary = "\n".join(summary_block(result))
    for nodeid in set(MIXED_ALL) - set(MIXED_KEPT):
        assert nodeid + "\n" not in summary + "\n", summary
        assert tape_name(nodeid) not in result.stdout.str()


def test_replay_of_a_failed_test_starts_at_the_failing_assertion(pytester):
    """End to end: the command the report prints, run from where pytest ran, opens the
    tape at the failing assert with the frame's locals."""
    write_mixed(pytester)
    result = run(pytester, "--tape", "-q")
    section = tracetape_section(failure_blocks(result)["test_fail"])
    command = shlex.split(re.search(r"(tracetape replay .+)$", "\n".join(section), re.M).group(1))
    assert command[:2] == ["tracetape", "replay"] and len(command) == 3, command
    opening = replay(pytester.path, command[2])
    test_file = pytester.path / "test_mixed.py"
    assert opening[0] == "Test test_mixed.py::test_fail failed here:", opening
    assert opening[1].startswith("--Exception-- AssertionError"), opening
    assert "assert 3 == 4" in opening[1], opening
    where = [line for line in opening if line.startswith("> ")]
    assert where == ["> %s(%d)test_fail()" % (test_file, line_of(test_file, "assert x == y"))], \
        opening
    assert "  x = 3" in opening and "  y = 4" in opening, opening
    # pytest's assertion rewriting adds locals no test can name (@py_assert1,
    # @py_format3...): counted, not listed, at the opening; `locals` lists them.
    assert not [line for line in opening if line.startswith("  @")], opening
    hidden = [line for line in opening if "`locals` shows them" in line]
    assert len(hidden) == 1 and re.match(r"  \(and \d+ temporar", hidden[0]), opening
    # The cursor is really there: `p x` at the prompt.
    status, out, err = tracetape(pytester.path, "replay", command[2], "--batch", stdin="p x\np y\nlocals\n")
    assert status == 0, err
    assert re.search(r"^(\(tape \d+\) )?(p x\n)?3$", out, re.M), out
    assert re.search(r"^  @py_assert\d+ = ", out, re.M) and "  x = 3" in out, out


DOCTEST_TESTS = '''
import doctest


def double(x):
    """
    >>> double(2)
    4
    """
    return x * 2


def test_after_doctest():
    doctest.run_docstring_examples(double, {"double": double})
    x = double(3)
    y = 7
    assert x == y
'''


def test_a_doctest_run_inside_a_test_does_not_end_its_tape(pytester):
    """doctest's runner saves sys.gettrace() and gives it back with sys.settrace() when it
    is done, as pdb and debuggers do: the test's tape must go on after it, up to the
    failing assert (with the C trace function, that restore installs Python's trampoline
    in its place)."""
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(test_doc=DOCTEST_TESTS)
    result = run(pytester, "--tape", "-q")
    result.assert_outcomes(failed=1)
    test_file = pytester.path / "test_doc.py"
    tape = Path(DEFAULT_DIR) / tape_name("test_doc.py::test_after_doctest")
    opening = replay(pytester.path, tape)
    assert opening[0] == "Test test_doc.py::test_after_doctest failed here:", opening
    assert "assert 6 == 7" in opening[1], opening
    where = [line for line in opening if line.startswith("> ")]
    assert where == ["> %s(%d)test_after_doctest()" % (test_file, line_of(test_file, "assert x == y"))], \
        opening
    events = dump(pytester.path, tape)
    calls = [e for e in events if e["func"] == "double" and e["kind"] == "call"]
    # From the doctest's example, then from the test body after the restore.
    assert [c["locals"].get("x") for c in calls] == ["2", "3"], calls
    assert "warning" not in result.stderr.str(), show(result)


# What the summary of `--tape=on` says of each test of MIXED_TESTS (pytest's words).
MIXED_SUMMARY = {"test_pass": "PASSED", "test_fail": "FAILED", "test_setup_error": "ERROR",
                 "test_teardown_error": "ERROR", "test_xfail": "XFAIL", "test_xpass_strict": "FAILED",
                 "test_xpass_lax": "XPASS", "test_skip": "SKIPPED"}


def test_tape_on_keeps_every_test_that_ran(pytester):
    # Every test but test_skip_marker, skipped before it ran: nothing to
    # replay (its tape would hold no events).
    write_mixed(pytester)
    plain = run(pytester)
    result = run(pytester, "--tape=on")
    same_run(plain, result)
    ran = [M + name for name in MIXED_SUMMARY]
    assert sorted(ran) == sorted(MIXED_RAN)
    assert tape_files(pytester.path / DEFAULT_DIR) == names(ran), show(result)
    summary = summary_block(result)
    assert summary is not None, show(result)
    shown = sorted(os.path.basename(p) for p in replay_paths(summary))
    assert shown == names(ran), summary
    for name, outcome in MIXED_SUMMARY.items():
        assert "%s %s%s" % (outcome, M, name) in summary, (name, outcome, summary)
        assert_sound(pytester.path, Path(DEFAULT_DIR) / tape_name(M + name))
    assert not any("test_skip_marker" in line for line in summary), summary
    assert "hold no events" not in "\n".join(summary), summary
    # A passing test's tape holds its run, fixture included.
    events = dump(pytester.path, Path(DEFAULT_DIR) / tape_name(M + "test_pass"))
    assert [e["func"] for e in events if e["kind"] == "call"] == ["counter", "test_pass", "counter"]


def test_a_test_that_stops_the_recording_or_records_itself(pytester):
    """A test may stop pytest --tape's recording, or stop it and record into a tape of
    its own: a passing test's tape is removed all the same, and the test's own tape is
    not pytest's to discard (it is finished where the test ends, as before)."""
    pytester.makepyfile(test_own="""
        import os
        import tracetape

        def helper():
            return 42

        def test_stops_the_recording():
            tracetape.stop()
            assert helper() == 42

        def test_records_its_own_tape():
            tracetape.stop()
            tracetape.start(os.path.abspath("mine.tape"))
            assert helper() == 42
    """)
    result = run(pytester, "--tape")
    assert result.ret == 0, show(result)
    assert all_tapes(pytester.path) == [str(pytester.path / "mine.tape")], show(result)
    assert_sound(pytester.path, "mine.tape")
    calls = [e["func"] for e in dump(pytester.path, "mine.tape") if e["kind"] == "call"]
    assert calls == ["helper"], calls


def test_the_hook_kept_between_tests_is_gone_when_the_session_ends(pytester):
    """On 3.12+ the sys.monitoring hook stays installed, idle, from one test's
    recording to the next (stop(keep_hook=True)); when pytest is done, it is
    removed, and the program that ran pytest goes on untraced."""
    pytester.makepyfile(test_two="""
        import sys

        def helper(n):
            return n + 1

        def test_one():
            assert helper(1) == 2

        def test_two():
            monitoring = getattr(sys, "monitoring", None)
            tools = [monitoring.get_tool(i) for i in range(6)] if monitoring else []
            # (During the recording the hook is tracetape's on 3.12+.)
            assert ("tracetape" in tools) == (monitoring is not None)
            assert helper(2) == 4
    """)
    script = pytester.path / "driver.py"
    script.write_text(textwrap.dedent("""\
        import sys
        import pytest

        code = pytest.main(["-q", "-p", "no:cacheprovider", "--tape", "test_two.py"])
        monitoring = getattr(sys, "monitoring", None)
        tools = [monitoring.get_tool(i) for i in range(6)] if monitoring else []
        print("exit", int(code), "hook kept", "tracetape" in tools)
    """))
    proc = subprocess.run([sys.executable, str(script)], cwd=str(pytester.path), env=child_env(),
                          capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT)
    assert proc.stdout.splitlines()[-1] == "exit 1 hook kept False", proc.stdout + proc.stderr
    tapes = tape_files(pytester.path / DEFAULT_DIR)
    assert tapes == [tape_name("test_two.py::test_two")], tapes
    calls = [(e["func"], e["locals"]) for e in dump(pytester.path, Path(DEFAULT_DIR) / tapes[0])
             if e["kind"] == "call"]
    assert calls == [("test_two", {}), ("helper", {"n": "2"})], calls


def test_an_installed_package_s_tests_are_recorded(pytester, monkeypatch):
    """`pytest --pyargs pkg --tape` on a package installed where the default scope leaves
    code out (here the user site-packages): its tests and its code are recorded, not
    an empty tape."""
    userbase = pytester.path / "userbase"
    monkeypatch.setenv("PYTHONUSERBASE", str(userbase))
    site_dir = Path(subprocess.run([sys.executable, "-c", "import site; print(site.getusersitepackages())"],
                                   env=dict(os.environ), stdout=subprocess.PIPE, check=True,
                                   universal_newlines=True).stdout.strip())
    assert str(site_dir).startswith(str(userbase)), site_dir
    pkg = site_dir / "instpkg"
    (pkg / "tests").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "core.py").write_text("def double(x):\n    twice = x * 2\n    return twice + 1\n")
    (pkg / "tests" / "__init__.py").write_text("")
    (pkg / "tests" / "test_inst.py").write_text(
        "from instpkg.core import double\n\n\ndef test_double():\n    got = double(4)\n    assert got == 8\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(site_dir)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    pytester.makeini("[pytest]\n")
    result = run(pytester, "--tape", "--pyargs", "instpkg.tests")
    assert result.ret == 1, show(result)
    nodeid = "instpkg/tests/test_inst.py::test_double"
    tapes = all_tapes(pytester.path / DEFAULT_DIR)
    assert len(tapes) == 1, show(result)
    events = dump(pytester.path, tapes[0])
    calls = [(os.path.basename(e["file"]), e["func"]) for e in events if e["kind"] == "call"]
    assert calls == [("test_inst.py", "test_double"), ("core.py", "double")], calls
    assert any(e["locals"].get("twice") == "8" for e in events if e["func"] == "double"), events
    assert nodeid.split("::")[-1] in "\n".join(summary_block(result) or []), show(result)
    assert "hold no events" not in result.stdout.str()


def test_the_summary_tells_of_tapes_that_hold_no_events(pytester):
    """A text file's doctest runs only its own examples, out of the recording's scope:
    its tape holds no events, and the summary says so (a test file's tape does not)."""
    pytester.makeini("[pytest]\n")
    pytester.makefile(".txt", notes=">>> 1 + 1\n2\n")
    pytester.makepyfile(test_small="def test_small():\n    x = 1\n    assert x == 1\n")
    result = run(pytester, "--tape=on", "--doctest-glob=*.txt")
    assert result.ret == 0, show(result)
    result.assert_outcomes(passed=2)
    summary = summary_block(result)
    assert summary is not None, show(result)
    assert "tracetape: 1 of these tapes hold no events" in "\n".join(summary), show(result)
    events = dump(pytester.path, Path(DEFAULT_DIR) / tape_name("test_small.py::test_small"))
    assert [e["func"] for e in events if e["kind"] == "call"] == ["test_small"]


@pytest.mark.parametrize("how", ["no-option", "--tape=off", "ini-on-but-cli-off", "ini-off"])
def test_off_records_nothing(pytester, how):
    write_mixed(pytester)
    args = ["-q"]
    if how == "--tape=off":
        args.append("--tape=off")
    elif how == "ini-on-but-cli-off":
        pytester.makeini("[pytest]\ntape = on\ntape_dir = ini_tapes\n")
        args.append("--tape=off")
    elif how == "ini-off":
        pytester.makeini("[pytest]\ntape = off\n")
    result = run(pytester, *args)
    assert result.ret == 1, show(result)
    result.assert_outcomes(**MIXED_OUTCOMES)
    assert not (pytester.path / DEFAULT_DIR).exists()
    assert not (pytester.path / "ini_tapes").exists()
    assert all_tapes(pytester.path) == []
    assert summary_block(result) is None, show(result)
    assert not any(SECTION_SEP.match(line) for line in result.outlines), show(result)


def test_tape_dir_relative(pytester):
    write_mixed(pytester)
    result = run(pytester, "--tape", "--tape-dir", "out/tapes")
    assert result.ret == 1, show(result)
    target = pytester.path / "out" / "tapes"
    assert tape_files(target) == names(MIXED_KEPT), show(result)
    assert not (pytester.path / DEFAULT_DIR).exists()
    assert len(all_tapes(pytester.path)) == len(MIXED_KEPT)
    check_announced(result, pytester.path, target, {"test_fail": M + "test_fail"})


def test_tape_dir_absolute(pytester, tmp_path_factory):
    write_mixed(pytester)
    target = tmp_path_factory.mktemp("elsewhere") / "deep" / "tapes"
    result = run(pytester, "--tape=on", "--tape-dir=%s" % target)
    assert result.ret == 1, show(result)
    assert tape_files(target) == names(MIXED_RAN), show(result)
    assert all_tapes(pytester.path) == []
    check_announced(result, pytester.path, target, {"test_fail": M + "test_fail"})
    for nodeid in MIXED_KEPT:
        assert_sound(pytester.path, target / tape_name(nodeid))


def test_a_tape_dir_removed_by_a_test_is_made_again(pytester):
    # The directory is made once per session; a test (or a fixture cleaning
    # up) that removes it does not cost the next tests their tapes.
    pytester.makepyfile(test_gone="""
        import shutil


        def test_removes_the_tapes():
            shutil.rmtree(".tapes")


        def test_fail_after():
            value = 41
            assert value == 42
    """)
    result = run(pytester, "--tape=on")
    assert result.ret == 1, show(result)
    result.assert_outcomes(passed=1, failed=1)
    kept = tape_name("test_gone.py::test_fail_after")
    assert tape_files(pytester.path / DEFAULT_DIR) == [kept], show(result)
    assert_sound(pytester.path, pytester.path / DEFAULT_DIR / kept)


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["alone", "xdist"])
def test_a_tape_dir_that_cannot_be_made_is_a_usage_error(pytester, workers):
    # Found before any test runs, in pytest-xdist's main process too (a
    # worker's exit was an xdist internal error that lost the reason).
    if workers:
        require_xdist()
    write_mixed(pytester)
    (pytester.path / "blocker").write_text("a file, not a directory\n")
    result = run(pytester, "--tape", "--tape-dir", "blocker/tapes", *workers)
    assert result.ret == pytest.ExitCode.USAGE_ERROR == 4, show(result)
    out = result.stdout.str() + result.stderr.str()
    assert "tracetape: cannot write tapes in blocker/tapes (--tape-dir): Not a directory" in out, show(result)
    assert "INTERNALERROR" not in out, show(result)
    assert all_tapes(pytester.path) == []


def test_a_tape_that_cannot_be_created_mid_run_turns_tapes_off(pytester):
    # The tape directory replaced by a file: the tests go on, their outcomes
    # as without the plugin, and the summary says why tapes stopped.
    pytester.makepyfile(test_blocked="""
        import os
        import shutil


        def test_replaces_the_tapes():
            shutil.rmtree(".tapes")
            with open(".tapes", "w") as f:
                f.write("a file now")


        def test_fail_after():
            value = 41
            assert value == 42


        def test_pass_after():
            assert True
    """)
    result = run(pytester, "--tape=on", "-p", "no:randomly")
    assert result.ret == 1, show(result)
    result.assert_outcomes(passed=2, failed=1)
    out = result.stdout.str()
    assert ("tracetape: cannot write the tape of test_blocked.py::test_fail_after in .tapes: "
            "File exists: tapes are off from there on") in out, show(result)
    assert "INTERNALERROR" not in out + result.stderr.str(), show(result)
    assert (pytester.path / ".tapes").is_file()


@pytest.mark.parametrize("ini, args, directory, kept", [
    ("tape = on\ntape_dir = ini_tapes\n", (), "ini_tapes", MIXED_RAN),
    ("tape = retain-on-failure\n", (), DEFAULT_DIR, MIXED_KEPT),
    ("tape = on\ntape_dir = ini_tapes\n", ("--tape",), "ini_tapes", MIXED_KEPT),
    ("tape = on\ntape_dir = ini_tapes\n", ("--tape-dir", "cli_tapes"), "cli_tapes", MIXED_RAN),
    ("tape_dir = ini_tapes\n", ("--tape",), "ini_tapes", MIXED_KEPT),
], ids=["on+dir", "retain", "cli-mode-wins", "cli-dir-wins", "dir-only"])
def test_ini_options(pytester, ini, args, directory, kept):
    pytester.makeconftest(MIXED_CONFTEST)
    pytester.makepyfile(test_mixed=MIXED_TESTS)
    pytester.makeini("[pytest]\n" + ini)
    result = run(pytester, *args)
    assert result.ret == 1, show(result)
    result.assert_outcomes(**MIXED_OUTCOMES)
    assert tape_files(pytester.path / directory) == names(kept), show(result)
    assert len(all_tapes(pytester.path)) == len(kept)


@pytest.mark.parametrize("args, ini", [
    (("--tape=bogus",), ""),
    (("--tape=",), ""),
    ((), "tape = bogus\n"),
], ids=["cli-bogus", "cli-empty", "ini-bogus"])
def test_invalid_mode_is_a_usage_error(pytester, args, ini):
    write_mixed(pytester)
    pytester.makeini("[pytest]\n" + ini)
    result = run(pytester, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR == 4, show(result)
    err = result.stderr.str()
    assert "tape" in err and ("bogus" in err or "''" in err), show(result)
    assert all_tapes(pytester.path) == []
    assert not (pytester.path / DEFAULT_DIR).exists()


OTHER_TESTS = "def test_elsewhere():\n    assert 0, 'this file was not asked for'\n"


@pytest.mark.parametrize("args, ini", [
    (("--tape", "test_mixed.py"), ""),
    (("--tape", "./test_mixed.py", "-q"), ""),
    (("-q", "--tape", "sub/"), ""),
    (("test_mixed.py",), "addopts = --tape\n"),
], ids=["file", "dotted-file", "dir", "addopts"])
def test_a_bare_tape_before_the_test_paths_records_those_paths(pytester, args, ini):
    """`pytest --tape PATH` (and `addopts = --tape` with paths on the command line):
    PATH is a test path, not a mode; only it is collected, tapes kept as for a bare
    --tape."""
    if "sub/" in args:
        sub = pytester.mkpydir("sub")
        (sub / "conftest.py").write_text(MIXED_CONFTEST)
        (sub / "test_mixed.py").write_text(MIXED_TESTS)
        kept = ["sub/" + n for n in MIXED_KEPT]
    else:
        write_mixed(pytester)
        kept = MIXED_KEPT
    pytester.makepyfile(test_other=OTHER_TESTS)
    pytester.makeini("[pytest]\n" + ini)
    if ini:
        # Not run(): runpytest_subprocess puts its own --basetemp first, which
        # would come between the addopts and the paths.
        result = pytester.run(sys.executable, "-m", "pytest", *args, "-p", "no:cacheprovider",
                              timeout=SUBPROCESS_TIMEOUT)
    else:
        result = run(pytester, *args)
    assert result.ret == 1, show(result)
    result.assert_outcomes(**MIXED_OUTCOMES)
    assert "test_elsewhere" not in result.stdout.str(), show(result)
    assert tape_files(pytester.path / DEFAULT_DIR) == names(kept), show(result)


def test_a_bare_tape_before_a_node_id(pytester):
    write_mixed(pytester)
    pytester.makepyfile(test_other=OTHER_TESTS)
    result = run(pytester, "--tape", "test_mixed.py::test_fail")
    assert result.ret == 1, show(result)
    result.assert_outcomes(failed=1)
    assert tape_files(pytester.path / DEFAULT_DIR) == names([M + "test_fail"]), show(result)


def test_a_conftest_option_after_a_path_that_follows_a_bare_tape(pytester):
    """The initial conftests are those of the test paths: `sub/conftest.py`'s own
    option is known when `--tape sub` comes before it."""
    sub = pytester.mkpydir("sub")
    (sub / "conftest.py").write_text(
        "def pytest_addoption(parser):\n    parser.addoption('--level', type=int, default=0)\n")
    (sub / "test_level.py").write_text(
        "def test_level(request):\n    level = request.config.getoption('level')\n    assert level == 3\n")
    result = run(pytester, "--tape", "sub", "--level", "2")
    assert result.ret == 1, show(result)
    result.assert_outcomes(failed=1)
    assert tape_files(pytester.path / DEFAULT_DIR) == names(["sub/test_level.py::test_level"]), show(result)


@pytest.mark.parametrize("args, words", [
    (("--tape", "bogus"), ("bogus", "retain-on-failure")),
    (("--tape", "no_such_dir/"), ("no_such_dir",)),
], ids=["not-a-mode", "missing-path"])
def test_a_bare_tape_before_neither_mode_nor_path_is_a_usage_error(pytester, args, words):
    write_mixed(pytester)
    result = run(pytester, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR == 4, show(result)
    err = result.stderr.str()
    for word in words:
        assert word in err, show(result)
    assert all_tapes(pytester.path) == []


def test_exitfirst_stops_and_keeps_the_one_failure(pytester):
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(test_x="""
        def test_1_pass():
            pass

        def test_2_fail():
            x = 3
            assert x == 4

        def test_3_fail():
            assert 0

        def test_4_pass():
            pass
    """)
    plain = run(pytester, "-x")
    taped = run(pytester, "-x", "--tape")
    same_run(plain, taped)
    taped.assert_outcomes(passed=1, failed=1)
    assert "stopping after 1 failures" in taped.stdout.str(), show(taped)
    assert tape_files(pytester.path / DEFAULT_DIR) == names(["test_x.py::test_2_fail"])
    check_announced(taped, pytester.path, pytester.path / DEFAULT_DIR,
                    {"test_2_fail": "test_x.py::test_2_fail"})
    opening = replay(pytester.path, Path(DEFAULT_DIR) / tape_name("test_x.py::test_2_fail"))
    assert "  x = 3" in opening, opening


def test_keyword_selection(pytester):
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(test_k="""
        def test_alpha_fail():
            assert 0

        def test_alpha_pass():
            pass

        def test_beta_fail():
            assert 0
    """)
    plain = run(pytester, "-k", "alpha")
    taped = run(pytester, "--tape", "-k", "alpha")
    same_run(plain, taped)
    taped.assert_outcomes(passed=1, failed=1, deselected=1)
    assert tape_files(pytester.path / DEFAULT_DIR) == names(["test_k.py::test_alpha_fail"])
    everything = run(pytester, "-k", "alpha", "--tape=on")
    assert everything.ret == 1
    assert tape_files(pytester.path / DEFAULT_DIR) == names(
        ["test_k.py::test_alpha_fail", "test_k.py::test_alpha_pass"]), show(everything)


AWKWARD_IDS = ["a/b", "a b", "a-b", "a?b", "../../escape", "/abs/path", "ünïcödé", "日本語",
               "x" * 300, "x" * 300 + "y", "co::lon", ".hidden", "-dash", "[brackets]",
               "quote'\"", "dup", "dup"]


@pytest.mark.parametrize("escaping", ["escaped", "raw-unicode"])
def test_parametrized_ids_get_distinct_safe_names(pytester, escaping):
    ini = "[pytest]\n"
    if escaping == "raw-unicode":
        ini += "disable_test_id_escaping_and_forfeit_all_rights_to_community_support = true\n"
    pytester.makeini(ini)
    pytester.makepyfile(test_ids="""
        import pytest

        IDS = %r

        @pytest.mark.parametrize("v", range(len(IDS)), ids=IDS)
        def test_p(v):
            value = v
            assert value < 0
    """ % (AWKWARD_IDS,))
    result = run(pytester, "--tape")
    assert result.ret == 1, show(result)
    result.assert_outcomes(failed=len(AWKWARD_IDS))
    # The node ids, as pytest made them (escaped or not), from its short summary.
    nodeids = sorted({line.split(" ", 1)[1].rsplit(" - ", 1)[0] for line in result.outlines
                      if line.startswith("FAILED test_ids.py::test_p[")})
    assert len(nodeids) == len(AWKWARD_IDS), nodeids
    if escaping == "raw-unicode":
        assert "test_ids.py::test_p[日本語]" in nodeids, nodeids
    tape_dir = pytester.path / DEFAULT_DIR
    files = tape_files(tape_dir)
    assert files == names(nodeids), show(result)
    assert len(set(files)) == len(AWKWARD_IDS)
    for name in files:
        assert SAFE_NAME.match(name), "unsafe tape name %r" % name
        assert len(name.encode("utf-8")) <= 200, "tape name of %d bytes" % len(name)
        assert (tape_dir / name).is_file()
    # Nothing escaped the tape directory.
    assert all(Path(p).parent == tape_dir for p in all_tapes(pytester.path))
    for outside in (pytester.path.parent, pytester.path.parent.parent, Path("/abs")):
        assert not list(outside.glob("*escape*")) and not list(outside.glob("*.tape"))
    # Each tape is its own test's: those whose ids collapse to the same safe text
    # ("a/b", "a b", "a-b", "a?b"), the two long ids sharing 300 characters, unicode.
    checked = [n for n in nodeids if re.search(r"\[(a.b|x{300}y?|.*(\\xfc|ü).*)\]$", n)]
    assert len(checked) == 7, checked
    for nodeid in checked:
        opening = replay(pytester.path, Path(DEFAULT_DIR) / tape_name(nodeid))
        assert opening[0] == "Test %s failed here:" % nodeid, opening
        assert "  value = %d" % int(re.search(r"assert (\d+) < 0", "\n".join(opening)).group(1)) \
            in opening, opening
    summary = summary_block(result)
    assert sorted(os.path.basename(p) for p in replay_paths(summary)) == files


def test_test_classes(pytester):
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(test_cls="""
        class Account:
            def __init__(self, balance):
                self.balance = balance

            def withdraw(self, amount):
                self.balance -= amount
                return self.balance


        class TestAccount:
            def test_ok(self):
                assert Account(10).withdraw(3) == 7

            def test_overdraw(self):
                acct = Account(100)
                left = acct.withdraw(30)
                assert left == 80

            class TestNested:
                def test_nested_fail(self):
                    depth = 2
                    assert depth == 3
    """)
    plain = run(pytester)
    result = run(pytester, "--tape")
    same_run(plain, result)
    result.assert_outcomes(passed=1, failed=2)
    overdraw = "test_cls.py::TestAccount::test_overdraw"
    nested = "test_cls.py::TestAccount::TestNested::test_nested_fail"
    assert tape_files(pytester.path / DEFAULT_DIR) == names([overdraw, nested]), show(result)
    check_announced(result, pytester.path, pytester.path / DEFAULT_DIR,
                    {"TestAccount.test_overdraw": overdraw,
                     "TestAccount.TestNested.test_nested_fail": nested})
    opening = replay(pytester.path, Path(DEFAULT_DIR) / tape_name(overdraw))
    assert opening[0] == "Test %s failed here:" % overdraw
    assert "  left = 70" in opening, opening
    assert any(line.endswith("test_overdraw()") for line in opening if line.startswith("> "))
    events = dump(pytester.path, Path(DEFAULT_DIR) / tape_name(overdraw))
    assert {"__init__", "withdraw", "test_overdraw"} <= {e["func"] for e in events}
    opening = replay(pytester.path, Path(DEFAULT_DIR) / tape_name(nested))
    assert "  depth = 2" in opening, opening


INTERNALS_CONFTEST = '''
import pytest


@pytest.fixture(scope="session", autouse=True)
def session_marker():
    opened = "session"
    yield opened
    closed = True


@pytest.fixture
def resource(tmp_path):
    data = [1, 2]
    path = tmp_path / "data.txt"
    path.write_text("x")
    yield data
    data.clear()
'''

INTERNALS_TESTS = '''
import logging
import warnings

import pytest


def helper(v):
    if v < 0:
        raise ValueError("negative")
    return v * 2


@pytest.mark.parametrize("n", [1, 2])
def test_machinery(n, resource, tmp_path, monkeypatch, capsys, caplog, request):
    request.addfinalizer(lambda: None)
    monkeypatch.setenv("TT_EXAMPLE", str(n))
    (tmp_path / "f").write_text("hi")
    print("out")
    logging.getLogger("t").warning("w")
    with pytest.raises(ValueError):
        helper(-1)
    with pytest.warns(UserWarning):
        warnings.warn("u", UserWarning)
    assert capsys.readouterr().out == "out\\n"
    assert helper(n) == pytest.approx(2 * n)


def test_failing_with_rich_report(resource):
    expected = {"a": [1, 2, 3], "b": "text"}
    got = {"a": [1, 2, 4], "b": "text"}
    assert got == expected


class TestInClass:
    def test_method(self, resource):
        assert sum(resource) == pytest.approx(4)
'''


def test_fixtures_recorded_and_pytest_internals_never(pytester):
    import _pytest
    import pluggy

    pytester.makeini("[pytest]\n")
    pytester.makeconftest(INTERNALS_CONFTEST)
    pytester.makepyfile(test_internals=INTERNALS_TESTS)
    result = run(pytester, "--tape=on")
    assert result.ret == 1, show(result)
    result.assert_outcomes(passed=2, failed=2)
    tapes = all_tapes(pytester.path / DEFAULT_DIR)
    assert len(tapes) == 4, show(result)
    internal_dirs = [os.path.dirname(os.path.realpath(m.__file__)) for m in (_pytest, pytest, pluggy)]
    internal = re.compile(r"[/\\](_pytest|pytest|pluggy)[/\\]")
    conftest = str(pytester.path / "conftest.py")
    seen_funcs = {}
    for tape in tapes:
        events = dump(pytester.path, tape)
        assert events, tape
        for event in events:
            f = event["file"]
            real = os.path.realpath(f) if os.path.isabs(f) else f
            assert not internal.search(f) and not any(
                real.startswith(d + os.sep) for d in internal_dirs), (
                "pytest/pluggy code recorded in %s: %r" % (tape, event))
            if os.path.isabs(f) and os.path.exists(f) and os.path.samefile(f, conftest):
                seen_funcs.setdefault(os.path.basename(tape), set()).add(event["func"])
    # Fixture code of conftest.py: setup and teardown of the function fixture in every
    # test's tape, the session fixture's setup in the first and its teardown in the last.
    for tape in tapes:
        assert "resource" in seen_funcs.get(os.path.basename(tape), ()), (tape, seen_funcs)
    assert any("session_marker" in funcs for funcs in seen_funcs.values()), seen_funcs
    first = tape_name("test_internals.py::test_machinery[1]")
    events = dump(pytester.path, Path(DEFAULT_DIR) / first)
    resource = [e for e in events if e["func"] == "resource"]
    assert [e["kind"] for e in resource][0] == "call"
    assert any(e["locals"].get("data") == "[1, 2]" for e in resource), resource
    assert any(e["kind"] == "return" and e.get("value") == "[1, 2]" for e in resource), resource
    # The teardown half ran after the test body, inside the same tape.
    body_end = max(i for i, e in enumerate(events) if e["func"] == "test_machinery")
    assert any(e["func"] == "resource" and i > body_end for i, e in enumerate(events)), \
        "the fixture's teardown is not in the tape"
    assert any(e["func"] == "helper" and e["kind"] == "exception" for e in events)


PHASES_CONFTEST = '''
import sys
import threading

import pytest

seen = []


@pytest.fixture
def resource():
    opened = "resource"
    yield opened
    closed = opened.upper()


def pytest_runtest_setup(item):
    setup_hook = item.name


def pytest_runtest_teardown(item, nextitem):
    teardown_hook = item.name


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    wrapping = item.name
    yield
    unwrapped = wrapping


def pytest_runtest_makereport(item, call):
    reporting = call.when
    seen.append(reporting)


def pytest_runtest_logreport(report):
    logged = report.when
    seen.append(logged)


def background(n):
    total = 0
    for i in range(n):
        total += i
    return total
'''

PHASES_TESTS = '''
import threading

import conftest


def test_phases(resource):
    worker = threading.Thread(target=conftest.background, args=(3,))
    worker.start()
    worker.join()
    value = len(resource)
    assert value == 9


def test_second(resource):
    assert resource == "resource"
'''


def phase_tapes(root):
    """The events of test_phases.py's two tapes, each checked: sound, none of the
    reporting hooks (makereport, logreport) nor the hook wrapper, and in order
    setup (the conftest's hook, the fixture), the test, teardown."""
    tapes = {}
    for test in ("test_phases", "test_second"):
        tape = Path(DEFAULT_DIR) / tape_name("test_phases.py::" + test)
        assert_sound(root, tape)
        events = dump(root, tape)
        funcs = [e["func"] for e in events if e["kind"] == "call"]
        assert "pytest_runtest_makereport" not in funcs and "pytest_runtest_logreport" not in funcs, funcs
        assert "pytest_runtest_call" not in funcs, funcs  # a hook wrapper
        order = [f for f in funcs if f in ("pytest_runtest_setup", "resource", test, "pytest_runtest_teardown")]
        assert order == ["pytest_runtest_setup", "resource", test, "pytest_runtest_teardown", "resource"], funcs
        tapes[test] = events
    return tapes


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_tape_holds_the_test_s_phases_and_not_the_reporting_between_them(pytester, monkeypatch, backend):
    """A tape holds the test's setup, call and teardown: the fixtures, the
    conftest's hook implementations for those phases, the test's own threads.
    Hook wrappers around the phases and the reporting that pytest does between
    them (makereport, logreport, the terminal) are left out on both backends,
    as they would be if the conftest's were pytest's: the settrace backend
    takes the hook off the thread there."""
    monkeypatch.setenv("TRACETAPE_BACKEND", backend)
    pytester.makeini("[pytest]\n")
    pytester.makeconftest(PHASES_CONFTEST)
    pytester.makepyfile(test_phases=PHASES_TESTS)
    result = run(pytester, "--tape=on", "-p", "no:cacheprovider")
    assert result.ret == 1, show(result)
    result.assert_outcomes(passed=1, failed=1)
    assert "replaced tracetape's trace function" not in result.stderr.str(), show(result)
    tapes = phase_tapes(pytester.path)
    for test, events in tapes.items():
        fixture = [e for e in events if e["func"] == "resource"]
        assert any(e["locals"].get("closed") == "'RESOURCE'" for e in fixture), fixture
        assert any(e["func"] == "pytest_runtest_teardown" and e["locals"].get("teardown_hook") == repr(test)
                   for e in events), events
    events = tapes["test_phases"]
    threads = {e["thread"] for e in events if e["func"] == "background"}
    main = {e["thread"] for e in events if e["func"] == "test_phases"}
    assert threads and not threads & main, events
    assert any(e["func"] == "background" and e["kind"] == "return" and e.get("value") == "3" for e in events)
    failure = [e for e in events if e["func"] == "test_phases" and e["kind"] == "exception"]
    assert failure and failure[0]["locals"].get("value") == "8", failure


RUN_TESTS_SCRIPT = '''
import sys

import pytest


class Hooks:
    def pytest_runtest_logreport(self, report):
        script_logged = report.when


sys.exit(pytest.main(["-p", "no:cacheprovider", "--tape=on", "test_phases.py"], plugins=[Hooks()]))
'''


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_phases_alone_when_a_script_in_scope_runs_pytest(pytester, backend):
    """A script of the project that calls pytest.main() is in the recording's
    scope and under every test: its frame is on the stack at each pause. The
    tapes are those of test_a_tape_holds_the_test_s_phases_...: the script's
    own hook, run between the phases, is left out as the conftest's are."""
    pytester.makeini("[pytest]\n")
    pytester.makeconftest(PHASES_CONFTEST)
    pytester.makepyfile(test_phases=PHASES_TESTS)
    script = pytester.path / "run_tests.py"
    script.write_text(RUN_TESTS_SCRIPT)
    proc = subprocess.run([sys.executable, str(script)], cwd=str(pytester.path), env=child_env(backend),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=SUBPROCESS_TIMEOUT)
    out = proc.stdout.decode("utf-8", "backslashreplace") + proc.stderr.decode("utf-8", "backslashreplace")
    assert proc.returncode == 1, out
    assert "1 failed, 1 passed" in out, out
    assert "replaced tracetape's trace function" not in out, out
    for test, events in phase_tapes(pytester.path).items():
        # Every event of the test's own frames is there, at the depth under the script's frame.
        body = [e for e in events if e["func"] == test]
        assert body[0]["kind"] == "call" and body[-1]["kind"] in ("return", "exception"), body
        assert len({e["depth"] for e in body}) == 1, body


def test_run_from_a_subdirectory(pytester, monkeypatch):
    """The default tape directory is under the rootdir, and the paths shown are right
    from where pytest was started."""
    pytester.makeini("[pytest]\n")
    sub = pytester.mkpydir("tests")
    (sub / "test_sub.py").write_text("def test_fail():\n    x = 3\n    assert x == 4\n")
    monkeypatch.chdir(sub)
    result = run(pytester)
    assert result.ret == 1
    result = run(pytester, "--tape")
    assert result.ret == 1, show(result)
    nodeid = "tests/test_sub.py::test_fail"
    assert tape_files(pytester.path / DEFAULT_DIR) == names([nodeid]), show(result)
    assert not (sub / DEFAULT_DIR).exists()
    check_announced(result, sub, pytester.path / DEFAULT_DIR, {"test_fail": nodeid})
    section = tracetape_section(failure_blocks(result)["test_fail"])
    opening = replay(sub, replay_paths(section)[0])
    assert "  x = 3" in opening, opening


def test_report_path_is_right_when_the_test_changes_directory(pytester):
    """A test that chdirs (monkeypatch.chdir) and fails: the report is made while the
    test's cwd is in effect, but the path shown must still lead to the tape from where
    pytest was started (as the terminal summary's does)."""
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(test_cd="""
        import os

        def test_cd(monkeypatch):
            monkeypatch.chdir(os.path.dirname(os.getcwd()))
            here = os.getcwd()
            assert here == "nowhere"
    """)
    result = run(pytester, "--tape")
    assert result.ret == 1, show(result)
    nodeid = "test_cd.py::test_cd"
    assert tape_files(pytester.path / DEFAULT_DIR) == names([nodeid])
    check_announced(result, pytester.path, pytester.path / DEFAULT_DIR, {"test_cd": nodeid})


# ------------------------------------------------------------------ xdist
XDIST_TESTS = '''
import pytest


@pytest.mark.parametrize("x", range(6))
def test_bad(x):
    doubled = x * 2
    assert doubled < 0


def test_good_1():
    pass


def test_good_2():
    pass
'''
XDIST_FAILED = ["test_dist.py::test_bad[%d]" % i for i in range(6)]


def require_xdist():
    if importlib.util.find_spec("xdist") is None:
        pytest.fail("pytest-xdist is not installed in %s (%s): install it with `%s -m pip "
                    "install pytest-xdist` (it belongs in the dev dependencies); the "
                    "plugin must work under `pytest -n`" % (sys.prefix, sys.version.split()[0],
                                                           sys.executable), pytrace=False)


def test_xdist_each_failure_gets_its_own_tape(pytester):
    require_xdist()
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(test_dist=XDIST_TESTS)
    plain = run(pytester, "-n", "2")
    taped = run(pytester, "-n", "2", "--tape")
    same_run(plain, taped)
    taped.assert_outcomes(passed=2, failed=6)
    tape_dir = pytester.path / DEFAULT_DIR
    assert tape_files(tape_dir) == names(XDIST_FAILED), show(taped)
    assert len(all_tapes(pytester.path)) == 6
    blocks = failure_blocks(taped)
    for i, nodeid in enumerate(XDIST_FAILED):
        tape = Path(DEFAULT_DIR) / tape_name(nodeid)
        assert_sound(pytester.path, tape)
        opening = replay(pytester.path, tape)
        assert opening[0] == "Test %s failed here:" % nodeid, opening
        assert "  doubled = %d" % (2 * i) in opening, opening
        section = tracetape_section(blocks["test_bad[%d]" % i])
        assert section is not None, blocks["test_bad[%d]" % i]
        assert [resolve(pytester.path, p) for p in replay_paths(section)] == [
            (pytester.path / tape).resolve()], section
    # Each tape is named once across the whole output's failure sections.
    text = taped.stdout.str()
    for nodeid in XDIST_FAILED:
        assert text.count("replay it from the failure: tracetape replay %s"
                          % shlex.quote(os.path.join(DEFAULT_DIR, tape_name(nodeid)))) == 1, text


def test_xdist_terminal_summary_lists_kept_tapes(pytester):
    """Under -n the tests run in workers, but the summary (printed by the controller)
    must still list every kept tape."""
    require_xdist()
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(test_dist=XDIST_TESTS)
    taped = run(pytester, "-n", "2", "--tape")
    assert taped.ret == 1, show(taped)
    check_announced(taped, pytester.path, pytester.path / DEFAULT_DIR,
                    {"test_bad[%d]" % i: n for i, n in enumerate(XDIST_FAILED)})


# ------------------------------------------- pytest itself under `tracetape record`
STRICT_WARNINGS_TESTS = '''
def double(x):
    result = x * 2
    return result


def test_double():
    assert double(21) == 42
'''


@pytest.mark.parametrize("strict", [True, False], ids=["filterwarnings-error", "default-warnings"])
def test_record_pytest_as_a_module(pytester, strict):
    """`tracetape record -m pytest` of a project whose pytest turns warnings into errors
    (toolz's, and many others'): tracetape, imported before pytest loads its plugin from
    the `pytest11` entry point, must not make pytest warn (PytestAssertRewriteWarning,
    then an error at configuration time with `filterwarnings = error`)."""
    if strict:
        pytester.makeini("[pytest]\nfilterwarnings =\n    error\n")
    pytester.makepyfile(test_strict=STRICT_WARNINGS_TESTS)
    status, out, err = tracetape(pytester.path, "record", "-o", "run.tape", "-m", "pytest",
                                 "-q", "-p", "no:cacheprovider", "test_strict.py")
    assert status == 0, out + err
    assert "1 passed" in out, out + err
    assert "warning" not in out.lower(), out
    status, dump, err = tracetape(pytester.path, "dump", "--format", "jsonl", "run.tape")
    assert status == 0, err
    events = parse_jsonl(dump, "run.tape")
    returns = [e for e in events if e["kind"] == "return" and e["func"] == "double"]
    assert [e["locals"] for e in returns] == [{"x": "21", "result": "42"}], returns
