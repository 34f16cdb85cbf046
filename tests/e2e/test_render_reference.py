"""Unit tests of render_reference against the rules of docs/RENDERING.md."""

import collections
import enum
import os
import sys
import types

import pytest

import render_reference as rr
from render_reference import REDACTED, Renderer, render, render_exception


class Forbidden(AssertionError):
    """Raised by user code that rendering must never run."""


def forbidden(*args, **kwargs):
    raise Forbidden("rendering ran user code")


def top_level_function():
    pass


# ------------------------------------------------------------------ rules 1-5
@pytest.mark.parametrize("value", [
    None, True, False, 0, -1, 7, 10 ** 30, -(2 ** 100), 1.5, -0.0, 1e300, 1e-300,
    float("inf"), float("-inf"), 0.1 + 0.2, 2j, complex(1.5, -2), complex(-0.0, 0.0),
    "", "ann", "it's", 'say "hi"', "tab\tnew\nline", "\x00\x7f", "é中😀", "\ud800",
    b"", b"\x00\xff", b"it's",
])
def test_scalars_render_as_repr(value):
    assert render(value) == repr(value)


def test_nan_renders_as_repr():
    assert render(float("nan")) == "nan"


def test_int_up_to_4000_bits_is_repr_then_bounded_by_max_total():
    value = 2 ** 3999
    assert value.bit_length() == 4000
    text = repr(value)
    assert render(value) == text[:1000] + "..."
    small = Renderer(max_total=10 ** 6)
    assert small.render(value) == text
    assert small.render(-value) == repr(-value)


@pytest.mark.parametrize("value,bits", [(2 ** 4000, 4001), (-(2 ** 4000), 4001),
                                        (2 ** 5000 - 1, 5000), (-(2 ** 9999), 10000)])
def test_int_over_4000_bits_shows_bit_count(value, bits):
    assert render(value) == "<int with %d bits>" % bits


def test_string_of_max_string_characters_is_whole():
    s = "x" * 200
    assert render(s) == repr(s)


def test_string_past_max_string_is_cut_then_ellipsis():
    s = "ab" * 150
    assert render(s) == repr(s[:200]) + "..."
    q = "'" * 201
    assert render(q) == repr(q[:200]) + "..."


def test_string_limit_counts_characters_not_bytes():
    s = "中" * 201
    assert render(s) == repr("中" * 200) + "..."


def test_bytes_past_max_string_is_cut_then_ellipsis():
    b = bytes(range(256))
    assert render(b) == repr(b[:200]) + "..."
    assert render(b[:200]) == repr(b[:200])


def test_custom_max_string():
    assert Renderer(max_string=3).render("abcdef") == "'abc'..."
    assert Renderer(max_string=3).render(b"abcdef") == "b'abc'..."


# -------------------------------------------------------------------- rule 6
@pytest.mark.parametrize("value", [
    [], (), {}, set(), frozenset(), [1], (1,), (1, 2), {1: 2}, {1}, frozenset({1}),
    [1, "a", b"b", None, True, 2.5, 3j], ((1,), [()], {(): []}),
    {"a": [1, {"b": (2, 3)}], None: {1, 2}, (1, 2): frozenset({3})},
    [[], [[]], [[[]]]], frozenset({frozenset(), frozenset({1})}),
    {1: "one", 2.5: "float", b"k": "bytes", None: "none", False: "bool"},
])
def test_containers_within_bounds_render_as_repr(value):
    assert render(value) == repr(value)


def test_set_iteration_order_is_kept():
    value = {"zeta", "alpha", "mid", 3, 1}
    assert render(value) == repr(value)


@pytest.mark.parametrize("make,expected", [
    (list, "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, "
           "21, 22, 23, 24, 25, 26, 27, 28, 29, ...]"),
    (tuple, "(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, "
            "21, 22, 23, 24, 25, 26, 27, 28, 29, ...)"),
    (set, "{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, "
          "21, 22, 23, 24, 25, 26, 27, 28, 29, ...}"),
    (frozenset, "frozenset({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, "
                "18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, ...})"),
])
def test_past_max_items_the_rest_is_one_ellipsis_item(make, expected):
    assert render(make(range(31))) == expected
    assert render(make(range(500))) == expected
    assert render(make(range(30))) == repr(make(range(30)))


def test_dict_past_max_items():
    d = {"k%02d" % i: i for i in range(31)}
    expected = "{" + ", ".join("'k%02d': %d" % (i, i) for i in range(30)) + ", ...}"
    assert render(d) == expected
    d.pop("k30")
    assert render(d) == repr(d)


def test_small_max_items():
    r = Renderer(max_items=1)
    assert r.render([1, 2]) == "[1, ...]"
    assert r.render((1, 2)) == "(1, ...)"
    assert r.render((1,)) == "(1,)"
    assert r.render({"a": 1, "b": 2}) == "{'a': 1, ...}"
    assert r.render({1, 2}) in ("{1, ...}", "{2, ...}")
    assert Renderer(max_items=0).render([1]) == "[...]"
    assert Renderer(max_items=0).render([]) == "[]"


def test_nesting_down_to_max_depth_is_shown():
    four = [[[[[1]]]]]  # containers at levels 0..4
    assert render(four) == "[[[[[1]]]]]"


def five_deep(x):
    """X at level 5: inside five lists (levels 0 to 4)."""
    return [[[[[x]]]]]


@pytest.mark.parametrize("value,expected", [
    ([1], "[...]"),
    ([], "[...]"),
    ((1,), "(...)"),
    ((), "(...)"),
    ({"a": 1}, "{...}"),
    ({1}, "{...}"),
    (frozenset({1}), "{...}"),
    (frozenset(), "{...}"),
    ("deep", "'deep'"),
    (5, "5"),
    (None, "None"),
    (top_level_function, "<function top_level_function>"),
])
def test_containers_deeper_than_max_depth_are_brackets_around_ellipsis(value, expected):
    assert render(five_deep(value)) == "[[[[[" + expected + "]]]]]"


def test_dict_nesting_past_max_depth():
    value = {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}
    assert render(value) == "{'a': {'b': {'c': {'d': {'e': {...}}}}}}"


def test_depth_is_counted_per_path_not_per_value():
    leaf = [1]
    value = [leaf, [[[[leaf]]]]]
    assert render(value) == "[[1], [[[[[...]]]]]]"


def test_dict_keys_are_one_level_deeper():
    value = [[[[{(1,): "v"}]]]]
    assert render(value) == "[[[[{(...): 'v'}]]]]"


def test_custom_max_depth():
    assert Renderer(max_depth=0).render([1, [2]]) == "[1, [...]]"
    assert Renderer(max_depth=1).render([1, [2, [3]]]) == "[1, [2, [...]]]"


def test_list_cycle():
    loop = [1, 2]
    loop.append(loop)
    assert render(loop) == "[1, 2, [...]]" == repr(loop)


def test_dict_cycle():
    d = {"name": "ring"}
    d["self"] = d
    assert render(d) == "{'name': 'ring', 'self': {...}}" == repr(d)


def test_mutual_and_tuple_cycles():
    a = [1]
    b = [a]
    a.append(b)
    assert render(a) == repr(a) == "[1, [[...]]]"
    holder = ([],)
    holder[0].append(holder)
    assert render(holder) == repr(holder) == "([(...)],)"


def test_shared_but_acyclic_values_are_rendered_each_time():
    leaf = [1, 2]
    assert render([leaf, leaf, (leaf,)]) == "[[1, 2], [1, 2], ([1, 2],)]"


# ---------------------------------------------------------------- rules 7, 8
class Meta(type):
    def __repr__(cls):
        raise Forbidden("metaclass __repr__")


class WithMeta(metaclass=Meta):
    pass


def test_classes_render_as_type_repr():
    assert render(int) == "<class 'int'>"
    assert render(type) == "<class 'type'>"
    assert render(collections.OrderedDict) == "<class 'collections.OrderedDict'>"
    assert render(WithMeta) == "<class '%s.WithMeta'>" % __name__
    assert render([Forbidden]) == "[<class '%s.Forbidden'>]" % __name__


def test_python_functions_render_with_qualname():
    def inner():
        pass
    assert render(top_level_function) == "<function top_level_function>"
    assert render(inner) == ("<function test_python_functions_render_with_qualname."
                             "<locals>.inner>")
    assert render(lambda: 0) == ("<function test_python_functions_render_with_qualname."
                                 "<locals>.<lambda>>")
    assert render(Renderer.render) == "<function Renderer.render>"


def test_modules_render_with_name():
    assert render(collections) == "<module 'collections'>"
    assert render(sys) == "<module 'sys'>"
    assert render(types.ModuleType("made.up")) == "<module 'made.up'>"


def test_builtin_callables_are_not_python_functions():
    assert render(len) == "<builtin_function_or_method object>"
    assert render([].append) == "<builtin_function_or_method object>"
    assert render(str.upper) == "<method_descriptor object>"
    assert render(Renderer().render) == "<method object>"


# -------------------------------------------------------------------- rule 9
class Color(enum.IntEnum):
    RED = 1
    GREEN = 2


class LoudStr(str):
    __repr__ = __str__ = forbidden

    def __getitem__(self, item):
        raise Forbidden("__getitem__")

    def __len__(self):
        raise Forbidden("__len__")


class LoudInt(int):
    __repr__ = __str__ = __index__ = __int__ = forbidden

    def bit_length(self):
        raise Forbidden("bit_length")


class LoudFloat(float):
    __repr__ = __float__ = forbidden


class LoudBytes(bytes):
    __repr__ = __bytes__ = forbidden


class LoudList(list):
    __repr__ = __iter__ = __len__ = __getitem__ = forbidden


class LoudDict(dict):
    __repr__ = __iter__ = items = keys = values = __getitem__ = __len__ = forbidden


class LoudSet(set):
    __repr__ = __iter__ = __len__ = forbidden


class Frozen(frozenset):
    pass


class Pair(tuple):
    pass


Point = collections.namedtuple("Point", "x y")


def test_subclass_of_builtin_renders_its_base_value():
    assert render(Color.RED) == "Color(1)"
    assert render(collections.Counter("aab")) == "Counter({'a': 2, 'b': 1})"
    dd = collections.defaultdict(list)
    dd["k"].append(1)
    assert render(dd) == "defaultdict({'k': [1]})"
    assert render(collections.OrderedDict(a=1)) == "OrderedDict({'a': 1})"
    assert render(Point(1, 2)) == "Point((1, 2))"
    assert render(Pair(())) == "Pair(())"
    assert render(Pair((1,))) == "Pair((1,))"
    assert render(Frozen()) == "Frozen(frozenset())"
    assert render(Frozen({1})) == "Frozen(frozenset({1}))"


def test_subclass_rendering_runs_no_user_code():
    assert render(LoudStr("abc")) == "LoudStr('abc')"
    assert render(LoudStr("x" * 300)) == "LoudStr(%s...)" % repr("x" * 200)
    assert render(LoudInt(5)) == "LoudInt(5)"
    assert render(LoudInt(2 ** 4000)) == "LoudInt(<int with 4001 bits>)"
    assert render(LoudFloat(2.5)) == "LoudFloat(2.5)"
    assert render(LoudBytes(b"xy")) == "LoudBytes(b'xy')"
    assert render(LoudList([1, 2])) == "LoudList([1, 2])"
    assert render(LoudList()) == "LoudList([])"
    assert render(LoudDict(a=1)) == "LoudDict({'a': 1})"
    assert render(LoudSet({3})) == "LoudSet({3})"
    assert render(LoudSet()) == "LoudSet(set())"


def test_subclass_bounds_apply_to_the_base_value():
    assert render(LoudList(range(40))) == "LoudList(%s)" % render(list(range(40)))
    # The instance and its base value are one level: a subclass at level 4 still
    # shows its items, at level 5 it is cut.
    assert render([[[[LoudList([1])]]]]) == "[[[[LoudList([1])]]]]"
    assert render([[[[[LoudList([1])]]]]]) == "[[[[[LoudList([...])]]]]]"


def test_subclass_in_a_cycle():
    # Choice: the subclass wrapper is written, then the base value meets the cycle.
    loop = LoudList()
    list.append(loop, loop)
    assert render(loop) == "LoudList([LoudList([...])])"


def test_bool_is_not_an_int_subclass_instance():
    assert render([True, False]) == "[True, False]"


# ------------------------------------------------------------------- rule 10
class Account:
    def __init__(self, owner, balance):
        self.owner = owner
        self.balance = balance


class Hooks:
    __repr__ = __str__ = __getattr__ = __format__ = forbidden

    def __init__(self):
        self.a = 1

    @property
    def prop(self):
        raise Forbidden("property")


class Getattribute:
    def __init__(self):
        self.x = 1

    def __getattribute__(self, name):
        raise Forbidden("__getattribute__ " + name)


class FakeDict:
    @property
    def __dict__(self):
        raise Forbidden("__dict__ property")


class Slotted:
    __slots__ = ("x",)

    def __init__(self):
        self.x = 1


class SlottedWithDict(Slotted):
    def __init__(self):
        super().__init__()
        self.y = 2


class Empty:
    pass


def test_instance_renders_from_its_dict():
    assert render(Account("ann", 70)) == "Account(owner='ann', balance=70)"
    assert render(Empty()) == "Empty()"


def test_instance_rendering_runs_no_user_code():
    assert render(Hooks()) == "Hooks(a=1)"
    assert render(Getattribute()) == "Getattribute(x=1)"
    # The instance has a dict slot; the class's `__dict__` property is not called.
    assert render(FakeDict()) == "FakeDict()"
    hidden = FakeDict()
    object.__setattr__(hidden, "z", 3)
    assert render(hidden) == "FakeDict(z=3)"


def test_instances_of_c_classes_with_a_dict_slot():
    # vars() refuses these (no `__dict__` descriptor), but they have an instance dict.
    import asyncio
    from asyncio.tasks import _GatheringFuture
    loop = asyncio.new_event_loop()
    try:
        gathering = _GatheringFuture([], loop=loop)
        assert render(gathering) == "_GatheringFuture(_children=[], _cancel_requested=False)"
    finally:
        loop.close()
    assert render(types.SimpleNamespace(a=1, token="t")) == (
        "SimpleNamespace(a=1, token=<redacted>)")


def test_instance_dict_skips_dunder_and_non_str_keys():
    obj = Empty()
    obj.__dict__[1] = "int key"
    obj.__dict__["__hidden__"] = "dunder"
    obj.__dict__["_private"] = "shown"
    obj.__dict__["__mangled"] = "shown too"
    obj.__dict__["trailing__"] = "shown as well"
    assert render(obj) == ("Empty(_private='shown', __mangled='shown too', "
                           "trailing__='shown as well')")


def test_instance_attribute_values_follow_the_rules():
    acct = Account(["ann", "bob"], {"eur": 1.5})
    assert render(acct) == "Account(owner=['ann', 'bob'], balance={'eur': 1.5})"


def test_instance_past_max_items():
    obj = Empty()
    for k in range(31):
        setattr(obj, "a%02d" % k, k)
    expected = "Empty(" + ", ".join("a%02d=%d" % (k, k) for k in range(30)) + ", ...)"
    assert render(obj) == expected
    delattr(obj, "a30")
    assert render(obj) == expected[:-len(", ...)")] + ")"


def test_instance_past_max_depth_is_type_name_around_ellipsis():
    assert render([[[[Account(1, 2)]]]]) == "[[[[Account(owner=1, balance=2)]]]]"
    assert render([[[[[Account(1, 2)]]]]]) == "[[[[[Account(...)]]]]]"
    assert render([[[[Account([1], 2)]]]]) == "[[[[Account(owner=[...], balance=2)]]]]"


def test_instance_cycle():
    a = Account("a", 0)
    b = Account("b", a)
    a.balance = b
    assert render(a) == ("Account(owner='a', balance=Account(owner='b', "
                         "balance=Account(...)))")
    a.balance = [a]
    assert render(a) == "Account(owner='a', balance=[Account(...)])"


def test_objects_without_instance_dict():
    assert render(Slotted()) == "Slotted(x=1)"
    assert render(SlottedWithDict()) == "SlottedWithDict(y=2)"
    assert render(object()) == "<object object>"
    assert render(iter([])) == "<list_iterator object>"
    assert render((x for x in ())) == "<generator object>"
    assert render(slice(1, 2)) == "<slice object>"
    assert render(Ellipsis) == "<ellipsis object>"
    assert render(NotImplemented) == "<NotImplementedType object>"


def test_slotted_instances_render_their_filled_slots():
    # Rule 11 without a __dict__: the slots of each class from the base down,
    # in CPython's layout order (sorted), unset ones left out.
    import dataclasses

    class Base:
        __slots__ = ("zeta", "alpha", "__hidden__")

    class Point(Base):
        __slots__ = ("y", "x", "token")

        def __repr__(self):
            raise AssertionError("user code ran")

    p = Point()
    assert render(p) == "Point()"
    p.x, p.zeta = 1, [2]
    assert render(p) == "Point(zeta=[2], x=1)"
    p.token = "s3cret"
    p.alpha = p
    assert render(p) == "Point(alpha=Point(...), zeta=[2], token=<redacted>, x=1)"
    assert render([[[[[p]]]]]) == "[[[[[Point(...)]]]]]"

    @dataclasses.dataclass(slots=True)
    class Person:
        name: str
        age: int

    assert render(Person("ann", 3)) == "Person(age=3, name='ann')"

    class Alias(Point):
        __slots__ = ()
        also = Point.x  # a member copied under another name: not a slot of its own

    a = Alias()
    a.x, a.y = 1, 2
    assert render(a) == "Alias(x=1, y=2)"

    class NoOwnSlots(Point):  # no __slots__ of its own: gets a __dict__ (rule 11)
        pass

    n = NoOwnSlots()
    n.x, n.extra = 5, 6
    assert render(n) == "NoOwnSlots(extra=6)"


def test_deques_and_bytearrays_render_as_repr():
    # Rule 12.
    from collections import deque
    for v in (deque(), deque([1, "a", (2,)]), deque(range(3), maxlen=5), deque(maxlen=0),
              bytearray(), bytearray(b"a\x00'\""), [deque([b"k"]), {"b": bytearray(3)}]):
        assert render(v) == repr(v)
    assert render(deque(range(40))) == "deque([" + ", ".join(map(str, range(30))) + ", ...])"
    assert render(bytearray(300)) == "bytearray(" + repr(bytes(200)) + "...)"
    d = deque([1])
    d.append(d)
    assert render(d) == "deque([1, deque([...])])"
    assert render([[[[[deque([1])]]]]]) == "[[[[[deque([...])]]]]]"


def test_ranges_render_as_repr_with_bounded_ints():
    # Rule 12: range's repr, its bounds by rule 2.
    for r in (range(3), range(2, 9), range(0, 10, 3), range(5, -5, -1), range(0),
              range(-2**70, 2**70, 2**65)):
        assert render(r) == repr(r)
    assert render(range(2**5000)) == "range(0, <int with 5001 bits>)"


def test_datetime_values_render_as_their_c_repr():
    import datetime as dt
    hour = dt.timezone(dt.timedelta(hours=1))
    named = dt.timezone(dt.timedelta(hours=-3, minutes=-30), "NST")
    for v in (dt.date(2024, 2, 29), dt.datetime(2024, 1, 2, 3, 4, 5, 6),
              dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc), dt.datetime(2024, 1, 2, fold=1),
              dt.datetime(2024, 1, 2, tzinfo=hour), dt.time(13, 30, tzinfo=named), dt.time(),
              dt.timedelta(days=-1, seconds=5), dt.timedelta(0), dt.timezone.utc, hour, named,
              [dt.date(2000, 1, 1), {"at": dt.time(1)}]):
        assert render(v) == repr(v)


def test_datetime_values_that_could_run_user_code_stay_opaque():
    import datetime as dt

    class Name(str):
        def __repr__(self):
            raise AssertionError("user code ran")

    class Offset(dt.timedelta):
        def __repr__(self):
            raise AssertionError("user code ran")

    class Zone(dt.tzinfo):
        def utcoffset(self, when):
            raise AssertionError("user code ran")

    class Day(dt.date):
        pass

    odd_name = dt.timezone(dt.timedelta(hours=2), Name("x"))
    odd_offset = dt.timezone(Offset(hours=2))
    assert render(odd_name) == "<timezone object>"
    assert render(odd_offset) == "<timezone object>"
    assert render(dt.datetime(2024, 1, 1, tzinfo=odd_name)) == "<datetime object>"
    assert render(dt.time(1, tzinfo=Zone())) == "<time object>"
    assert render(dt.datetime(2024, 1, 1, tzinfo=Zone())) == "<datetime object>"
    day = Day(2024, 1, 1)
    day.note = "x"
    assert render(day) == "Day(note='x')"


@pytest.mark.parametrize("exc", [
    ValueError(), ValueError("m"), KeyError("missing"), ValueError("a", 1, None),
    OSError(2, "No such file", "x.txt"), StopIteration(), SystemExit(3),
    ValueError([1, {"k": (2,)}]), ValueError(""), KeyError(b"k"),
])
def test_exception_instances_render_as_builtin_repr(exc):
    # Rule 10: TypeName(a1, a2) over args.
    assert render(exc) == repr(exc)


def test_exception_instance_ignores_its_dict_and_user_code():
    err = ValueError("message")
    err.detail = 5
    assert render(err) == "ValueError('message')"
    assert render(UserStrError("boom", 2)) == "UserStrError('boom', 2)"
    assert render(ArgsProperty("shown")) == "ArgsProperty('shown')"
    assert render(LoudError(Account("ann", 1))) == (
        "LoudError(Account(owner='ann', balance=1))")


def test_exception_instance_args_follow_the_bounds():
    assert render(ValueError(*range(31))) == (
        "ValueError(" + ", ".join(str(k) for k in range(30)) + ", ...)")
    assert render(ValueError("x" * 300)) == "ValueError(%s...)" % repr("x" * 200)
    assert render([[[[ValueError([1])]]]]) == "[[[[ValueError([...])]]]]"
    assert render([[[[[ValueError(1)]]]]]) == "[[[[[ValueError(...)]]]]]"
    assert render({"password": ValueError(1), "e": KeyError("k")}) == (
        "{'password': <redacted>, 'e': KeyError('k')}")


def test_exception_instance_cycle():
    err = ValueError()
    err.args = (1, err)
    assert render(err) == "ValueError(1, ValueError(...))"


def test_descriptors_in_a_class_body():
    assert render(staticmethod(top_level_function)) == "staticmethod()"
    assert render(classmethod(top_level_function)) == "classmethod()"
    assert render(property(top_level_function)) == "<property object>"


# ---------------------------------------------------------------- max_total
def test_max_total_keeps_exactly_1000_bytes():
    value = ["x" * 196] * 5  # 2 + 5 * 198 + 4 * 2 = 1000 characters
    assert len(repr(value)) == 1000
    assert render(value) == repr(value)
    value[0] += "x"
    assert render(value) == repr(value)[:1000] + "..."


def test_max_total_cut():
    value = ["x" * 100] * 20
    text = repr(value)
    assert len(text.encode()) > 1000
    assert render(value) == text[:1000] + "..."


def test_max_total_never_cuts_inside_a_character():
    for filler in ("é", "中", "😀"):
        for pad in range(4):
            value = ["p" * pad + filler * 150 for _ in range(10)]
            out = render(value)
            full = repr(value).encode("utf-8")
            body = out[:-3]
            assert out.endswith("...")
            raw = body.encode("utf-8")
            assert len(raw) <= 1000
            assert len(raw) > 1000 - len(filler.encode())
            assert full.startswith(raw)


def test_huge_structures_render_quickly_and_exactly():
    grid = [[[[k] * 30] * 30] * 10 for k in range(3)]
    expected = Renderer(max_total=10 ** 8).render(grid)
    assert len(expected) > 50000
    assert render(grid) == expected[:1000] + "..."


def test_max_total_applies_to_subclass_and_instance_text():
    obj = Empty()
    obj.text = "z" * 199
    obj.more = ["y" * 199] * 5
    text = Renderer(max_total=10 ** 6).render(obj)
    assert len(text) > 1000
    assert render(obj) == text[:1000] + "..."


# ---------------------------------------------------------------- redaction
@pytest.mark.parametrize("name", [
    "password", "PASSWORD", "db_password", "passwd", "Passw", "pwd", "user_pwd",
    "secret", "client_secret", "token", "session_token", "refresh_token", "api_key",
    "apikey", "API_KEY", "MyApiKey", "auth", "author", "Authorization", "credentials",
    "private_key", "privatekey", "PRIVATE_KEY", "session", "SessionId", "cookie",
    "Cookie_Jar",
])
def test_secret_names(name):
    assert rr.is_secret(name)


@pytest.mark.parametrize("name", [
    "username", "pass_count", "passenger", "api", "key", "private", "priv_key", "pw",
    "sess", "", "value", "tok", "api-key", "p_wd",
])
def test_non_secret_names(name):
    assert not rr.is_secret(name)


def test_dict_keys_are_redacted_at_any_depth():
    value = {"user": "ann", "password": "hunter2",
             "nested": [{"API_KEY": "k", "level": {"session": {"x": 1}}}]}
    assert render(value) == ("{'user': 'ann', 'password': <redacted>, 'nested': "
                             "[{'API_KEY': <redacted>, 'level': {'session': <redacted>}}]}")


def test_str_and_bytes_keys_are_redacted_and_no_others():
    # A bytes key is read as UTF-8 (os.environ's own mapping has bytes keys).
    assert render({b"password": 1, ("token",): 2, "token": 3, b"\xffAPI_KEY\xfe": 4, b"path": 5}) == \
        "{b'password': <redacted>, ('token',): 2, 'token': <redacted>, b'\\xffAPI_KEY\\xfe': <redacted>, " \
        "b'path': 5}"


def test_the_environment_is_not_recorded():
    # os.environ and os.environb show none of their variables, at any depth;
    # a copy is a dict, of which only the secret-named keys are redacted.
    env = os._Environ({b"AWS_ACCESS_KEY_ID": b"AKIA-canary", b"LANG": b"C"},
                      os.fsencode, os.fsdecode, os.fsencode, os.fsdecode)
    assert render(env) == "environ(<not recorded>)"
    assert render(os.environ) == render(os.environb) == "environ(<not recorded>)"
    assert render([[[[env]]]]) == "[[[[environ(<not recorded>)]]]]"
    assert render(dict(env)) == "{'AWS_ACCESS_KEY_ID': 'AKIA-canary', 'LANG': 'C'}"


def test_redaction_in_dict_subclasses():
    assert render(collections.OrderedDict(token="t")) == "OrderedDict({'token': <redacted>})"


def test_instance_attributes_are_redacted():
    obj = Empty()
    obj.user = "ann"
    obj.secret = "s3"
    obj.auth_header = {"x": 1}
    assert render(obj) == "Empty(user='ann', secret=<redacted>, auth_header=<redacted>)"


def test_redacted_values_are_not_rendered():
    class Exploding:
        @property
        def __dict__(self):
            raise Forbidden("rendered a redacted value")
    assert render({"token": Exploding()}) == "{'token': <redacted>}"


def test_return_value_of_secret_function_is_redacted():
    assert rr.render_return("get_token", "abc") == REDACTED
    assert rr.render_return("make_api_key", None) == REDACTED
    assert rr.render_return("compute", "abc") == "'abc'"


def test_extra_and_disabled_redaction_patterns():
    custom = Renderer(redact=[r"ssn|iban"])
    assert custom.is_secret("customer_SSN") and custom.is_secret("password")
    assert custom.render({"iban": 1, "ok": 2}) == "{'iban': <redacted>, 'ok': 2}"
    none = Renderer(default_redact=False)
    assert not none.is_secret("password")
    assert none.render({"password": 1}) == "{'password': 1}"


# --------------------------------------------------------------- exceptions
class PlainError(Exception):
    pass


class UserStrError(Exception):
    def __str__(self):
        raise Forbidden("user __str__")


class InheritsUserStr(UserStrError):
    pass


class UserKeyError(KeyError):
    pass


class ArgsProperty(Exception):
    @property
    def args(self):
        raise Forbidden("args property")


class LoudError(Exception):
    # No __getattr__ here: pytest probes parametrize values for __name__.
    __repr__ = __str__ = forbidden


@pytest.mark.parametrize("exc,expected", [
    (ValueError("bad value"), "ValueError: bad value"),
    (ValueError(), "ValueError"),
    (ValueError(""), "ValueError"),
    (ValueError("a", 1), "ValueError: ('a', 1)"),
    (ValueError(None), "ValueError: None"),
    (ValueError(b"raw"), "ValueError: b'raw'"),
    (ValueError(1.5, True), "ValueError: (1.5, True)"),
    (KeyError("k"), "KeyError: 'k'"),
    (KeyError(), "KeyError"),
    (UserKeyError("k"), "UserKeyError: 'k'"),
    (OSError(1000, "odd"), "OSError: [Errno 1000] odd"),
    (FileNotFoundError(2, "No such file", "x.txt"),
     "FileNotFoundError: [Errno 2] No such file: 'x.txt'"),
    (PlainError("plain"), "PlainError: plain"),
    (StopIteration(5), "StopIteration: 5"),
    (SystemExit(3), "SystemExit: 3"),
    (ZeroDivisionError("division by zero"), "ZeroDivisionError: division by zero"),
])
def test_exception_message_is_str_when_no_user_code_runs(exc, expected):
    assert render_exception(exc) == expected


@pytest.mark.parametrize("exc,expected", [
    (UserStrError(), "UserStrError"),
    (UserStrError(""), "UserStrError"),
    (LoudError(), "LoudError"),
    (UserStrError("boom"), "UserStrError: boom"),
    (InheritsUserStr("boom"), "InheritsUserStr: boom"),
    (UserStrError("x", 2), "UserStrError: ('x', 2)"),
    (UserStrError(["a", 1]), "UserStrError: ['a', 1]"),
    (ValueError([1, 2]), "ValueError: [1, 2]"),
    (ValueError(Account("ann", 1)), "ValueError: Account(owner='ann', balance=1)"),
    (ValueError(Hooks()), "ValueError: Hooks(a=1)"),
    (ValueError(LoudStr("s")), "ValueError: LoudStr('s')"),
    (ValueError("ok", [1]), "ValueError: ('ok', [1])"),
    (KeyError(("a", 1)), "KeyError: ('a', 1)"),
    (ValueError({"password": "x", "n": 1}), "ValueError: {'password': <redacted>, 'n': 1}"),
    (ValueError(Color.RED), "ValueError: Color(1)"),
])
def test_exception_message_is_built_from_args_otherwise(exc, expected):
    assert render_exception(exc) == expected


def test_exception_str_arg_in_fallback_is_cut_at_max_string():
    assert render_exception(UserStrError("y" * 250)) == "UserStrError: " + "y" * 200 + "..."
    assert render_exception(UserStrError("y" * 200)) == "UserStrError: " + "y" * 200


def test_exception_str_path_is_not_cut_at_max_string():
    assert render_exception(ValueError("v" * 250)) == "ValueError: " + "v" * 250


def test_exception_value_is_bounded_by_max_total():
    out = render_exception(ValueError("é" * 600))
    assert out.endswith("...")
    assert len(out[:-3].encode()) in (999, 1000)
    assert ("ValueError: " + "é" * 600).startswith(out[:-3])
    out = render_exception(UserStrError(list(range(30)), "x" * 200, ["w" * 150] * 9))
    assert out.endswith("...") and len(out[:-3].encode()) == 1000


def test_exception_args_read_without_user_code():
    exc = ArgsProperty("shown")
    assert render_exception(exc) == "ArgsProperty: shown"


def test_exception_type_name_is_the_class_name():
    class Local(Exception):
        pass
    assert render_exception(Local("m")) == "Local: m"


# ------------------------------------------------------------------- locals
def _function_code():
    def f(a, b=1, *rest, c, d=2, **kw):
        local = 1
        return local
    return f.__code__


def _module_code():
    return compile("x = 1", "<m>", "exec")


def _class_code():
    return compile("class K:\n    y = 2\n", "<m>", "exec").co_consts[0]


def test_parameter_names():
    assert rr.parameter_names(_function_code()) == ("a", "b", "c", "d", "rest", "kw")
    assert rr.parameter_names((lambda: 0).__code__) == ()
    assert rr.parameter_names(_module_code()) == ()


def test_function_frames_keep_every_local_even_modules_and_dunders():
    items = [("a", 1), ("json", collections), ("__x__", 2), ("password", "p"),
             ("local", [1])]
    assert rr.capture_locals(_function_code(), items) == {
        "a": "1", "json": "<module 'collections'>", "__x__": "2",
        "password": REDACTED, "local": "[1]"}


@pytest.mark.parametrize("code", [_module_code(), _class_code()])
def test_module_and_class_bodies_skip_dunders_and_modules(code):
    items = [("__name__", "__main__"), ("__builtins__", {}), ("sys", sys),
             ("collections", collections), ("x", 1), ("f", top_level_function),
             ("_private", 2), ("API_KEY", "k"), ("__all__", [])]
    assert rr.capture_locals(code, items) == {
        "x": "1", "f": "<function top_level_function>", "_private": "2",
        "API_KEY": REDACTED}


def test_locals_args_keeps_only_parameters():
    items = [("a", 1), ("b", 2), ("c", 3), ("d", 4), ("rest", (5,)), ("kw", {}),
             ("local", 6)]
    assert rr.capture_locals(_function_code(), items, "args") == {
        "a": "1", "b": "2", "c": "3", "d": "4", "rest": "(5,)", "kw": "{}"}
    assert rr.capture_locals(_module_code(), [("x", 1)], "args") == {}
    assert rr.capture_locals(_class_code(), [("y", 1)], "args") == {}


def test_locals_args_of_a_deleted_parameter():
    assert rr.capture_locals(_function_code(), [("b", 2)], "args") == {"b": "2"}


def test_locals_none_keeps_nothing():
    assert rr.capture_locals(_function_code(), [("a", 1)], "none") == {}
    assert rr.capture_locals(_module_code(), [("x", 1)], "none") == {}


def test_each_local_is_bounded_on_its_own():
    items = [("v%02d" % k, "x" * 150) for k in range(40)]
    captured = rr.capture_locals(_module_code(), items)
    assert len(captured) == 40
    assert all(v == repr("x" * 150) for v in captured.values())


def test_is_dunder():
    assert rr.is_dunder("__init__") and rr.is_dunder("__x__")
    assert not rr.is_dunder("__x") and not rr.is_dunder("x__")
    assert not rr.is_dunder("____") and not rr.is_dunder("_x_")
