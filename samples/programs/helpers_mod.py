"""A second local module, imported by uses_helpers.py; its module code is recorded too."""
# e2e-role: helper

PI_ISH = 3.14159
UNITS = {"m": 1.0, "cm": 0.01, "mm": 0.001}
_cache = {}


class Shape:
    def __init__(self, kind, *dims):
        self.kind = kind
        self.dims = list(dims)

    def area(self):
        if self.kind == "circle":
            return PI_ISH * self.dims[0] ** 2
        if self.kind == "rect":
            return self.dims[0] * self.dims[1]
        raise ValueError("unknown shape %s" % self.kind)


def convert(value, unit):
    key = (value, unit)
    if key not in _cache:
        _cache[key] = value * UNITS[unit]
    return _cache[key]


def total_area(shapes):
    return sum(shape.area() for shape in shapes)


squares = [n * n for n in range(4)]
