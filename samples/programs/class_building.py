"""Classes built attribute by attribute, as attrs and dataclasses do, shown as `cls` and in a
list at every step: `<class 'MODULE.QUALNAME'>` changes only when __module__ or __qualname__
does. Also locals bound to a new closure at each call (`<function Q>`, the same text) and to
new instances of a class without a __dict__ (`<T object>`)."""


def add_fields(cls, names):
    built = [cls]
    for i, name in enumerate(names):
        setattr(cls, name, i)  # the class dict changes, its text does not
    cls.__module__ = "made." + cls.__module__  # now it does
    setattr(cls, "late", True)
    cls.__qualname__ = "Outer." + cls.__name__
    return built


def make(n):
    out = []
    for i in range(n):
        cls = type("C%d" % (i % 2), (), {})
        out.extend(add_fields(cls, ["a", "b", "c"]))
    return [c.__module__ + "." + c.__qualname__ for c in out]


def closures(n):
    total = 0
    for i in range(n):
        def add(x, i=i):  # a new function object each time: `<function closures.<locals>.add>`
            return x + i
        key = object()  # a new `<object object>` each time
        total = add(total)
    return total, type(key).__name__


print(make(3))
print(closures(4))
