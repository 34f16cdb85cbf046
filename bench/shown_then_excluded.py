"""What recording costs code it does not record, once it has shown that code's objects.

A recorded function shows an instance as a local, once; then a loop outside the
recording's scope (a library's code, say) reads and writes that instance's
attributes. The loop's time should not depend on the recording: run untraced, under
`tracetape record --locals all` and under `--locals none`, with only this script's
`recorded_*` functions in scope (the loop lives in a module generated next to it, out
of scope). Until 34ee619 the recorder made such an instance's __dict__ on CPython 3.11
and 3.12 to compare it at a version, and CPython specializes no attribute access on
the split table it makes: the loop ran 3.3x slower on 3.12 for the rest of the run.

usage: python bench/shown_then_excluded.py [ROUNDS]   (tracetape installed in that python)
Prints the fastest of five timings of the loop in each mode.
"""

import os
import subprocess
import sys
import tempfile
import textwrap

LIBRARY = textwrap.dedent('''\
    class Point:
        def __init__(self):
            self.x = 0
            self.y = 0


    def hot(p, n):
        for _ in range(n):
            p.x = p.x + 1
            p.y = p.x
        return p.x
''')

PROGRAM = textwrap.dedent('''\
    import sys
    import time

    import shown_library


    def recorded_make():
        p = shown_library.Point()
        return p  # shown as a local, and returned


    def recorded_main():
        p = recorded_make()
        times = []
        for _ in range(5):
            t = time.perf_counter()
            shown_library.hot(p, int(sys.argv[1]))
            times.append(time.perf_counter() - t)
        print(min(times))


    recorded_main()
''')


def main():
    rounds = sys.argv[1] if len(sys.argv) > 1 else "2000000"
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "shown_library.py"), "w") as f:
            f.write(LIBRARY)
        program = os.path.join(tmp, "shown_program.py")
        with open(program, "w") as f:
            f.write(PROGRAM)
        tape = os.path.join(tmp, "t.tape")
        record = [sys.executable, "-m", "tracetape", "record", "-o", tape, "--include", program]
        modes = [("untraced", [sys.executable, program, rounds]),
                 ("tracetape --locals all", record + ["--locals", "all", program, rounds]),
                 ("tracetape --locals none", record + ["--locals", "none", program, rounds])]
        print(f"CPython {sys.version.split()[0]}, {rounds} rounds of the loop, fastest of 5:")
        for name, cmd in modes:
            out = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, check=True).stdout
            print(f"  {name:24} {float(out.split()[0]):.4f} s")


if __name__ == "__main__":
    main()
