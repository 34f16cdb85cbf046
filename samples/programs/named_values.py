"""Values whose text is a name: functions, classes, modules and `<T object>`s.

The recorder recognises such a value as unchanged by its identity and the
name object it was rendered with, instead of rendering it again at every
event: each rename below must still show up in the locals of the next
event, exactly as the reference renders them.
"""
import functools
import types


def helper():
    return 1


class Slotted:
    __slots__ = ("a",)


class OtherSlotted:
    __slots__ = ("a",)


class Plain:
    counter = 0


class StrName(str):
    pass


def functions():
    f = helper
    held = [helper, len, [helper]]
    f.__qualname__ = "renamed"       # the function renamed
    f.__qualname__ = "renamed"       # ... to an equal name (another object, maybe)
    f.__qualname__ = "helper"
    f.__name__ = "other"             # not part of its text
    g = lambda: 0                    # noqa: E731
    for i in range(20):
        def made():
            return i
        made.__qualname__ = "made_%d" % (i % 3)
        g = made                     # often at the address of the last one
    held[0] = g
    held[2].append(g)
    return f, g, held


def classes():
    c = Plain
    k = int
    both = (Plain, int, [Slotted])
    Plain.counter += 1               # its dict changes, not its text
    Plain.__qualname__ = "Moved"
    Plain.__module__ = "elsewhere"
    Plain.__module__ = "builtins"    # shown by __name__ then
    Plain.__name__ = "Renamed"
    Plain.__name__ = "Plain"
    Plain.__module__ = __name__
    Plain.__qualname__ = "Plain"
    for i in range(20):
        c = type("Made%d" % (i % 2), (), {})   # classes made and freed
    return c, k, both


def modules():
    m = types.ModuleType("made.up")
    ms = [m, functools]
    m.x = 1                          # its dict changes, not its text
    m.__name__ = "other"
    m.__name__ = StrName("sub")      # not an exact str: no name
    m.__name__ = 5
    del m.__name__
    m.__name__ = "back"
    m = types.ModuleType("fresh")
    return m, ms


def opaque():
    s = Slotted()
    gen = (i for i in range(3))
    it = iter([1, 2])
    calls = [len, print, s, gen]
    Slotted.__name__ = "Slot2"       # its class renamed
    Slotted.__name__ = "Slotted"
    s.__class__ = OtherSlotted       # another class, same layout
    s.__class__ = Slotted
    next(gen)
    next(it)
    bound = s.__init__
    inner = functools.partial(helper)
    nested = functools.partial(inner)
    flat = nested.func is helper     # a partial of a partial without a __dict__ is flattened
    p = functools.partial(helper)    # a builtin class with a __dict__
    p.note = 1
    p.note = 2
    for i in range(30):              # freed and remade at once, often at one address
        s = None; s = Slotted() if i % 2 else OtherSlotted()      # noqa: E702
        it = None; it = iter([]) if i % 2 else iter(())           # noqa: E702
        gen = None; gen = iter(()) if i % 3 else reversed(())     # noqa: E702
    calls[2] = s
    return s, gen, it, calls, bound, p, flat


class Empty:
    pass


def unfilled():
    # Instances whose dict slot is still empty (3.10: no dict made yet).
    e = Empty()
    held = [e, Empty()]
    e.x = 1                          # its dict made
    del e.x                          # and emptied
    held[1].y = 2
    e = Empty()
    for i in range(10):              # freed and remade at once
        e = None; e = Empty() if i % 2 else Slotted()  # noqa: E702
    return e, held


class Box:
    def __hash__(self):
        return 12345                 # a set's order must not depend on addresses


def sets():
    s = {1, 2, 3}
    f = frozenset({"a"})
    held = [s, f, set(), frozenset()]
    s.add(4)
    s.discard(1)
    s.add(1)                         # the same items, maybe in another order
    s.discard(2); s.add(10)          # noqa: E702  same size, another item
    for i in range(12):
        s.discard(i); s.add(i + 100)    # noqa: E702
    held[2].add("x")
    b = Box()
    b.items = {b"k", 2.5}
    s = {b, 7}                       # an instance inside a set
    b.x = 1
    b.x = 2
    deep = [[[[b]]]]                 # b's cached text reused deeper: its set cut
    b.items.add(None)
    deep[0][0][0].append(b.items)
    x = {1, 2}
    for i in range(10):              # a set and a frozenset, often at one address
        x = None; x = frozenset((1, 2)) if i % 2 else {1, 2}  # noqa: E702
    big = set(range(200))            # cut by the item limit
    big.discard(150)
    big.discard(0)
    return s, f, held, b, deep, big


class Oops(ValueError):
    pass


def exceptions():
    e = ValueError("bad", [1])
    o = Oops()
    held = [e, o, KeyError("k")]
    e.args[1].append(2)              # an item of its args changed in place
    e.args = ("other",)              # its args replaced
    e.args = ("other", 2)
    o.args = (e,)                    # an exception inside one
    e.args = ("again",)
    e.args = ("twice",)              # same length, another item
    Oops.__name__ = "Renamed"        # its class renamed
    Oops.__name__ = "Oops"
    e.note = 1                       # not part of its text
    for i in range(10):              # freed and remade at once
        e = None; e = KeyError(1) if i % 2 else ValueError(1)  # noqa: E702
    return e, o, held


def dict_subclasses():
    import collections
    d = collections.defaultdict(list)
    od = collections.OrderedDict(a=1, b=2)
    both = [d, od]
    d["x"].append(1)                 # a value changed in place
    d["y"]                           # an entry made by reading
    od.move_to_end("a")              # its order, not the dict's
    od["c"] = 3
    del od["a"]
    d.default_factory = set          # not part of its text
    return d, od, both


class Panel:
    def __init__(self):
        self.on_click = None
        self.marker = object()
        self.kind = Plain
        self.mod = functools
        self.blank = Empty()
        self.rows = [1, [2], Empty(), helper]
        self.children = [Box(), Box()]


def held_by_instances():
    # The same kinds of values held by an instance, whose kept rendering is
    # checked by guards: a closure or a sentinel bound anew at each step (the
    # same text), and changes that show.
    panel = Panel()
    views = [panel, {"p": panel}]
    for i in range(12):
        def click(event, i=i):
            return i
        panel.on_click = click
        panel.marker = object()
        if i == 3:
            click.__qualname__ = "clicked"
        if i == 5:
            panel.rows[1].append(i)
        if i == 6:
            panel.rows[3] = len
        if i == 7:
            panel.blank.x = 1
        if i == 8:
            panel.kind = Slotted
        if i == 9:
            panel.children.reverse()
        if i == 10:
            panel.mod = types
    return len(views)


functions()
unfilled()
exceptions()
dict_subclasses()
sets()
classes()
modules()
opaque()
held_by_instances()
print("done")
