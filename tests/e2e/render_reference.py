"""Pure-Python twin of docs/RENDERING.md: how tracetape renders captured values.

The C++ recorder renders every local, return value and exception into text inside the
hook. This module implements the same rules in Python so that the end-to-end tests can
compare the recorder's output with a reference recording byte for byte. It is the
executable reading of RENDERING.md; where the document leaves a choice open, the choice
made here is marked "Choice:" in a comment.

Like the recorder, the renderer never runs user code: no ``__repr__``, ``__str__``,
``__getattr__``, property or descriptor of a user class is called. Everything that could
be overridden by a user class is reached through the built-in type's own slot
(``int.__index__(v)``, ``dict.items(v)``, ``BaseException.args``, the C API's
``_PyObject_GetDictPtr`` for instance dicts...).
"""

import collections
import ctypes
import datetime
import os
import re
import types

MAX_STRING = 200
MAX_ITEMS = 30
MAX_DEPTH = 4
MAX_TOTAL = 1000

DEFAULT_REDACT = (r"passw|pwd|secret|token|api_?key|auth|credential|private_?key"
                  r"|session|cookie")
REDACTED = "<redacted>"

_INT_BITS_LIMIT = 4000
_HEAPTYPE = 1 << 9
_CO_OPTIMIZED = 0x0001
_CO_VARARGS = 0x0004
_CO_VARKEYWORDS = 0x0008

# Built-in slots reached directly, so that a user class cannot intercept them.
_type_name = type.__dict__["__name__"].__get__
_type_mro = type.__dict__["__mro__"].__get__
_type_dict = type.__dict__["__dict__"].__get__
_type_flags = type.__dict__["__flags__"].__get__
_module_dict = types.ModuleType.__dict__["__dict__"].__get__
_exc_args = BaseException.__dict__["args"].__get__
_get_dict_ptr = ctypes.pythonapi._PyObject_GetDictPtr
_get_dict_ptr.restype = ctypes.POINTER(ctypes.py_object)
_get_dict_ptr.argtypes = None  # the argument is wrapped by hand: see _instance_dict

# Rule 9: the built-in bases, in the order they are tried, and how to get the plain
# base value out of an instance of a subclass without running user code.
_BASES = (
    (int, int.__index__),                    # exact int copy
    (float, float.__float__),                # exact float copy
    (str, lambda v: "".join((v,))),          # exact str copy
    (bytes, lambda v: bytes.__getitem__(v, slice(None))),  # exact bytes copy (no buffer protocol:
                                             # a subclass's __buffer__ is program code, 3.12+)
    (list, None),
    (tuple, None),
    (dict, None),
    (set, None),
    (frozenset, None),
)
_CONTAINERS = (list, tuple, dict, set, frozenset)
# Rule 12: the datetime C module's immutable value types (exact types only).
_DATETIME_VALUES = (datetime.date, datetime.datetime, datetime.time, datetime.timedelta,
                    datetime.timezone)
_timezone_args = datetime.timezone.__getinitargs__
# Choice: a frozenset past max_depth or in a cycle is written like a set, "{...}"
# (RENDERING.md: "for sets {...} as well").
_CUT = {list: "[...]", tuple: "(...)", dict: "{...}", set: "{...}", frozenset: "{...}"}


def is_dunder(name):
    """`__x__`: at least one character between the double underscores."""
    return len(name) > 4 and name[:2] == "__" and name[-2:] == "__"


class _Full(Exception):
    """Raised internally once the output is certain to be cut by max_total."""


class Renderer:
    """Renders values per RENDERING.md with the given bounds and redaction patterns."""

    def __init__(self, max_string=MAX_STRING, max_items=MAX_ITEMS, max_depth=MAX_DEPTH,
                 max_total=MAX_TOTAL, redact=(), default_redact=True):
        self.max_string = max_string
        self.max_items = max_items
        self.max_depth = max_depth
        self.max_total = max_total
        patterns = ([DEFAULT_REDACT] if default_redact else []) + list(redact)
        if patterns:
            self._redact = re.compile("|".join("(?:%s)" % p for p in patterns),
                                      re.IGNORECASE)
        else:
            self._redact = None

    # ----------------------------------------------------------------- redaction
    def is_secret(self, name):
        """True when NAME matches a redaction pattern (case-insensitive substring)."""
        return self._redact is not None and self._redact.search(name) is not None

    # ------------------------------------------------------------------ values
    def render(self, value):
        """The text of one captured value, bounded by max_total."""
        out = _Out(self.max_total)
        try:
            self._render(value, 0, set(), out)
        except _Full:
            pass
        return self.bound_total("".join(out.parts))

    def render_return(self, func_name, value):
        """The value of a `return` event of a function named FUNC_NAME."""
        if self.is_secret(func_name):
            return REDACTED
        return self.render(value)

    def bound_total(self, text):
        """Cut TEXT to at most max_total UTF-8 bytes (never inside a character) + '...'."""
        data = text.encode("utf-8", "surrogatepass")
        if len(data) <= self.max_total:
            return text
        end = self.max_total
        # data[end] is the first byte left out; if it continues a character, that
        # character started inside the kept part: leave it out whole.
        while end > 0 and (data[end] & 0xC0) == 0x80:
            end -= 1
        return data[:end].decode("utf-8", "surrogatepass") + "..."

    def _render(self, v, level, active, out):
        t = type(v)
        # Rule 1.
        if v is None or v is True or v is False:
            out.add(repr(v))
        # Rule 2.
        elif t is int:
            out.add(self._int(v))
        # Rule 3.
        elif t is float or t is complex:
            out.add(repr(v))
        # Rules 4 and 5.
        elif t is str or t is bytes:
            out.add(self._bounded_string(v))
        # Rule 6.
        elif t in _CONTAINERS:
            self._container(v, t, level, active, out)
        # Rule 7.
        elif issubclass(t, type):
            out.add(type.__repr__(v))
        # Rule 8.
        elif t is types.FunctionType:
            out.add("<function %s>" % (v.__qualname__,))
        elif issubclass(t, types.ModuleType):
            out.add("<module '%s'>" % (self._module_name(v),))
        else:
            # Rule 9.
            for base, plain in _BASES:
                if issubclass(t, base):
                    out.add(_type_name(t) + "(")
                    if plain is not None:
                        self._render(plain(v), level, active, out)
                    else:
                        # The base value is the object itself seen as its base type;
                        # it keeps the object's level (the object is not a level).
                        self._container(v, base, level, active, out)
                    out.add(")")
                    return
            # Rule 10.
            if issubclass(t, BaseException):
                self._exception_instance(v, t, level, active, out)
                return
            # Rule 12.
            if t is collections.deque:
                self._deque(v, level, active, out)
                return
            if t is bytearray:
                out.add("bytearray(" + self._bounded_string(bytes(v)) + ")")
                return
            if t is range:
                out.add(self._range(v))
                return
            if t in _DATETIME_VALUES and self._plain_datetime(v, t):
                out.add(repr(v))
                return
            if t is os._Environ:
                out.add("environ(<not recorded>)")
                return
            # Rule 11.
            d = _instance_dict(v)
            if d is not None:
                self._instance(v, t, d, level, active, out)
            elif _slots(t):
                self._slotted(v, t, _slots(t), level, active, out)
            else:
                # Rule 13.
                out.add("<%s object>" % (_type_name(t),))

    def _int(self, v):
        bits = v.bit_length()
        if bits > _INT_BITS_LIMIT:
            return "<int with %d bits>" % bits
        return repr(v)

    def _enclosed(self, v, level, active, out, cut, body):
        """BODY() renders V, or CUT is written past max_depth or in a cycle."""
        if level > self.max_depth or id(v) in active:
            out.add(cut)
            return
        active.add(id(v))
        try:
            body()
        finally:
            active.discard(id(v))

    def _entries(self, entries, level, active, out):
        """(name, value) pairs, comma-separated, one level deeper: NAME=VALUE, or the
        value alone where NAME is None; past max_items the rest is "..."; a value
        whose name matches a secret is <redacted>."""
        shown = 0
        for key, value in entries:
            if shown == self.max_items:
                out.add(", ..." if shown else "...")
                break
            if shown:
                out.add(", ")
            shown += 1
            if key is not None:
                out.add(key + "=")
                if self.is_secret(key):
                    out.add(REDACTED)
                    continue
            self._render(value, level + 1, active, out)

    def _deque(self, v, level, active, out):
        """deque([a, b]) or deque([a, b], maxlen=N), the items as a list's (rule 6);
        past max_depth or in a cycle deque([...])."""
        def body():
            out.add("deque([")
            self._entries(((None, item) for item in collections.deque.__iter__(v)),
                          level, active, out)
            out.add("]")
            maxlen = collections.deque.maxlen.__get__(v)
            if maxlen is not None:
                out.add(", maxlen=" + self._int(maxlen))
            out.add(")")
        self._enclosed(v, level, active, out, "deque([...])", body)

    def _range(self, v):
        parts = [self._int(v.start), self._int(v.stop)]
        if v.step != 1:
            parts.append(self._int(v.step))
        return "range(%s)" % ", ".join(parts)

    @staticmethod
    def _plain_datetime(v, t):
        """Whether repr(v) runs only the datetime module's C code: no tzinfo, or an
        exact timezone whose offset is an exact timedelta and name an exact str."""
        if t is datetime.timezone:
            tz = v
        elif t is datetime.datetime or t is datetime.time:
            tz = v.tzinfo
        else:
            return True
        if tz is None or tz is datetime.timezone.utc:
            return True
        if type(tz) is not datetime.timezone:
            return False
        args = _timezone_args(tz)
        return type(args[0]) is datetime.timedelta and (len(args) == 1 or type(args[1]) is str)

    def _bounded_string(self, v):
        if len(v) <= self.max_string:
            return repr(v)
        return repr(v[:self.max_string]) + "..."

    @staticmethod
    def _module_name(v):
        name = _module_dict(v).get("__name__")
        return name if type(name) is str else "?"

    def _container(self, v, kind, level, active, out):
        """Rule 6 for V seen as an instance of KIND (V's exact type or its base)."""
        if level > self.max_depth or id(v) in active:
            out.add(_CUT[kind])
            return
        active.add(id(v))
        try:
            if kind is dict:
                self._dict_items(v, level, active, out)
                return
            size = kind.__len__(v)
            if kind is list:
                opening, closing = "[", "]"
            elif kind is tuple:
                opening, closing = "(", ",)" if size == 1 else ")"
            elif size == 0:
                out.add("set()" if kind is set else "frozenset()")
                return
            elif kind is set:
                opening, closing = "{", "}"
            else:
                opening, closing = "frozenset({", "})"
            out.add(opening)
            self._entries(((None, item) for item in kind.__iter__(v)), level, active, out)
            out.add(closing)
        finally:
            active.discard(id(v))

    def _dict_items(self, v, level, active, out):
        out.add("{")
        shown = 0
        for key, value in dict.items(v):
            if shown == self.max_items:
                out.add(", ..." if shown else "...")
                break
            if shown:
                out.add(", ")
            self._render(key, level + 1, active, out)
            out.add(": ")
            # Choice: a key "is str" when isinstance(key, str) (subclasses included),
            # and likewise for bytes, read as UTF-8 (os.environ's _data).
            if isinstance(key, str) and self.is_secret(key) or \
                    isinstance(key, bytes) and self.is_secret(bytes.decode(key, "utf-8", "surrogateescape")):
                out.add(REDACTED)
            else:
                self._render(value, level + 1, active, out)
            shown += 1
        out.add("}")

    def _exception_instance(self, v, t, level, active, out):
        """Rule 10: TypeName(a1, a2) over v.args, like repr() of built-in exceptions."""
        name = _type_name(t)

        # Choice: an exception met again inside its own args (a cycle) is written
        # TypeName(...), as past max_depth.
        def body():
            out.add(name + "(")
            # (tuple's own iterator: the args may be a tuple subclass's.)
            self._entries(((None, arg) for arg in tuple.__iter__(_exc_args(v))), level, active, out)
            out.add(")")
        self._enclosed(v, level, active, out, name + "(...)", body)

    def _instance(self, v, t, d, level, active, out):
        """Rule 11: TypeName(k1=v1, k2=v2) over the instance __dict__."""
        # Choice: skipped keys (non-str, dunder) do not count towards max_items, and
        # the "..." is written only when another shown attribute would follow.
        # RENDERING.md's Redaction section says "instance attribute (rule 10)":
        # numbering from before exception instances became rule 10. Choice: the
        # attributes meant are these (rule 11); exception args have no names and are
        # never redacted as such.
        items = [(key, value) for key, value in dict.items(d)
                 if isinstance(key, str) and not is_dunder(key)]
        self._named(v, t, items, level, active, out)

    def _slotted(self, v, t, slots, level, active, out):
        """Rule 11 without a __dict__: TypeName(s1=v1, s2=v2) over the filled slots."""
        items = []
        for key, member in slots:
            try:
                items.append((key, member.__get__(v)))
            except AttributeError:  # not set
                pass
        self._named(v, t, items, level, active, out)

    def _named(self, v, t, items, level, active, out):
        name = _type_name(t)

        def body():
            out.add(name + "(")
            self._entries(items, level, active, out)
            out.add(")")
        self._enclosed(v, level, active, out, name + "(...)", body)

    # -------------------------------------------------------------- exceptions
    def render_exception(self, exc):
        """The value of an `exception` event: 'TypeName: message' (or 'TypeName' when the
        message is empty), bounded by max_total."""
        name = _type_name(type(exc))
        message = self.exception_message(exc)
        if not message:
            return self.bound_total(name)  # as a traceback prints it
        return self.bound_total(name + ": " + message)

    def exception_message(self, exc):
        try:
            args = _exc_args(exc)
        except Exception:  # not a BaseException instance
            args = ()
        # args may be a tuple subclass (C code may raise with one as the args):
        # read through tuple's own methods, never the subclass's. str(exc) of two
        # args or more is str(args), which would run the subclass's __repr__.
        items = [tuple.__getitem__(args, i) for i in range(tuple.__len__(args))]
        if (_str_is_builtin(type(exc)) and (type(args) is tuple or len(items) < 2)
                and all(_is_simple(a) for a in items)):
            return str(exc)
        if len(items) == 0:
            return ""
        if len(items) == 1:
            arg = items[0]
            if type(arg) is str:
                if len(arg) <= self.max_string:
                    return arg
                return arg[:self.max_string] + "..."
            return self.render(arg)
        # The args object itself seen as a tuple: an item that holds it again
        # closes a cycle there.
        out = _Out(self.max_total)
        try:
            self._container(args, tuple, 0, set(), out)
        except _Full:
            pass
        return self.bound_total("".join(out.parts))

    # ------------------------------------------------------------------ locals
    def capture_locals(self, code, items, mode="all"):
        """The rendered locals of a frame of CODE whose locals mapping has ITEMS.

        Function frames (CO_OPTIMIZED) keep every entry; module and class bodies skip
        dunder names and modules. MODE "args" keeps only the parameters, "none" nothing.
        """
        if mode == "none":
            return {}
        function = bool(code.co_flags & _CO_OPTIMIZED)
        params = None
        if mode == "args":
            if not function:
                return {}
            params = set(parameter_names(code))
        result = {}
        for name, value in items:
            # Choice: a non-str name (only possible in a module or class namespace
            # written through its dict) is skipped; JSON keys are strings.
            if not isinstance(name, str):
                continue
            if params is not None and name not in params:
                continue
            if not function and (is_dunder(name)
                                 or issubclass(type(value), types.ModuleType)):
                continue
            result[name] = REDACTED if self.is_secret(name) else self.render(value)
        return result


def parameter_names(code):
    """The parameter names of CODE, in order (positional, keyword-only, *args, **kw)."""
    n = code.co_argcount + code.co_kwonlyargcount
    if code.co_flags & _CO_VARARGS:
        n += 1
    if code.co_flags & _CO_VARKEYWORDS:
        n += 1
    return code.co_varnames[:n]


def _instance_dict(v):
    """The instance dict of V as the C API sees it, else None. Runs no user code.

    Choice: "an object with an instance __dict__" means an object whose type has a
    dict slot (tp_dictoffset, or a managed dict on 3.11+), read with
    _PyObject_GetDictPtr. That includes objects whose class hides `__dict__` from
    Python: a C base class with a dict slot but no `__dict__` descriptor (instances
    of asyncio's _GatheringFuture and Task, where vars() fails), or a user property
    named `__dict__` (never called). A dict slot not filled yet is an empty dict.
    """
    # ctypes.py_object(v) wraps V as is; an argtypes conversion would look up
    # V.__class__, which a user class can intercept.
    pointer = _get_dict_ptr(ctypes.py_object(v))
    if not pointer:
        return None
    try:
        d = pointer.contents.value
    except ValueError:  # slot present, dict not created yet
        return {}
    return d if isinstance(d, dict) else None


def _slots(t):
    """The (name, member descriptor) of T's __slots__, as CPython lays them out: for
    each class of the MRO from the base down whose own dict binds __slots__, the
    member descriptors in its dict (in the order of its members: the names sorted),
    dunder names left out. Choice: a class without __slots__ of its own adds none,
    and only slots are read (a C class's members are not)."""
    found = []
    # A C type CPython never readied (3.11's co_positions() iterator) has no
    # MRO yet (None): it is its own, and declares no slots.
    for cls in reversed(_type_mro(t) or (t,)):
        own = _type_dict(cls)
        if not (_type_flags(cls) & _HEAPTYPE) or "__slots__" not in own:
            continue
        for key, member in own.items():
            # Its own member (not one copied from another class under a new name).
            if (type(member) is types.MemberDescriptorType and not is_dunder(key)
                    and member.__objclass__ is cls and member.__name__ == key):
                found.append((key, member))
    return found


def _str_is_builtin(exc_type):
    """True when the first class of the MRO defining __str__ is not a Python class.

    Choice: "built-in" means the __str__ found is a C slot wrapper, i.e. calling it
    runs no Python code (a class defined in Python that defines __str__ has a
    function there).
    """
    for klass in _type_mro(exc_type):
        ns = _type_dict(klass)
        if "__str__" in ns:
            return type(ns["__str__"]) is types.WrapperDescriptorType
    return False


def _is_simple(arg):
    return arg is None or type(arg) in (bool, int, float, str, bytes)


class _Out:
    """Collects output parts; stops rendering once max_total is surely exceeded."""

    __slots__ = ("parts", "chars", "limit")

    def __init__(self, max_total):
        self.parts = []
        self.chars = 0
        self.limit = max_total

    def add(self, text):
        self.parts.append(text)
        self.chars += len(text)
        # A character is at least one UTF-8 byte, so more characters than max_total
        # means more bytes than max_total: the text will be cut, and everything past
        # what was written so far is cut away with it.
        if self.chars > self.limit:
            raise _Full


DEFAULT = Renderer()
render = DEFAULT.render
render_exception = DEFAULT.render_exception
render_return = DEFAULT.render_return
is_secret = DEFAULT.is_secret
capture_locals = DEFAULT.capture_locals
