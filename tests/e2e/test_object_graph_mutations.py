"""End-to-end: random mutations of a small object graph, recorded and compared with the
reference recorder.

The recorder does not render an unchanged instance or dict again (its version tag, or
on 3.13 its inline values, vouch for it), and renders a changed one from its last
rendering, taking the text of every value still bound there (see Renderer::SpliceItems).
The sample programs check each kind of change on its own; here seeded random programs
mix them: attributes set and deleted (so that the same names come in another order),
dict items set and popped, lists changed in place, classes swapped, `__dict__` replaced,
cycles, the same objects inside deeper containers (the depth limit), long values (the
length budget) and redacted names. A second generator mixes every kind of value the
rendering rules name (sets and frozensets, empty ones too, dict subclasses, int and str
subclasses, enums, exceptions, functions, classes, modules, slotted objects) in
containers that change in place and nest past the depth limit. Every line's locals must
be the reference's.
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


CONTAINER_VALUES = [
    "0", "-1", "True", "None", "2.5", "'s'", "'\u00e9' * 3", "b'\\x00z'", "3j", "2 ** 80", "[]",
    "[1, [2, [3, [4, [5]]]]]", "(1, [2])", "()", "(7,)", "{1, 2}", "frozenset({3})", "set()",
    "frozenset()", "{'k': [1]}", "Color.RED", "Num(5)", "Txt('u')", "ValueError('bad', 3)",
    "KeyError()", "make", "Bag", "math", "len", "'q' * 300", "list(range(40))", "Slotted()",
    "Bag()"]
CONTAINER_KEYS = ["1", "'k'", "'token'", "(1,)", "None"]
CONTAINER_SEEDS = range(4)


def container_program(seed, operations=OPERATIONS):
    """The text of a program whose work() applies `operations` random changes, one per
    line, to containers of every kind and to instances holding them."""
    rng = random.Random(seed)
    holders = ["a", "b", "c"]
    containers = ["L", "T", "S", "D", "OD", "DD"]

    def value():
        k = rng.random()
        if k < 0.12:
            return rng.choice(holders)
        if k < 0.2:
            return rng.choice(containers)
        return rng.choice(CONTAINER_VALUES)

    choices = [
        lambda o: "setattr(%s, %r, %s)" % (o, rng.choice(["x", "y", "token", "sub"]), value()),
        lambda o: "%s.__dict__.pop(%r, None)" % (o, rng.choice(["x", "y", "token", "sub"])),
        lambda o: "L.append(%s)" % value(),
        lambda o: "L[:] = L[-5:] or [0]",
        lambda o: "L[0] = %s" % value(),
        lambda o: "T = (%s, %s, L)" % (value(), value()),
        lambda o: "S.add(%s)" % rng.choice(["1", "2", "'w'", "None", "(1, 2)"]),
        lambda o: "S.clear()",
        lambda o: "D[%s] = %s" % (rng.choice(CONTAINER_KEYS), value()),
        lambda o: "D.pop(%s, None)" % rng.choice(CONTAINER_KEYS),
        lambda o: "OD[%s] = %s" % (rng.choice(["1", "'k'"]), value()),
        lambda o: "OD.move_to_end(1) if 1 in OD else None",
        lambda o: "DD[%s].append(%s)" % (rng.choice(["1", "'k'"]), value()),
        lambda o: "%s.__class__ = %s" % (o, rng.choice(["Bag", "Other"])),
        lambda o: "%s.__name__ = %r" % (rng.choice(["Bag", "Other"]), rng.choice(["Bag", "Other", "Renamed"])),
        lambda o: "E.args = (%s,)" % value(),
        lambda o: "W = [[[%s]]], [%s]" % (o, o),
        lambda o: "Z.items.append(%s)" % value(),
        lambda o: "%s.__dict__.clear()" % o,
        lambda o: "X = %s" % value(),
        lambda o: "Y = {'a': %s, 'b': [%s, (%s,)]}" % (o, o, o),
    ]
    lines = [rng.choice(choices)(rng.choice(holders)) for _ in range(operations)]
    return (
        "import collections\nimport enum\nimport math\n\n\n"
        "class Color(enum.Enum):\n    RED = 1\n\n\n"
        "class Num(int):\n    pass\n\n\nclass Txt(str):\n    pass\n\n\n"
        "class Bag:\n    pass\n\n\nclass Other:\n    pass\n\n\n"
        "class Slotted:\n    __slots__ = ('items',)\n\n    def __init__(self):\n"
        "        self.items = []\n\n\n"
        "def make():\n    return Bag()\n\n\n"
        "def work():\n    a, b, c = Bag(), Bag(), Other()\n    L, T, S, D = [1], (), set(), {}\n"
        "    OD = collections.OrderedDict()\n    DD = collections.defaultdict(list)\n"
        "    E = ValueError('e')\n    Z = Slotted()\n    W = X = Y = None\n"
        + "".join("    %s\n" % line for line in lines)
        + "    return a\n\n\nwork()\nprint('done')\n")


def test_programs_differ_by_seed():
    # The generators are deterministic, and seeds give different programs.
    assert mutation_program(1) == mutation_program(1)
    assert len({mutation_program(s) for s in SEEDS}) == len(SEEDS)
    assert container_program(1) == container_program(1)
    assert len({container_program(s) for s in CONTAINER_SEEDS}) == len(CONTAINER_SEEDS)


def _compare(source, name, backend, tmp_path):
    script = tmp_path / name
    script.write_text(source, encoding="utf-8")
    reference = run_reference(script, cwd=tmp_path)
    assert reference.status == 0, reference.stderr
    assert reference.stdout == "done\n"
    recorded = run_record(script, backend=backend, cwd=tmp_path)
    assert recorded.status == 0, recorded.stderr
    # Every operation is a line event of work().
    lines = [e for e in reference.events if e["kind"] == "line" and e["func"] == "work"]
    assert len(lines) > OPERATIONS
    report = sequence_report(reference.events, recorded.events, "%s (%s hook)" % (name, backend))
    if report:
        pytest.fail(report, pytrace=False)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", SEEDS)
def test_random_mutations_match_reference(seed, backend, tmp_path):
    _compare(mutation_program(seed), "mutations_%d.py" % seed, backend, tmp_path)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", CONTAINER_SEEDS)
def test_random_container_changes_match_reference(seed, backend, tmp_path):
    _compare(container_program(seed), "containers_%d.py" % seed, backend, tmp_path)
