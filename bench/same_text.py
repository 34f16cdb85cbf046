"""What recording costs values that change without their text changing, and values
whose comparison used to cost more than the rest of an event.

The recorder renders a local anew only when its comparison with the last rendering says it
may have changed. Each of the first six cases below changes a value in a way its text does
not show, at every step of a loop; a comparison stricter than the text renders the value
anew each time, to the same text. The last two hold values that do not change. Real
suites led to each (see the README's Performance section):

  appended     a list, a dict and a deque appended to past the 30 items they show
  idle-deque   a method's `self` holding an empty deque (an idle work queue), in a
               process where no deque has held an item yet
  redacted     an instance whose secret-named attribute (`_tokens`) is bound anew
  class        a class built attribute by attribute (`setattr(cls, ...)`)
  closure      a local bound to a new closure, and to a new `object()` sentinel
  slotted-self a method's `self` of a slotted class (no __dict__) holding others,
               bound anew in each call's frame
  empty-lists  a loop whose frame holds empty lists (accumulators not filled yet): an
               empty list's items pointer is null, and comparing it by memcmp cost a
               microcode assist at each event
  parents      a method's `self` whose parent points back at it, and at its siblings
               (marshmallow's fields, markdown's processors), each bound in turn

usage: python bench/same_text.py [STEPS]   (tracetape installed in that python)
Prints, per case, the fastest of three timings untraced and under `tracetape record`
(full recording), and their ratio.
"""

import os
import subprocess
import sys
import tempfile
import textwrap

# The loop of the cases that call a method of one instance at each step.
STEP_EACH = '''
        def work(n):
            obj = %s()
            total = 0
            for i in range(n):
                total += obj.step(i)
            return total
'''

CASES = {
    "appended": '''
        import collections
        def work(n):
            out, seen, q = [], {}, collections.deque()
            for i in range(n):
                out.append(i)
                seen[i] = i
                q.append(i)
            return len(out)
    ''',
    "idle-deque": '''
        import collections
        class Checker:
            def __init__(self):
                self.deferred = collections.deque()
                self.count = 0
                self.names = ["a", "b"]
            def step(self, i):
                self.names[0] = "a"
                return i
    ''' + STEP_EACH % "Checker",
    "redacted": '''
        class Parser:
            def __init__(self):
                self._tokens = iter(())
                self.index = 0
                self.rows = [1, 2]
            def step(self, i):
                self._tokens = iter((i,))
                return i
    ''' + STEP_EACH % "Parser",
    "class": '''
        def work(n):
            cls = type("Built", (), {})
            for i in range(n):
                setattr(cls, "f%d" % (i % 50), i)
            return cls
    ''',
    "slotted-self": '''
        class Point:
            __slots__ = ("x", "y")
        class Segment:
            __slots__ = ("start", "end", "labels")
            def __init__(self):
                self.start, self.end = Point(), Point()
                self.start.x, self.start.y, self.end.x, self.end.y = 0.5, 1.5, (2, 3), None
                self.labels = ["first", "last"]
            def step(self, i):
                return i
    ''' + STEP_EACH % "Segment",
    "closure": '''
        def work(n):
            total = 0
            for i in range(n):
                def add(x, i=i):
                    return x + i
                marker = object()
                total = add(total)
            return total
    ''',
    "empty-lists": '''
        def work(n):
            found, errors, seen = [], [], []
            total = 0
            for i in range(n):
                total += i
            return total
    ''',
    "parents": '''
        class Field:
            def __init__(self, schema, name):
                self.schema, self.name, self.required = schema, name, False
                self.options = {"default": None, "many": False, "errors": {"required": "missing"}}
                self.validators = []
            def step(self, i):
                value = i * 2
                value += 1
                return value
        class Schema:
            def __init__(self):
                self.fields = {n: Field(self, n) for n in ("id", "name", "email", "age", "tags")}
                self.many = False
        def work(n):
            fields = list(Schema().fields.values())
            total = 0
            for i in range(n):
                total += fields[i % 5].step(i)
            return total
    ''',
}

RUNNER = '''
import sys, time
{body}
t = time.perf_counter()
work({steps})
sys.stderr.write("body %.6f\\n" % (time.perf_counter() - t))
'''


def timed(cmd, env):
    best = None
    for _ in range(3):
        proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True)
        body = [float(line.split()[1]) for line in proc.stderr.splitlines() if line.startswith("body ")]
        best = body[0] if best is None else min(best, body[0])
    return best


def main():
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    env = dict(os.environ, PYTHONHASHSEED="0")
    print("%-12s %10s %10s %7s" % ("case", "untraced", "recorded", "ratio"))
    with tempfile.TemporaryDirectory() as tmp:
        for name, body in CASES.items():
            script = os.path.join(tmp, name.replace("-", "_") + ".py")
            with open(script, "w") as f:
                f.write(RUNNER.format(body=textwrap.dedent(body), steps=steps))
            plain = timed([sys.executable, script], env)
            tape = os.path.join(tmp, "t.tape")
            recorded = timed([sys.executable, "-m", "tracetape", "record", "-o", tape, script], env)
            print("%-12s %9.3fs %9.3fs %6.1fx" % (name, plain, recorded, recorded / plain))


if __name__ == "__main__":
    main()
