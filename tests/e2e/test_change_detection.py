"""The recorder does not render every local at every event: it compares each value with
what it rendered last (its fingerprint) and renders only the ones that changed. These
tests drive that comparison directly (tracetape._core._probe_rendering: render, let the
program run, compare, render again) and check both ways it can go wrong: a value that
changed reported unchanged (a wrong tape: whenever the comparison says unchanged, the new
text must be the old one), and an unchanged value reported changed (a value rendered
anew at every event: a recording many times slower, on values real programs hold)."""

import collections
import ctypes
import enum
import random
import subprocess
import sys
import types

import pytest

from tracetape import _core


def probe(value, between=None):
    before, unchanged, after = _core._probe_rendering(value, between)
    return before.decode(), unchanged, after.decode()


def assert_consistent(value, between):
    before, unchanged, after = probe(value, between)
    if unchanged:
        assert after == before, (before, after)
    return before, unchanged, after


def assert_change_found(name, value, change, changes_text):
    """`change` changes the text (found changed) or not (the same text); either
    way, nothing changing afterwards, the value is found unchanged again."""
    before, unchanged, after = assert_consistent(value, change)
    if changes_text:
        assert not unchanged and after != before, (name, before, after)
    else:
        assert after == before, (name, before, after)
    assert probe(value)[1], (name, after)


class Node:
    def __init__(self, name, children=()):
        self.name = name
        self.label = "node " + name * 60
        self.children = list(children)
        self.tags = {"kind", "leaf"}


Pair = collections.namedtuple("Pair", "left right")


class Level(enum.IntEnum):
    LOW = 1


class Stack(list):
    pass


def big_tree():
    # Text far past the length budget (1000 bytes) and deeper than the depth limit.
    leaves = [Node(str(i)) for i in range(6)]
    return Node("root", [Node("a", leaves[:3]), Node("b", leaves[3:]), Node("c", [Node("d", [Node("e", leaves)])])])


def deep_lists(depth):
    value = [0]
    for _ in range(depth):
        value = [value, "x"]
    return value


UNCHANGED = {
    "cut": big_tree,
    "depth-limited": lambda: deep_lists(9),
    "depth-limited dict and set": lambda: {"a": [[[[[{"k": {1, 2}}]]]]]},
    "depth-limited instance": lambda: [[[[[Node("n")]]]]],
    "namedtuple": lambda: Pair([1, 2], {"a": 1}),
    "Counter": lambda: collections.Counter("abracadabra"),
    "list subclass": lambda: Stack([1, "two", (3,)]),
    "IntEnum": lambda: Level.LOW,
    "instance holding them": lambda: Node("n", [Pair(1, Level.LOW), Stack([collections.Counter("ab")])]),
    # Enough entries that its dicts are watched once rendered, and a Counter's
    # dict guard among its guards (which then compare the watched version).
    "instance holding a dict subclass among many": lambda: Node("n", [Pair(1, 2), [collections.Counter("ab")]]),
}


@pytest.mark.parametrize("name", sorted(UNCHANGED))
def test_an_unchanged_value_is_found_unchanged(name):
    value = UNCHANGED[name]()
    before, unchanged, after = probe(value)
    assert after == before
    assert unchanged, f"{name}: rendered anew although nothing changed: {before[:200]}"


class Wide:
    pass


def test_a_value_cut_anywhere_is_found_unchanged():
    # Wherever the length budget runs out (inside a value, between a name
    # and its value, between items), an unchanged value compares unchanged.
    for shift in range(0, 160):
        wide = Wide()
        wide.pad = "p" * shift
        for i in range(6):
            setattr(wide, f"attribute_with_a_long_name_{i}", "s" * 150)
        for value in (wide, [wide], {"k": ["x" * shift, wide]}):
            before, unchanged, after = probe(value)
            assert len(before) > 1000 and after == before
            assert unchanged, (shift, before)


def test_changes_before_the_cut_are_found():
    tree = big_tree()
    before, unchanged, after = assert_consistent(tree, lambda: tree.children[0].children.append(Node("z")))
    assert not unchanged and after != before
    tree = big_tree()
    assert not assert_consistent(tree, lambda: setattr(tree, "name", "other"))[1]


def test_a_change_past_the_cut_leaves_the_text_as_it_was():
    tree = big_tree()
    before, unchanged, after = assert_consistent(tree, lambda: tree.children[-1].tags.add("late"))
    assert len(before) > 1000 and "'late'" not in after and after == before  # cut before it


# 3.11+: a plain instance's attributes are inline values, which the walk compares
# name by name. 3.10 keeps them in a __dict__ whose version the walk compares:
# any change to it is a change (its rendering records no names to walk by).
ATTRIBUTES_WALKED = sys.version_info >= (3, 11)


class Long:
    def __init__(self):
        self.head = "h" * 150
        for i in range(16):
            setattr(self, "a%d" % i, ["x" * 60, i])
        self.tail = {"k": [1, 2]}


LONG_CHANGES = {
    # name: change, whether the text changes
    "an attribute before the cut": (lambda w: setattr(w, "head", "g" * 150), True),
    "a list before the cut": (lambda w: w.a0.append(1), True),
    "an attribute past the cut": (lambda w: setattr(w, "tail", None), False),
    "a list past the cut rebound": (lambda w: setattr(w, "a15", ["y"]), False),
    "a list past the cut changed": (lambda w: w.a15.append(5), False),
    "an attribute added": (lambda w: setattr(w, "extra", 1), False),
    "an attribute past the cut deleted": (lambda w: delattr(w, "tail"), False),
}


@pytest.mark.parametrize("name", sorted(LONG_CHANGES))
def test_a_whole_value_past_the_length_budget_is_compared_up_to_its_cut(name):
    # A whole value cut by the length budget is kept as such (ReuseTop) and
    # checked by its guards, which also compare what lies past the cut (an
    # instance's every attribute): one that fails leaves the answer to the
    # walk, which stops at the cut. A change past it is found unchanged,
    # not rendered anew at every event.
    change, changes_text = LONG_CHANGES[name]
    value = Long()
    before, unchanged, after = assert_consistent(value, lambda: change(value))
    assert len(before) > 1000 and "a13=" not in before and "tail" not in before, before
    assert (after != before) == changes_text, (name, after)
    if changes_text:
        assert not unchanged, name
    elif ATTRIBUTES_WALKED:
        assert unchanged, name
    assert probe(value)[1]


class Link:
    def __init__(self, after=None):
        self.after = after
        self.n = 0


def test_a_whole_value_past_the_depth_limit_is_compared_to_its_brackets():
    # Kept whole too (ReuseTop), with a guard for what the depth limit cuts:
    # its class (`Link(...)`), not what it holds.
    def chain():
        value = None
        for _ in range(8):
            value = Link(value)
        return value, value.after.after.after.after.after  # the first link past the limit
    value, cut = chain()
    before, unchanged, after = assert_consistent(value, lambda: setattr(cut, "n", 5))
    assert before.count("Link(") == 6 and "Link(...)" in before, before
    assert unchanged and after == before
    before, unchanged, after = assert_consistent(value, lambda: setattr(cut.after, "after", None))
    assert unchanged and after == before
    renamed = type("Renamed", (Link,), {})
    before, unchanged, after = assert_consistent(value, lambda: setattr(cut, "__class__", renamed))
    assert not unchanged and "Renamed(...)" in after and "Link(...)" not in after
    value, cut = chain()
    before, unchanged, after = assert_consistent(value, lambda: setattr(value.after.after.after, "n", 1))
    assert not unchanged and after != before


def test_changes_past_the_depth_limit_only_count_when_the_brackets_change():
    value = deep_lists(9)
    inner = value
    while isinstance(inner[0], list):
        inner = inner[0]
    before, unchanged, after = assert_consistent(value, lambda: inner.append(1))
    assert after == before and unchanged

    def retype():
        # The list at the depth limit becomes a tuple: `[...]` -> `(...)`.
        holder = value
        for _ in range(4):
            holder = holder[0]
        holder[0] = tuple(holder[0])

    before, unchanged, after = assert_consistent(value, retype)
    assert not unchanged and after != before and "(...)" in after

    nested = [[[[[Node("n")]]]]]
    renamed = type("Renamed", (Node,), {})
    before, unchanged, after = assert_consistent(nested, lambda: setattr(nested[0][0][0][0][0], "__class__", renamed))
    assert not unchanged and "Renamed(...)" in after


class Tables:
    def __init__(self):
        self.table = tuple(range(400))  # longer than shown: past 30 items, `...`
        self.pair = (1, "two", 3.5, None, b"x")
        self.nested = (1, [2, 3])  # holds a list: not held whole


def test_a_tuple_of_scalars_an_instance_holds_follows_the_depth_it_is_shown_at():
    # A tuple of scalars is held and compared by identity alone, but its text
    # still depends on its depth: past the limit it is `(...)`, also where the
    # instance's last rendering, at a shallower depth, is spliced anew.
    tables = Tables()
    value = [tables, []]

    def bury():
        value[0] = None
        value[1].append([[tables]])  # `tables` at the depth limit, its tuples past it

    before, unchanged, after = assert_consistent(value, bury)
    assert "table=(0, 1, 2, " in before and "pair=(1, 'two', 3.5, None, b'x')" in before
    assert not unchanged and "table=(...)" in after and "pair=(...)" in after, after

    def unbury():
        value[0] = value[1].pop()[0][0]

    before, unchanged, after = assert_consistent(value, unbury)
    assert not unchanged and "table=(0, 1, 2, " in after, after


def test_a_list_inside_a_tuple_an_instance_holds_is_still_compared():
    tables = Tables()
    assert probe(tables)[1]
    assert_change_found("the tuple's list", tables, lambda: tables.nested[1].append(4), True)
    assert_change_found("the tuple rebound to an equal one", tables,
                        lambda: setattr(tables, "table", tuple(range(400))), False)
    assert_change_found("the tuple rebound to another", tables, lambda: setattr(tables, "pair", (1,)), True)
    for local in (tuple(range(400)), (1, (2, 3)), (1, [2])):
        assert probe(local)[1], local


class Parent:
    def __init__(self, name):
        self.name = name
        self.children = []


class Child:
    def __init__(self, parent, n):
        self.parent = parent
        self.n = n
        parent.children.append(self)


def family():
    parent = Parent("p")
    return parent, Child(parent, 1), Child(parent, 2)


def cyclic_values():
    parent, first, second = family()
    loop = [1, "x"]
    loop.append(loop)
    table = {"k": 1}
    table["self"] = [table, (table,)]
    return {
        "parent": parent,
        "child": first,
        "both, child first": [first, parent],
        "in a dict": {"k": second, "p": parent},
        "list holding itself": loop,
        "dict through a list and a tuple": table,
    }


@pytest.mark.parametrize("name", sorted(cyclic_values()))
def test_a_value_in_a_cycle_is_compared_not_rendered_anew(name):
    # A cycle's text (`Parent(...)`, `[...]`) depends on the path to it; the
    # whole value's walk takes the same path, and is found unchanged, with the
    # text the reference renderer gives.
    import render_reference

    value = cyclic_values()[name]
    before, unchanged, after = probe(value)
    assert before == render_reference.render(value)
    assert unchanged and after == before, name


CYCLE_CHANGES = {
    # name: change to (parent, first, second), whether the text of each value changes
    "a child's attribute": (lambda p, a, b: setattr(a, "n", 5), True),
    "a child moved to another parent": (lambda p, a, b: setattr(a, "parent", Parent("p")), True),
    "a child added": (lambda p, a, b: Child(p, 3), True),
    "the parent renamed": (lambda p, a, b: setattr(p, "name", "q"), True),
    "the children list rebound to an equal one": (lambda p, a, b: setattr(p, "children", [a, b]), False),
    "the children swapped": (lambda p, a, b: p.children.reverse(), True),
}


@pytest.mark.parametrize("name", sorted(CYCLE_CHANGES))
def test_every_change_inside_a_cycle_is_found(name):
    import render_reference

    change, changes_text = CYCLE_CHANGES[name]
    for pick in (lambda p, a, b: p, lambda p, a, b: a, lambda p, a, b: [b, p]):
        parent, first, second = family()
        value = pick(parent, first, second)
        assert probe(value)[1], "unchanged at first"
        assert_change_found(name, value, lambda: change(parent, first, second), changes_text)
        assert probe(value)[0] == render_reference.render(value)


class Vacant:
    pass


class NameHolder:
    """An instance whose rendering is checked by its guards (a local bound to it
    is kept whole), holding values whose text is a name, and lists of every
    kind."""

    def __init__(self):
        self.callback = make_callback()
        self.sentinel = object()
        self.kind = type("Kind", (), {"size": 1})
        self.module = types.ModuleType("plugin")
        self.empty = Vacant()
        self.mixed = [1, [2, 3], Vacant(), "four"]
        self.boxes = [Crate(1), Crate(2)]
        self.pair = Pair([1], 2)
        self.stack = Stack([1, 2])


class Crate:
    def __init__(self, n):
        self.n = n


def make_callback():
    def callback(x):
        return x
    return callback


NAMED_CHANGES = {
    # name: change to a NameHolder, whether the text changes
    "a closure bound anew": (lambda h: setattr(h, "callback", make_callback()), False),
    "another function bound": (lambda h: setattr(h, "callback", make_callback), True),
    "the function renamed": (lambda h: setattr(h.callback, "__qualname__", "renamed"), True),
    "a sentinel bound anew": (lambda h: setattr(h, "sentinel", object()), False),
    "a sentinel of another class": (lambda h: setattr(h, "sentinel", Token()), True),
    "a class attribute set": (lambda h: setattr(h.kind, "size", 2), False),
    "the class renamed": (lambda h: setattr(h.kind, "__qualname__", "Sort"), True),
    "the class moved": (lambda h: setattr(h.kind, "__module__", "elsewhere"), True),
    "the module renamed": (lambda h: setattr(h.module, "__name__", "other"), True),
    "an attribute on the empty instance": (lambda h: setattr(h.empty, "x", 1), True),
    "the empty instance's class renamed": (lambda h: setattr(Vacant, "__name__", "Void"), True),
    "a list item appended": (lambda h: h.mixed[1].append(4), True),
    "a list item rebound": (lambda h: h.mixed.__setitem__(3, "five"), True),
    "a list's instance changed": (lambda h: setattr(h.mixed[2], "y", 2), True),
    "a list grown": (lambda h: h.mixed.append(6), True),
    "a list of instances, one changed": (lambda h: setattr(h.boxes[1], "n", 5), True),
    "a list of instances reordered": (lambda h: h.boxes.reverse(), True),
    "a list of instances, one replaced": (lambda h: h.boxes.__setitem__(0, Crate(1)), False),
    "a namedtuple's list changed": (lambda h: h.pair.left.append(5), True),
    "a namedtuple's class renamed": (lambda h: setattr(Pair, "__name__", "Couple"), True),
    "a list subclass appended": (lambda h: h.stack.append(3), True),
    "a list subclass's item rebound": (lambda h: h.stack.__setitem__(0, 7), True),
}


class Token:
    __slots__ = ()


@pytest.mark.parametrize("name", sorted(NAMED_CHANGES))
def test_every_change_to_a_value_shown_by_its_name_or_in_a_list_is_found(name):
    # Functions, opaque objects, classes, modules and attribute-less
    # instances, instances of subclasses of builtins (a namedtuple), and
    # lists of any items, are checked by guards of their own:
    # a change that shows is found, and one that does not (a closure or a
    # sentinel bound anew) leaves the value found unchanged, as the walk
    # finds it.
    import render_reference

    change, changes_text = NAMED_CHANGES[name]
    name_of_vacant, name_of_pair = Vacant.__name__, Pair.__name__
    try:
        holder = NameHolder()
        before, unchanged, after = assert_consistent(holder, lambda: change(holder))
        assert (after != before) == changes_text, (name, before, after)
        if changes_text:
            assert not unchanged, name
        elif "bound anew" in name and ATTRIBUTES_WALKED:
            assert unchanged, name  # the walk's answer, where a guard failed
        assert after == render_reference.render(holder)
        assert probe(holder)[1], name
    finally:
        Vacant.__name__, Pair.__name__ = name_of_vacant, name_of_pair


def test_subclass_values_changed_in_place_are_found():
    pair = Pair([1], {"a": 1})
    assert not assert_consistent(pair, lambda: pair.left.append(2))[1]
    counts = collections.Counter("ab")
    assert not assert_consistent(counts, lambda: counts.update("a"))[1]
    stack = Stack([1, 2])
    assert not assert_consistent(stack, lambda: stack.__setitem__(0, 5))[1]
    renamed = Stack([1])
    before, unchanged, after = assert_consistent(renamed, lambda: setattr(Stack, "__name__", "Heap"))
    Stack.__name__ = "Stack"
    assert not unchanged and after.startswith("Heap(")


needs_inline_values = pytest.mark.skipif(sys.version_info < (3, 11),
                                         reason="inline values exist from CPython 3.11")


def has_dict_object(obj):
    """Whether CPython made a __dict__ object for obj (3.11+, a class with a managed
    dict): the word three before the object is the dict's address, null until one
    is made (3.11, 3.13), or on 3.12 while there is none the inline values' address
    less one (odd)."""
    word = ctypes.c_void_p.from_address(id(obj) - 3 * ctypes.sizeof(ctypes.c_void_p)).value
    return bool(word) and not word & 1


class Renamed(Node):
    pass


def reordered(node):
    name = node.name
    del node.name
    node.name = name  # now the last attribute


INLINE_CHANGES = {
    # name: (change, whether the text changes)
    "a store": (lambda n: setattr(n, "name", "other"), True),
    "the same text, another object": (lambda n: setattr(n, "name", "".join(["n", ""])), False),
    "the same object again": (lambda n: setattr(n, "name", n.name), False),
    "a delete": (lambda n: delattr(n, "label"), True),
    "an attribute added": (lambda n: setattr(n, "extra", 1), True),
    "deleted and added again (now last)": (reordered, True),
    "a list it holds changed": (lambda n: n.children.append(1), True),
    "its __dict__ asked for": (vars, False),
    "its __dict__ asked for, then a store": (lambda n: (vars(n), setattr(n, "name", "x")), True),
    "its __dict__ replaced": (lambda n: setattr(n, "__dict__", {"name": "n"}), True),
    "its class changed": (lambda n: setattr(n, "__class__", Renamed), True),
}


@pytest.mark.parametrize("name", sorted(INLINE_CHANGES))
def test_every_change_to_an_instance_s_attributes_is_found(name):
    # Wherever CPython keeps them: in a dict (3.10, or once the program asked
    # for one) or in the inline values themselves, read in place (3.11+: then
    # rendering makes no __dict__, which would slow the program's own
    # attribute accesses down for good). At any depth.
    change, changes_text = INLINE_CHANGES[name]
    # Wrapped in dicts only, on 3.12+ the value is known unchanged from its
    # identities while no watched dict changes: these changes change none.
    pad = {i: i for i in range(20)}  # large enough for its dicts to be watched
    for wrap in (lambda n: n, lambda n: [n, {"k": n}], lambda n: Node("outer", [n]), lambda n: {"k": {"in": n}, **pad}):
        node = Node("n", [0])
        value = wrap(node)
        probe(value)
        if sys.version_info >= (3, 11):
            assert not has_dict_object(node), "rendering made a __dict__"
        # Then unchanged again, whatever the storage now is.
        assert_change_found(name, value, lambda: change(node), changes_text)


@needs_inline_values
def test_the_probe_sees_a_dict_object_made():
    # has_dict_object can fail: asking for the __dict__ makes one.
    node = Node("n")
    assert not has_dict_object(node)
    vars(node)
    assert has_dict_object(node)


class Schedule:
    """An instance holding flat containers (lists, tuples, sets of scalars), as
    dateutil's rrule does: each checked by a guard of its own (its length and the
    items shown, by identity) instead of a walk of the whole instance."""

    def __init__(self):
        self.hours = [9, 12, 18]
        self.days = (0, 2, 4)
        self.tags = {"daily", "fixed"}
        self.frozen = frozenset({1, 2})
        self.long = list(range(200))  # more items than are shown
        self.options = {"tz": "UTC", "weeks": (1, 53)}


def rebind_tuple(s):
    # The same items, another tuple: freed first, so that the new one may take
    # its address, then an equal one made again.
    days = list(s.days)
    s.days = None
    s.days = tuple(days)


FLAT_CHANGES = {
    # name: (change, whether the text changes)
    "a list item replaced": (lambda s: s.hours.__setitem__(1, 13), True),
    "a list item bound to itself": (lambda s: s.hours.__setitem__(1, s.hours[1]), False),
    "a list's items reordered": (lambda s: s.hours.reverse(), True),
    "a list item added": (lambda s: s.hours.append(20), True),
    "a tuple replaced by an equal one": (rebind_tuple, False),
    "a tuple replaced by another of its length": (lambda s: setattr(s, "days", (0, 2, 5)), True),
    "a set's item swapped, same size": (lambda s: (s.tags.discard("fixed"), s.tags.add("moved")), True),
    "a set grown": (lambda s: s.tags.add("extra"), True),
    "a frozenset replaced": (lambda s: setattr(s, "frozen", frozenset({1, 3})), True),
    "an item past those shown": (lambda s: s.long.__setitem__(150, -1), False),
    "an item shown of a long list": (lambda s: s.long.__setitem__(3, -1), True),
    "a long list grown past those shown": (lambda s: s.long.append(-1), False),  # `...` either way
    "a tuple in a dict it holds replaced": (lambda s: s.options.__setitem__("weeks", (1, 52)), True),
    "a list turned into a tuple": (lambda s: setattr(s, "hours", tuple(s.hours)), True),
}


@pytest.mark.parametrize("name", sorted(FLAT_CHANGES))
def test_every_change_to_a_flat_container_an_instance_holds_is_found(name):
    change, changes_text = FLAT_CHANGES[name]
    for wrap in (lambda s: s, lambda s: [s, s.hours], lambda s: {"k": s}, lambda s: Node("outer", [s])):
        schedule = Schedule()
        value = wrap(schedule)
        assert probe(value)[1], "unchanged at first"
        assert_change_found(name, value, lambda: change(schedule), changes_text)


class SlottedBase:
    __slots__ = ("a", "b")

    def __init__(self):
        self.a = 1
        self.b = [2]


class Slotted(SlottedBase):
    __slots__ = ("c",)

    def __init__(self):
        super().__init__()
        self.c = "x"


def test_a_class_whose_slots_are_declared_again_is_rendered_anew():
    # A class's slot members are kept for its version tag: rebinding or
    # deleting its __slots__ (which decides what is shown) gives it another.
    value = Slotted()
    assert probe(value) == ("Slotted(a=1, b=[2], c='x')", True, "Slotted(a=1, b=[2], c='x')")
    try:
        before, unchanged, after = assert_consistent(value, lambda: delattr(Slotted, "__slots__"))
        assert not unchanged and after == "Slotted(a=1, b=[2])"
        before, unchanged, after = assert_consistent(value, lambda: setattr(Slotted, "__slots__", ("c",)))
        assert not unchanged and after == "Slotted(a=1, b=[2], c='x')"
    finally:
        Slotted.__slots__ = ("c",)


def test_slotted_instances_nested_in_more_classes_than_are_kept():
    # More slotted classes, nested in one another, than the table in front
    # of their layouts holds (64), rebuilt three times: a walk meets the next
    # class inside, whose entry may replace its own in that table while it
    # reads its layout.
    classes = [type(f"S{i}", (), {"__slots__": ("inner", "n")}) for i in range(80)]
    def build():
        inner = None
        for i, cls in enumerate(classes):
            obj = cls()
            obj.inner, obj.n = inner, i
            inner = obj
        return inner
    for _ in range(3):
        value = build()
        before, unchanged, after = probe(value)
        assert unchanged and after == before and before.startswith("S79(inner=S78(inner=")
        deepest = value.inner.inner.inner
        before, unchanged, after = assert_consistent(value, lambda: setattr(deepest, "n", -1))
        assert not unchanged and after != before and "n=-1" in after


class SlotBox:
    __slots__ = ("items", "label", "spare")

    def __init__(self, items, label):
        self.items = items
        self.label = label


def test_slotted_instances_among_many_are_found_changed_one_by_one():
    # Each slotted instance's rendering is kept and reused while it holds:
    # a change to one of many is found, and the text is the new one.
    boxes = [SlotBox([i], "b%d" % i) for i in range(20)]
    value = [boxes, {"first": boxes[0]}]
    assert probe(value)[1]
    assert_change_found("a list one holds", value, lambda: boxes[7].items.append(1), True)
    assert_change_found("a slot rebound", value, lambda: setattr(boxes[3], "label", "new"), True)
    assert_change_found("a slot unset", value, lambda: delattr(boxes[4], "label"), True)
    assert_change_found("an unset slot set", value, lambda: setattr(boxes[5], "spare", 0), True)
    assert_change_found("one held twice", value, lambda: boxes[0].items.clear(), True)
    assert_change_found("rebound to an equal str", value, lambda: setattr(boxes[6], "label", "b" + "6"), False)
    before, unchanged, after = assert_consistent(value, lambda: boxes.__setitem__(2, SlotBox([2], "b2")))
    assert after == before  # another instance, the same text


def test_a_kept_slotted_instance_follows_the_depth_it_is_shown_at():
    # Its kept rendering is reused only where it reaches no deeper than the
    # depth limit: moved deeper, its list is `[...]`; back, it is shown.
    box = SlotBox([1, 2], "b")
    value = [box, []]

    def bury():
        value[0] = None
        value[1].append([[box]])

    before, unchanged, after = assert_consistent(value, bury)
    assert "SlotBox(items=[1, 2], label='b')" in before
    assert not unchanged and "SlotBox(items=[...], label='b')" in after, after

    def unbury():
        value[0] = value[1].pop()[0][0]

    before, unchanged, after = assert_consistent(value, unbury)
    assert not unchanged and after == "[SlotBox(items=[1, 2], label='b'), []]", after
    # At two depths in one value: each shown as its depth allows.
    both = [box, [[[box]]]]
    before, unchanged, after = probe(both)
    assert unchanged and after == before == "[SlotBox(items=[1, 2], label='b'), [[[SlotBox(items=[...], label='b')]]]]"


def test_a_slotted_instance_in_a_cycle_is_shown_from_where_it_is_met():
    # A cycle's text depends on the path to it: such a rendering is not
    # reused elsewhere.
    a = SlotBox(None, "a")
    b = SlotBox(a, "b")
    a.items = b
    value = [a, b]
    before, unchanged, after = probe(value)
    assert unchanged and after == before
    assert before == ("[SlotBox(items=SlotBox(items=SlotBox(...), label='b'), label='a'), "
                      "SlotBox(items=SlotBox(items=SlotBox(...), label='a'), label='b')]"), before
    before, unchanged, after = assert_consistent(value, value.reverse)
    assert not unchanged and after == ("[SlotBox(items=SlotBox(items=SlotBox(...), label='a'), label='b'), "
                                       "SlotBox(items=SlotBox(items=SlotBox(...), label='b'), label='a')]"), after


def test_a_deep_or_long_slotted_value_kept_whole_is_found_changed_before_its_cut():
    # A whole value (a local) that meets the depth limit or the length
    # budget is kept as such (ReuseTop): compared, not rendered, while it
    # holds; a change it shows is found, one past what it shows is not.
    chain = None
    for i in range(10):
        chain = SlotBox(chain, "link %d" % i)
    long = SlotBox(["x" * 150 for _ in range(12)], "long")
    for value in (chain, long):
        before, unchanged, after = probe(value)
        assert unchanged and after == before, before
    assert "SlotBox(...)" in probe(chain)[0]
    assert len(probe(long)[0]) > 1000
    assert_change_found("the first link", chain, lambda: setattr(chain, "label", "first"), True)
    assert_change_found("a link past the depth limit", chain,
                        lambda: setattr(chain.items.items.items.items.items.items, "label", "deep"), False)
    assert_change_found("an item before the cut", long, lambda: long.items.__setitem__(0, "y"), True)
    assert_change_found("an item past the cut", long, lambda: long.items.__setitem__(11, "y"), False)


class Job:
    __slots__ = ("callback", "marker", "items", "n")


@pytest.mark.parametrize("slot, value", [("callback", lambda: 0), ("marker", object()), ("items", [1])],
                         ids=["function", "opaque", "list"])
def test_a_slot_deleted_where_it_held_a_value_is_found_changed(slot, value):
    # An unset slot reads as no object: a function's or an opaque object's
    # check read it (a crash), a list's found it changed.
    job = Job()
    setattr(job, slot, value)
    job.n = 0
    for holder in (job, [job], {"k": (job,)}):
        setattr(job, slot, value)
        before, unchanged, after = assert_consistent(holder, lambda: delattr(job, slot))
        assert not unchanged and slot + "=" in before and slot + "=" not in after, (before, after)


FREED_ADDRESS_PROGRAM = """
import gc, sys
from tracetape import _core

def slotted_class(prefix):
    # Seven slots: its instances are larger than the tuples and the like
    # that making a class allocates, which would take a freed one's block.
    return type("S", (), {"__slots__": tuple(prefix + str(i) for i in range(7))})

shape = sys.argv[1]
reused = 0
for attempt in range(30):
    old_class = slotted_class("a")
    x = old_class()
    x.a0 = 1
    holder = [x] if shape == "list" else {"k": [x]}
    class_id, instance_id = id(old_class), id(x)
    del old_class, x
    made = []

    def between():
        if shape == "list":
            holder[0] = None
        else:
            holder["k"] = None
        gc.collect()
        kept = []
        for _ in range(2000):
            cls = slotted_class("b")
            if id(cls) == class_id:
                break
            kept.append(cls)
        else:
            return
        for _ in range(2000):
            y = cls()
            if id(y) == instance_id:
                break
            kept.append(y)
        else:
            return
        y.b0 = 1
        if shape == "list":
            holder[0] = y
        else:
            holder["k"] = [y]
        made.append(y)

    before, unchanged, after = _core._probe_rendering(holder, between)
    before, after = before.decode(), after.decode()
    assert "S(a0=1)" in before, before
    assert not unchanged and "S(a0=1)" not in after, (before, unchanged, after)
    if made:
        reused += 1
        assert "S(b0=1)" in after, after
print("reused", reused)
"""


@pytest.mark.parametrize("shape", ["list", "dict of list"])
def test_a_class_made_at_a_freed_one_s_address_with_other_slots_is_found_changed(shape):
    # A factory's classes share their name object; one made where a freed
    # one was, and an instance of it where a freed instance was, show their
    # own slots (the walk, and a kept rendering reused in a new container).
    # In a new process: CPython's allocators give a freed block back first
    # there, where a long test run's heap may not.
    proc = subprocess.run([sys.executable, "-c", FREED_ADDRESS_PROGRAM, shape], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    reused = int(proc.stdout.split()[-1])
    # The addresses were reused at least once; without that nothing was tested.
    assert reused > 0, proc.stdout


def random_value(rng, depth=0):
    kinds = ["int", "str", "list", "dict", "node", "pair", "stack", "set", "counter", "level"]
    kind = rng.choice(kinds if depth < 7 else kinds[:2])
    if kind == "int":
        return rng.randint(-5, 5)
    if kind == "str":
        return "s" * rng.randint(0, 120)
    if kind == "list":
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if kind == "dict":
        return {f"k{i}": random_value(rng, depth + 1) for i in range(rng.randint(0, 4))}
    if kind == "node":
        node = Node(str(rng.randint(0, 9)))
        node.children = [random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
        return node
    if kind == "pair":
        return Pair(random_value(rng, depth + 1), random_value(rng, depth + 1))
    if kind == "stack":
        return Stack(random_value(rng, depth + 1) for _ in range(rng.randint(0, 3)))
    if kind == "set":
        return {rng.randint(0, 20) for _ in range(rng.randint(0, 4))}
    if kind == "counter":
        return collections.Counter("ab" * rng.randint(0, 3))
    return Level.LOW


def mutable_parts(value, out, depth=0):
    if depth > 9:
        return out
    if isinstance(value, (list, dict, set, Node)):
        out.append(value)
    children = []
    if isinstance(value, Node):
        children = [value.children]
    elif isinstance(value, dict):
        children = list(value.values())
    elif isinstance(value, (list, tuple)):
        children = list(value)
    for child in children:
        mutable_parts(child, out, depth + 1)
    return out


def mutate(rng, part):
    if isinstance(part, Node):
        roll = rng.random()
        if roll < 0.1:
            vars(part)  # a __dict__ made: the same attributes, stored elsewhere
        elif roll < 0.2 and hasattr(part, "name"):
            del part.name
        else:
            setattr(part, rng.choice(["name", "label", "extra"]), random_value(rng, 8))
    elif isinstance(part, dict):
        part[rng.choice(["k0", "k1", "new"])] = random_value(rng, 8)
    elif isinstance(part, set):
        part.add(rng.randint(0, 30))
    elif part:
        part[rng.randrange(len(part))] = random_value(rng, 8)
    else:
        part.append(random_value(rng, 8))


def test_random_values_and_changes_never_keep_a_stale_text():
    rng = random.Random(7)
    found_unchanged = found_changed = 0
    for _ in range(600):
        value = [random_value(rng) for _ in range(rng.randint(1, 3))]
        parts = mutable_parts(value, [])
        target = rng.choice(parts)
        before, unchanged, after = assert_consistent(value, lambda: mutate(rng, target))
        found_unchanged += unchanged
        found_changed += after != before
        # Nothing changed: every such value is recognised.
        assert probe(value)[1], probe(value)[0][:300]
    assert found_unchanged > 50 and found_changed > 300, (found_unchanged, found_changed)


class Account:
    def __init__(self, owner, balance):
        self.owner = owner
        self.balance = balance
        self.tags = {"kind": "checking", "limit": 50}


def swap(accounts, i, j):
    accounts[i], accounts[j] = accounts[j], accounts[i]


ACCOUNT_CHANGES = {
    # name: (change to a list of accounts, whether the text changes)
    "an attribute of one": (lambda a: setattr(a[3], "balance", 7), True),
    "an item of a dict one holds": (lambda a: a[2].tags.__setitem__("limit", 51), True),
    "that item bound again to the same object": (lambda a: a[2].tags.__setitem__("limit", a[2].tags["limit"]), False),
    "that dict replaced by an equal one": (lambda a: setattr(a[2], "tags", dict(a[2].tags)), False),
    "that dict replaced": (lambda a: setattr(a[2], "tags", {"kind": "savings"}), True),
    "that dict's class renamed": (lambda a: setattr(a[2], "tags", collections.OrderedDict(a[2].tags)), True),
    "an item replaced by another account": (lambda a: a.__setitem__(1, Account("other", 0)), True),
    "an item replaced by an equal account": (lambda a: a.__setitem__(1, Account(a[1].owner, a[1].balance)), False),
    "two items swapped": (lambda a: swap(a, 0, 1), True),
    "an item appended": (lambda a: a.append(Account("new", 1)), True),
    "an item removed": (lambda a: a.pop(0), True),
    "one's class changed": (lambda a: setattr(a[0], "__class__", type("Checking", (Account,), {})), True),
}


@pytest.mark.parametrize("name", sorted(ACCOUNT_CHANGES))
def test_every_change_to_a_list_of_instances_is_found(name):
    # A list or tuple of instances is compared item by item against the
    # instances' shared renderings, and an instance's dict attribute by a
    # copy of that dict's own check: whatever changes, in the list, in an
    # instance or in a dict it holds, the text follows.
    change, changes_text = ACCOUNT_CHANGES[name]
    for size, wrap in ((4, lambda a: a), (4, lambda a: Node("holder", [a])), (4, lambda a: {"all": a, "first": a[0]}),
                       (40, lambda a: a)):  # past the length budget: cut after a dozen accounts
        accounts = [Account(f"acct{i}", 100 + i) for i in range(size)]
        value = wrap(accounts)
        before = probe(value)[0]
        before, unchanged, after = assert_consistent(value, lambda: change(accounts))
        if size > 4:
            assert len(before) > 1000
        elif changes_text:
            assert not unchanged and after != before, (name, before, after)
        else:
            assert after == before, (name, before, after)
        assert probe(value)[1], (name, after)
    # And a tuple, which the program cannot change, of instances it can.
    accounts = [Account(f"acct{i}", 100 + i) for i in range(4)]
    frozen = tuple(accounts)
    before, unchanged, after = assert_consistent(frozen, lambda: change(accounts))
    assert probe(frozen)[1]


class Holder:
    def __init__(self, value):
        self.first = "shown before it"
        self.value = value


GROWN_PAST_SHOWN = {
    # name: (make, grow): grow adds an item past what the text shows.
    "a list past max_items": (lambda: list(range(31)), lambda v: v.append(99)),
    "a dict past max_items": (lambda: {i: i for i in range(31)}, lambda v: v.__setitem__(99, 1)),
    "a deque past max_items": (lambda: collections.deque(range(31)), lambda v: v.append(99)),
    "a list cut by the length budget": (lambda: ["x" * 150 for _ in range(8)], lambda v: v.append("y")),
    "a dict cut by the length budget": (lambda: {i: "x" * 150 for i in range(8)}, lambda v: v.__setitem__(99, "y")),
}


@pytest.mark.parametrize("name", sorted(GROWN_PAST_SHOWN))
def test_a_container_grown_past_what_its_text_shows_is_found_unchanged(name):
    # Its text shows that items follow (`...`), not how many: a list appended
    # to past its first 30 items renders the same, and was rendered anew at
    # every append.
    make, grow = GROWN_PAST_SHOWN[name]
    for wrap in (lambda c: c, Holder, lambda c: [Holder(c), Holder(1)], lambda c: {"c": c}):
        inner = make()
        value = wrap(inner)
        before, unchanged, after = probe(value, lambda: grow(inner))
        assert after == before and "..." in before, (name, before)
        assert unchanged, (name, before)


SHOWN_LENGTH_CHANGES = {
    # name: (make, change): the text changes with the length.
    "a list of 30 appended to: `...` comes": (lambda: list(range(30)), lambda v: v.append(1)),
    "a list of 31 popped: `...` goes": (lambda: list(range(31)), lambda v: v.pop()),
    "a dict of 30 added to": (lambda: {i: i for i in range(30)}, lambda v: v.__setitem__(99, 1)),
    "a dict of 31 with its first key removed": (lambda: {i: i for i in range(31)}, lambda v: v.pop(0)),
    "a dict of 31 with its first key moved last": (lambda: {i: i for i in range(31)},
                                                   lambda v: v.__setitem__(0, v.pop(0))),
    "a list of 31 with a shown item replaced": (lambda: list(range(31)), lambda v: v.__setitem__(29, "x")),
    "a deque of 31 rotated": (lambda: collections.deque(range(31)), lambda v: v.rotate(1)),
}


@pytest.mark.parametrize("name", sorted(SHOWN_LENGTH_CHANGES))
def test_a_container_whose_shown_items_change_with_its_length_is_found_changed(name):
    make, change = SHOWN_LENGTH_CHANGES[name]
    for wrap in (lambda c: c, Holder, lambda c: [Holder(c), Holder(1)]):
        inner = make()
        assert_change_found(name, wrap(inner), lambda: change(inner), True)


def test_a_set_grown_is_found_changed_exactly_when_its_text_changes():
    # A set's shown items are its table's first ones: growing it may reorder them.
    rng = random.Random(3)
    for _ in range(200):
        inner = {rng.randrange(1000) for _ in range(rng.randint(25, 60))}
        value = Holder(inner)
        before, unchanged, after = assert_consistent(value, lambda: inner.add(rng.randrange(1000)))
        assert unchanged == (after == before), (before, after)


def test_an_empty_deque_is_found_unchanged_before_any_deque_held_an_item():
    # A deque's items are read in place once a non-empty one proved their
    # layout; its maxlen is proven by any deque. An empty one (an idle work
    # queue in an object) was rendered anew at every event until then. A new
    # process: no deque rendered yet.
    code = (
        "import collections\n"
        "from tracetape import _core\n"
        "class Checker:\n"
        "    def __init__(self):\n"
        "        self.deferred = collections.deque()\n"
        "        self.bounded = collections.deque(maxlen=3)\n"
        "for value in (collections.deque(), Checker(), [Checker()]):\n"
        "    before, unchanged, after = _core._probe_rendering(value, None)\n"
        "    assert unchanged and after == before, before\n"
        "print('ok')\n")
    proc = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=120)
    assert proc.returncode == 0 and proc.stdout == b"ok\n", proc.stderr.decode()


class Parser:
    def __init__(self):
        self.index = 0
        self._tokens = ["a", "b"]  # a secret-looking name: <redacted>
        self.tail = list(range(3))  # a list: the instance is walked, not guarded


class SlottedSecret:
    __slots__ = ("name", "api_key", "spare")

    def __init__(self):
        self.name = "svc"
        self.api_key = "k1"


REDACTED_REBINDINGS = {
    # name: (make, rebind, whether the text changes)
    "an attribute": (Parser, lambda p: setattr(p, "_tokens", iter("xyz")), False),
    "a dict item": (lambda: {"token": [1], "n": 1}, lambda d: d.__setitem__("token", (2,)), False),
    "a slot": (SlottedSecret, lambda s: setattr(s, "api_key", "k2"), False),
    "an unset slot set": (SlottedSecret, lambda s: setattr(s, "spare", 3), True),
    "a slot unset": (SlottedSecret, lambda s: delattr(s, "api_key"), True),
}


@pytest.mark.parametrize("name", sorted(REDACTED_REBINDINGS))
def test_a_redacted_value_bound_anew_leaves_its_holder_unchanged(name):
    # `<redacted>` whatever the value: a secret-named attribute, item or slot
    # bound to another object does not change its holder's text, and was
    # taken as a change (jmespath's Parser, rendered anew at each token).
    make, rebind, changes_text = REDACTED_REBINDINGS[name]
    for wrap in (lambda v: v, lambda v: [v, 1], Holder):
        inner = make()
        value = wrap(inner)
        before, unchanged, after = assert_consistent(value, lambda: rebind(inner))
        assert "<redacted>" in before, before
        if changes_text:
            assert not unchanged and after != before, (name, before, after)
        elif name == "an attribute" and sys.version_info < (3, 11):
            # Before 3.11 an instance keeps a real __dict__, compared at its
            # version: any attribute bound anew renders it again (to the same text).
            assert after == before, (name, before, after)
        else:
            assert unchanged and after == before, (name, before, after)


class SlottedKind:
    __slots__ = ("kind", "api_key")

    def __init__(self):
        self.kind = int
        self.api_key = "k"


class WalkedKind:
    def __init__(self):
        self.kind = int
        self._token = "t"  # redacted: its guards fail to the walk
        self.rows = [1, 2]


BUILTIN_CLASS_REBINDINGS = {
    # A built-in class's text is fixed by the class: another one is another text.
    "a list item": (lambda: [int, 1], lambda v: v.__setitem__(0, str)),
    "a dict value": (lambda: {"kind": int, "token": 1}, lambda v: v.__setitem__("kind", str)),
    "an attribute": (WalkedKind, lambda v: setattr(v, "kind", str)),
    "a slot": (SlottedKind, lambda v: setattr(v, "kind", str)),
}


@pytest.mark.parametrize("name", sorted(BUILTIN_CLASS_REBINDINGS))
def test_a_builtin_class_bound_anew_is_found_changed(name):
    make, rebind = BUILTIN_CLASS_REBINDINGS[name]
    for wrap in (lambda v: v, lambda v: [v, 1], Holder):
        inner = make()
        assert_change_found(name, wrap(inner), lambda: rebind(inner), True)


def test_a_class_is_found_changed_only_when_its_module_or_qualname_changes():
    # `<class 'MODULE.QUALNAME'>`: a class attribute set (a class being built,
    # attrs' and dataclasses' way) changes its dict's version, not its text,
    # and its every `cls` local was rendered anew at each setattr.
    def fresh():
        return type("Built", (), {"__module__": "pkg.mod"})

    for wrap in (lambda c: c, lambda c: [c, 1], Holder):
        cls = fresh()
        before, unchanged, after = probe(wrap(cls), lambda: setattr(cls, "field", 1))
        assert before == after and unchanged, before
        cls = fresh()
        assert_change_found("module", wrap(cls), lambda: setattr(cls, "__module__", "other"), True)
        cls = fresh()
        assert_change_found("qualname", wrap(cls), lambda: setattr(cls, "__qualname__", "Outer.Built"), True)
        cls = fresh()
        # Bound again to an equal str: another object, the same text.
        assert_change_found("equal module", wrap(cls), lambda: setattr(cls, "__module__", "".join(["pkg.", "mod"])),
                            False)


class Opaque:
    __slots__ = ()  # no __dict__, no slots: `<Opaque object>`


def test_a_function_or_opaque_object_bound_anew_is_found_changed_only_by_its_text():
    def make_closure(i):
        def add(x):
            return x + i
        return add

    def other(x):
        return x

    def same_text(value, change):
        before, unchanged, after = assert_consistent(value, change)
        assert after == before and unchanged, (before, after)

    for wrap in (lambda v: [v, 1], Holder, lambda v: {"k": v}):
        box = [make_closure(1)]
        value = wrap(box)
        # Another closure of the same def: `<function ...make_closure.<locals>.add>` again.
        same_text(value, lambda: box.__setitem__(0, make_closure(2)))
        assert_change_found("function", value, lambda: box.__setitem__(0, other), True)
        box[0] = Opaque()
        assert probe(value)[1]
        same_text(value, lambda: box.__setitem__(0, Opaque()))
        assert_change_found("sentinel", value, lambda: box.__setitem__(0, object()), True)
        same_text(value, lambda: box.__setitem__(0, object()))
