"""Values the recorder holds and compares by identity alone: tuples of plain
scalars (short, longer than shown, and past the size it holds whole), datetimes
and ranges, as locals, as attributes of plain and slotted instances, at and past
the depth limit, and in a generator suspended and resumed; beside tuples that
hold lists, whose insides still change."""

import datetime


class Table:
    def __init__(self, n):
        self.mask = tuple(i % 3 for i in range(n))
        self.pair = (n, "n", 0.5, None, b"b", True)
        self.mixed = (n, [n])


class Slotted:
    __slots__ = ("mask", "when", "steps")

    def __init__(self):
        self.mask = tuple(range(40))
        self.when = datetime.date(2024, 2, 29)
        self.steps = range(0, 10, 3)


def locals_rebound():
    t = (1, 2, 3)
    t = (1, 2, 3)                       # an equal tuple made anew: the same text
    t = t + (4,)
    big = tuple(range(1500))            # past what is held whole
    big = big[:1499] + (-1,)            # an item past those shown changed
    long = tuple(range(500))
    long = tuple(range(1, 501))
    nested = (1, (2, 3), "x")           # a tuple in a tuple: compared by its items
    nested = (1, (2, 4), "x")
    inner = [5]
    holder = (0, inner)
    inner.append(6)                     # inside a tuple that holds a list
    inner[0] = 7
    when = datetime.datetime(2024, 1, 31, 12, 0)
    when = when + datetime.timedelta(days=1)
    span = range(3)
    span = range(3)
    span = range(4)
    day = datetime.date(2024, 3, 1)
    return t, big, long, nested, holder, when, span, day


def attributes():
    table = Table(400)
    rows = [table, Table(5)]
    table.mask = tuple(i % 3 for i in range(400))   # equal, made anew
    table.mask = table.mask[:10] + (9,) + table.mask[11:]
    table.mixed[1].append(1)
    table.pair = (1,)
    slotted = Slotted()
    slotted.mask = tuple(range(1, 41))
    slotted.when = datetime.date(2024, 3, 1)
    slotted.steps = range(0, 10, 4)
    return rows, slotted


def depths():
    table = Table(3)
    shallow = [table]
    deep = [[[[table]]]]                 # `table` at the depth limit: its tuples past it
    shallow.append(deep)
    deep[0][0][0].append(Table(4))
    deep[0][0][0] = [table]
    shallow.pop()
    return shallow, deep


def counter(table):
    seen = table.mask
    while True:
        step = yield seen
        seen = seen + (step,)
        table.pair = (step, step)


def resumed():
    table = Table(100)
    gen = counter(table)
    got = next(gen)
    for step in range(3):
        got = gen.send(step)
    gen.close()
    return got


def main():
    locals_rebound()
    attributes()
    depths()
    resumed()


main()
