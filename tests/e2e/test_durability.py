"""End-to-end: what a recording leaves behind when the process ends abruptly
(DESIGN 5 and 8): SIGTERM and os._exit leave a complete tape, the process ends
as it would have without tracetape (and as promptly), and `kill -9` loses at most
the last moments (chunks are flushed at least twice a second).
"""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import BACKENDS, child_env, parse_jsonl, tracetape_cmd

PY_LOOP = """\
import sys
import time

def loop(progress):
    i = 0
    while True:
        i += 1
        progress.write("%d\\n" % i)
        progress.flush()
        time.sleep(0.001)  # a few thousand events a second: the dump stays small

print("ready", flush=True)
with open(sys.argv[1], "w") as progress:
    loop(progress)
"""

C_CALL = """\
print("ready", flush=True)
n = sum(range(10**10))  # minutes of C, no bytecode boundary
"""


def start(tmp_path, source, backend, *args):
    script = tmp_path / "prog.py"
    script.write_text(source)
    proc = subprocess.Popen(tracetape_cmd("record", "-o", "run.tape", str(script), *args), cwd=str(tmp_path),
                            env=child_env(backend), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline() == b"ready\n", proc.stderr.read()
    return proc


def tracetape(tmp_path, *args):
    return subprocess.run(tracetape_cmd(*args), cwd=str(tmp_path), env=child_env(), capture_output=True,
                          text=True, timeout=120)


def last_i(tmp_path):
    dump = tracetape(tmp_path, "dump", "run.tape", "--format", "jsonl")
    values = [int(e["locals"]["i"]) for e in parse_jsonl(dump.stdout, "dump")
              if e["func"] == "loop" and "i" in e["locals"]]
    return max(values)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("where", ["python loop", "long C call"])
def test_sigterm_finishes_the_tape_and_ends_the_process_promptly_by_sigterm(tmp_path, backend, where):
    proc = start(tmp_path, PY_LOOP if where == "python loop" else C_CALL, backend, "progress.txt")
    time.sleep(0.3)
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        status = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError("SIGTERM did not end the recorded process within 30 s")
    took = time.monotonic() - sent
    assert status == -signal.SIGTERM, proc.stderr.read()
    # A Python-level handler waited for the C call to end (here: minutes).
    assert took < 5, "the process took %.1f s to die of SIGTERM" % took
    verify = tracetape(tmp_path, "verify", "run.tape")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    info = tracetape(tmp_path, "info", "run.tape").stdout
    assert "exit status 143" in info, info
    if where == "python loop":
        assert last_i(tmp_path) >= 10


@pytest.mark.parametrize("backend", BACKENDS)
def test_kill_9_loses_at_most_the_last_moments(tmp_path, backend):
    proc = start(tmp_path, PY_LOOP, backend, "progress.txt")
    progress = tmp_path / "progress.txt"
    time.sleep(1.5)
    lines = progress.read_text().split()
    reached_before = int(lines[-1]) if lines else 0  # the loop's count a second before the kill
    time.sleep(1.0)
    proc.kill()
    proc.wait(timeout=30)
    verify = tracetape(tmp_path, "verify", "run.tape")
    assert verify.returncode != 0  # incomplete: no footer
    info = tracetape(tmp_path, "info", "run.tape")
    assert info.returncode == 0 and "incomplete" in info.stdout, info.stdout + info.stderr
    assert reached_before > 0
    assert last_i(tmp_path) >= reached_before


@pytest.mark.parametrize("backend", BACKENDS)
def test_os_exit_and_the_programs_view_of_sigterm(tmp_path, backend):
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent("""\
        import os, signal

        def finish(code):
            print(signal.getsignal(signal.SIGTERM) == signal.SIG_DFL, flush=True)
            os._exit(code)

        finish(3)
        """))
    plain = subprocess.run([sys.executable, str(script)], cwd=str(tmp_path), env=child_env(), capture_output=True,
                           text=True, timeout=60)
    rec = subprocess.run(tracetape_cmd("record", "-o", "run.tape", str(script)), cwd=str(tmp_path),
                         env=child_env(backend), capture_output=True, text=True, timeout=60)
    assert (rec.returncode, rec.stdout) == (plain.returncode, plain.stdout) == (3, "True\n"), rec.stderr
    verify = tracetape(tmp_path, "verify", "run.tape")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    events = parse_jsonl(tracetape(tmp_path, "dump", "run.tape", "--format", "jsonl").stdout, "dump")
    assert [e["func"] for e in events if e["kind"] == "call"] == ["<module>", "finish"]


def test_a_program_that_handles_sigterm_itself_keeps_its_handler(tmp_path):
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent("""\
        import os, signal, sys

        def on_term(signum, frame):
            print("handled", signum, flush=True)
            sys.exit(7)

        signal.signal(signal.SIGTERM, on_term)
        print("ready", flush=True)
        os.kill(os.getpid(), signal.SIGTERM)
        while True:
            pass
        """))
    rec = subprocess.run(tracetape_cmd("record", "-o", "run.tape", str(script)), cwd=str(tmp_path),
                         env=child_env(), capture_output=True, text=True, timeout=60)
    assert (rec.returncode, rec.stdout) == (7, "ready\nhandled 15\n"), rec.stderr
    verify = tracetape(tmp_path, "verify", "run.tape")
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_two_sigterms_close_together_still_leave_a_complete_tape(tmp_path):
    # GNU timeout signals the process and its group: two SIGTERMs at once.
    for attempt in range(8):
        proc = start(tmp_path, PY_LOOP, None, "progress.txt")
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.001)  # two deliveries, not one pending signal
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == -signal.SIGTERM
        verify = tracetape(tmp_path, "verify", "run.tape")
        assert verify.returncode == 0, (attempt, verify.stdout + verify.stderr)


def test_a_program_that_puts_back_the_default_sigterm_action_keeps_the_guard(tmp_path):
    # signal.getsignal says SIG_DFL under recording, as without it; a library
    # that saves that and puts it back (asyncio's remove_signal_handler does)
    # removed the C guard: the writer thread puts it back.
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent("""\
        import signal, sys, time

        old = signal.getsignal(signal.SIGTERM)
        signal.signal(signal.SIGTERM, lambda *a: None)
        signal.signal(signal.SIGTERM, old)

        def loop(progress):
            i = 0
            while True:
                i += 1
                time.sleep(0.001)

        print("ready", flush=True)
        loop(None)
        """))
    proc = subprocess.Popen(tracetape_cmd("record", "-o", "run.tape", str(script)), cwd=str(tmp_path),
                            env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline() == b"ready\n"
    time.sleep(0.5)  # the writer looks every 100 ms
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == -signal.SIGTERM
    verify = tracetape(tmp_path, "verify", "run.tape")
    assert verify.returncode == 0, verify.stdout + verify.stderr


DISCARD = """\
import os
import sys
import threading
import tracetape

def work(n):
    total = 0
    for i in range(n):
        total += i
    return total

# A tape not wanted after all (pytest --tape's passing test): removed, with a
# thread still running and records the writer has not drained yet.
stop = threading.Event()
worker = threading.Thread(target=lambda: [work(100) for _ in iter(stop.is_set, True)])
path = tracetape.start("passed.tape")
worker.start()
work(200000)
print("discarded", tracetape.stop(discard=True) == path, os.path.exists(path), flush=True)
stop.set()
worker.join()
# Discarding leaves nothing behind that the next recording would trip over.
with tracetape.record("failed.tape") as rec:
    work(3)
print("kept", os.path.exists(rec.path), flush=True)
"""


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_discarded_tape_is_removed_and_the_next_one_is_whole(tmp_path, backend):
    script = tmp_path / "prog.py"
    script.write_text(DISCARD)
    proc = subprocess.run([sys.executable, str(script)], cwd=str(tmp_path), env=child_env(backend),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["discarded True False", "kept True"], proc.stdout + proc.stderr
    assert proc.stderr == "", proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["failed.tape", "prog.py"]
    assert tracetape(tmp_path, "verify", "failed.tape").returncode == 0
    dump = tracetape(tmp_path, "dump", "failed.tape", "--format", "jsonl")
    calls = [e for e in parse_jsonl(dump.stdout, "dump") if e["kind"] == "call" and e["func"] == "work"]
    assert [c["locals"] for c in calls] == [{"n": "3"}]


def test_a_sigterm_while_a_tape_is_discarded_leaves_no_tape(tmp_path):
    # The tape is removed before the writer is stopped: a SIGTERM meanwhile
    # (the writer slowed down so that it comes then) ends the process as it
    # would have, without finishing the unwanted tape.
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent("""\
        import os, signal, threading, time, tracetape
        path = tracetape.start(os.path.abspath("passed.tape"))
        total = 0
        for i in range(20000):
            total += i
        threading.Thread(target=lambda: (time.sleep(0.02), os.kill(os.getpid(), signal.SIGTERM))).start()
        tracetape.stop(discard=True)
        time.sleep(5)
    """))
    env = child_env()
    env["TRACETAPE_TEST_WRITER_PAUSE_US"] = "100000"
    proc = subprocess.run([sys.executable, str(script)], cwd=str(tmp_path), env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == -signal.SIGTERM, (proc.returncode, proc.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prog.py"]


def test_a_forked_child_whose_tape_cannot_be_made_stops_with_an_error(tmp_path):
    # The child's tape goes beside the parent's, in a directory gone by then:
    # its recording is disabled, and its stop() says why (it crashed before).
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent("""\
        import os, sys, tracetape
        d = os.path.abspath("tapes")
        os.makedirs(d)
        path = tracetape.start(os.path.join(d, "run.tape"))
        os.unlink(path)
        os.rmdir(d)
        pid = os.fork()
        if pid == 0:
            try:
                tracetape.stop()
            except OSError as e:
                print("child:", e, flush=True)
                os._exit(3)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        print("child exit", os.waitstatus_to_exitcode(status), flush=True)
        try:
            tracetape.stop()
        except OSError:
            pass
    """))
    proc = subprocess.run([sys.executable, str(script)], cwd=str(tmp_path), env=child_env(), capture_output=True,
                          text=True, timeout=60)
    lines = proc.stdout.splitlines()
    assert lines[-1] == "child exit 3", proc.stdout + proc.stderr
    assert lines[0].startswith("child: ") and "cannot record the forked child" in lines[0], lines
