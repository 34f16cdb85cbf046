"""End-to-end: random mutations of a small object graph, recorded and compared with the
reference recorder.

The recorder does not render an unchanged instance or dict again (its version tag, or
on 3.13 its inline values, vouch for it), and renders a changed one from its last
rendering, taking the text of every value still bound there (see Renderer::SpliceItems).
The sample programs check each kind of change on its own; here seeded random programs
mix them: attributes set and deleted (so that the same names come in another order),
dict items set and popped, lists changed in place, classes swapped, `__dict__` replaced,
cycles, the same objects inside deeper containers (the depth limit), long values (the
length budget) and redacted names. Every line's locals must be the reference's.
"""

import random

import pytest

from conftest import BACKENDS, run_record, run_reference, sequence_report

NAMES = ["a", "b", "c", "d"]
ATTRS = ["x", "y", "z", "w", "password", "tags", "items", "sub"]
KEYS = ["'k1'", "'k2'", "'k3'", "1", "2", "'password'"]
VALUES = ["0", "1", "-5", "'s'", "'t' * 3", "None", "True", "1.5", "[1, 2]", "[]", "(1,)",
          "{}", "{'q': 1}", "Bag()", "2 ** 70", "'x' * 250"]
OPERATIONS = 300
SEEDS = range(6)


def mutation_program(seed, operations=OPERATIONS):
    """The text of a program whose work() applies `operations` random mutations, one
    per line, to four instances that its locals hold."""
    rng = random.Random(seed)

    def value():
        return rng.choice(NAMES) if rng.random() < 0.15 else rng.choice(VALUES)

    lines = []
    for _ in range(operations):
        o = rng.choice(NAMES)
        k = rng.random()
        if k < 0.35:
            lines.append("setattr(%s, %r, %s)" % (o, rng.choice(ATTRS), value()))
        elif k < 0.45:
            lines.append("%s.__dict__.pop(%r, None)" % (o, rng.choice(ATTRS)))
        elif k < 0.60:
            lines.append("%s.d[%s] = %s" % (o, rng.choice(KEYS), value()))
        elif k < 0.65:
            lines.append("%s.d.pop(%s, None)" % (o, rng.choice(KEYS)))
        elif k < 0.72:
            lines.append("%s.l.append(%s)" % (o, value()))
        elif k < 0.76:
            lines.append("%s.l[:] = %s.l[1:]" % (o, o))
        elif k < 0.80:
            lines.append("%s.__class__ = %s" % (o, rng.choice(["Bag", "Other"])))
        elif k < 0.85:
            lines.append("holder = [%s, %s, [[[%s]]]]" % tuple(rng.choice(NAMES) for _ in range(3)))
        elif k < 0.90:
            lines.append("nest = {'p': %s, 'q': {'r': %s}}" % (rng.choice(NAMES), rng.choice(NAMES)))
        elif k < 0.93:
            lines.append("%s.__dict__ = dict(%s.__dict__)" % (o, o))
        else:
            lines.append("%s.d = dict(%s.d)" % (o, o))
    body = "\n".join("    " + line for line in lines)
    return (
        "class Bag:\n    pass\n\n\nclass Other:\n    pass\n\n\n"
        "def make():\n    o = Bag()\n    o.d = {'k1': 1}\n    o.l = [1]\n    return o\n\n\n"
        "def work():\n"
        + "".join("    %s = make()\n" % name for name in NAMES)
        + "    holder = nest = None\n"
        + body + "\n    return a, holder, nest\n\n\nwork()\nprint('done')\n")


def test_programs_differ_by_seed():
    # The generator is deterministic, and seeds give different programs.
    assert mutation_program(1) == mutation_program(1)
    assert len({mutation_program(s) for s in SEEDS}) == len(SEEDS)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", SEEDS)
def test_random_mutations_match_reference(seed, backend, tmp_path):
    script = tmp_path / ("mutations_%d.py" % seed)
    script.write_text(mutation_program(seed), encoding="utf-8")
    reference = run_reference(script, cwd=tmp_path)
    assert reference.status == 0, reference.stderr
    assert reference.stdout == "done\n"
    recorded = run_record(script, backend=backend, cwd=tmp_path)
    assert recorded.status == 0, recorded.stderr
    # Every operation is a line event of work(), with all four instances in its locals.
    lines = [e for e in reference.events if e["kind"] == "line" and e["func"] == "work"]
    assert len(lines) > OPERATIONS
    report = sequence_report(reference.events, recorded.events,
                             "seed %d (%s hook)" % (seed, backend))
    if report:
        pytest.fail(report, pytrace=False)
