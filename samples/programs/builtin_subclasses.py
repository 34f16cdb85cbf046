"""Instances of subclasses of the builtins (RENDERING.md rule 9: `T(base value)`) as locals,
as attributes of an instance and as items of a list, changed in every way their text can
change between two events: in place, by rebinding, by a new `__class__` or a renamed class,
and by a new object of the same class where a freed one was. The recorder compares them
with what it rendered last instead of rendering them again at every event."""

import collections
import enum


class Point(collections.namedtuple("Point", "x y")):
    pass


Pair = collections.namedtuple("Pair", "left right")


class Stack(list):
    pass


class Queue(list):
    pass


class Registry(dict):
    pass


class Tags(set):
    pass


class Frozen(frozenset):
    pass


class Coords(tuple):
    pass


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Meters(int):
    pass


class Feet(int):
    pass


class Name(str):
    pass


class Blob(bytes):
    pass


class Wrapped(bytes):
    """Its buffer (3.12+: __buffer__, PEP 688) is program code, which neither the
    recorder nor the reference may run to read its bytes."""
    opened = []

    def __buffer__(self, flags):
        Wrapped.opened.append(flags)
        return memoryview(b"other")


class Ratio(float):
    pass


class Box:
    def __init__(self):
        self.pair = Pair([1], {"k": 1})
        self.stack = Stack([1, 2])
        self.counts = collections.Counter("aab")
        self.level = Level.LOW
        self.size = Meters(3)


def in_place():
    pair = Pair([1, 2], {"a": 1})
    stack = Stack([1])
    registry = Registry(a=1)
    counts = collections.Counter("abca")
    tags = Tags({"x"})
    pair.left.append(3)
    pair.right["b"] = 2
    stack.append(2)
    stack[0] = "first"
    registry["b"] = [1]
    registry["b"].append(2)
    counts["a"] += 1
    counts.update("zz")
    tags.add("y")
    tags.discard("x")
    tags.symmetric_difference_update({"y", "w"})  # the same size
    stack.__class__ = Queue
    Queue.__name__ = "Renamed"
    stack.append(3)
    Queue.__name__ = "Queue"
    return len(stack) + len(tags)


def scalars():
    level = Level.LOW
    size = Meters(5)
    size = Feet(5)
    Feet.__name__ = "Yards"
    level = Level.HIGH
    name = Name("alpha")
    name = Name("beta")
    blob = Blob(b"\x00a")
    wrapped = Wrapped(b"own")
    opened = len(Wrapped.opened)
    ratio = Ratio(0.5)
    ratio = Ratio(1e20)
    Feet.__name__ = "Feet"
    return int(size) + level + len(name) + len(blob) + int(ratio > 1) + len(wrapped) + opened


def nested():
    box = Box()
    items = [Point([1], 2), Coords((1, [2])), Frozen({1, 2}), Tags({"t"}), Level.HIGH]
    box.pair.left.append(2)
    box.stack.append(3)
    box.counts["c"] += 2
    box.level = Level.HIGH
    box.size = Meters(4)
    items[0].x.append(5)
    items[1][1].append(6)
    items[3].add("u")
    items[3].symmetric_difference_update({"u", "v"})
    items[4] = Level.LOW
    box.stack.__class__ = Queue
    box.counts = collections.Counter()
    return len(items) + len(box.stack)


def reused():
    # Each object is freed when the next is bound: a new one of the same
    # class, or of another, may take its address.
    total = 0
    for i in range(40):
        stack = Stack([i % 3])
        point = Point([i % 2], i % 4)
        other = Queue([i % 3]) if i % 2 else Stack([i % 3])
        total += len(stack) + len(other) + point.y
    return total


print(in_place(), scalars(), nested(), reused())
