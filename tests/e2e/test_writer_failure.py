"""A tape writer that fails in the middle of a recording: here the file-size limit
(RLIMIT_FSIZE, with SIGXFSZ ignored, so that write() fails with EFBIG as it would with
ENOSPC on a full disk). The program runs on to its end with its own output and exit
status; tracetape says that the tape is incomplete and why; and what was written before
the failure stays readable, as the first events of the same run recorded in full.

The recording thread's fast paths do not look at the writer at every event (see
Recorder::halted_): they notice where they leave their steady path. The program below
spends its run in one function, on one line, so that is what these tests exercise.
"""

import resource
import signal
import subprocess
import sys
import textwrap

import pytest

from conftest import BACKENDS, child_env, parse_jsonl, tracetape_cmd

PROGRAM = textwrap.dedent("""\
    import random
    import sys


    def spin(n):
        rng = random.Random(7)
        t = 0
        for i in range(n):
            t ^= rng.getrandbits(40)
        return t


    print("result", spin(int(sys.argv[1])))
    sys.exit(3)
""")
ROUNDS = "100000"  # 200k events: a few chunks, at either --locals
EXPECTED_STDOUT = "result 531199306606\n"


def run(cmd, cwd, backend, limit=None):
    def limit_file_size():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.run(cmd, cwd=str(cwd), env=child_env(backend), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300,
                          preexec_fn=limit_file_size if limit else None)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def dump(tape, cwd):
    status, out, err = run(tracetape_cmd("dump", str(tape), "--format", "jsonl"), cwd, None)
    assert status == 0, err
    return parse_jsonl(out, str(tape)), err


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("locals_mode", ["all", "none"])
def test_a_writer_that_fails_loses_only_what_was_not_written(tmp_path, backend, locals_mode):
    script = tmp_path / "spin.py"
    script.write_text(PROGRAM)
    full_tape, cut_tape = tmp_path / "full.tape", tmp_path / "cut.tape"
    status, out, err = run(tracetape_cmd("record", "-o", str(full_tape), "--locals", locals_mode,
                                         str(script), ROUNDS), tmp_path, backend)
    assert (status, out) == (3, EXPECTED_STDOUT), err
    full, _ = dump(full_tape, tmp_path)
    assert len(full) > 200_000
    # A limit that the tape reaches after some of its chunks, not all.
    limit = full_tape.stat().st_size * 7 // 10

    status, out, err = run(tracetape_cmd("record", "-o", str(cut_tape), "--locals", locals_mode,
                                         str(script), ROUNDS), tmp_path, backend, limit=limit)
    # The program itself is untouched: its output, its exit status.
    assert (status, out) == (3, EXPECTED_STDOUT), err
    assert "tracetape: error: the tape %s is incomplete" % cut_tape in err, err
    assert "File too large" in err, err
    assert cut_tape.stat().st_size <= limit

    # What was written is there, and is the start of the same run.
    cut, warning = dump(cut_tape, tmp_path)
    assert "incomplete tape" in warning, warning
    assert 0 < len(cut) < len(full)
    assert cut == full[:len(cut)]
