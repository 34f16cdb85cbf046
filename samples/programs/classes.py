"""Classes: methods, classmethod, staticmethod, property, dataclass, enums, context managers."""
import collections
import dataclasses
import enum


class Color(enum.IntEnum):
    RED = 1
    GREEN = 2
    BLUE = 3


class Temperature:
    scale = "C"
    marks = [m * 10 for m in range(3)]
    names = {m: str(m) for m in marks if m}

    def __init__(self, celsius):
        self._celsius = celsius

    @property
    def celsius(self):
        return self._celsius

    @celsius.setter
    def celsius(self, value):
        if value < -273.15:
            raise ValueError("below absolute zero")
        self._celsius = value

    @property
    def fahrenheit(self):
        return self._celsius * 9 / 5 + 32

    @classmethod
    def from_fahrenheit(cls, degrees):
        return cls((degrees - 32) * 5 / 9)

    @staticmethod
    def describe(value):
        return "hot" if value > 25 else "mild" if value > 10 else "cold"

    def __repr__(self):
        return "Temperature(%r)" % self._celsius


@dataclasses.dataclass
class Item:
    name: str
    price: float
    quantity: int = 1
    tags: list = dataclasses.field(default_factory=list)

    def __post_init__(self):
        self.name = self.name.strip()

    def total(self):
        return self.price * self.quantity


@dataclasses.dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int = 0


class Shape:
    sides = 0

    def __init__(self, name):
        self.name = name

    def area(self):
        raise NotImplementedError

    def describe(self):
        return "%s with %d sides and area %.2f" % (self.name, self.sides, self.area())


class Square(Shape):
    sides = 4

    def __init__(self, side):
        super().__init__("square")
        self.side = side

    def area(self):
        return self.side ** 2


class Triangle(Shape):
    sides = 3

    def __init__(self, base, height):
        super().__init__("triangle")
        self.base = base
        self.height = height

    def area(self):
        return self.base * self.height / 2


class Recorder:
    def __init__(self):
        self.entered = 0
        self.events = []

    def __enter__(self):
        self.entered += 1
        self.events.append("enter")
        return self

    def __exit__(self, exc_type, exc, tb):
        self.events.append("exit:%s" % (exc_type.__name__ if exc_type else None))
        return exc_type is KeyError


Point = collections.namedtuple("Point", "x y")


@dataclasses.dataclass(slots=True)
class Pixel:
    x: int
    y: int


def main():
    t = Temperature.from_fahrenheit(212)
    t.celsius = 30
    print(t, t.fahrenheit, Temperature.describe(t.celsius))
    try:
        t.celsius = -300
    except ValueError as exc:
        print("rejected:", exc)

    cart = [Item("  apple ", 0.5, 6), Item("pear", 0.75, tags=["ripe"])]
    cart[1].quantity += 2
    print([item.total() for item in cart], cart[0])

    versions = sorted([Version(1, 2), Version(0, 9), Version(1)])
    print(versions, Version(1, 2) == Version(1, 2))

    shapes = [Square(3), Triangle(4, 5)]
    for shape in shapes:
        print(shape.describe())

    rec = Recorder()
    with rec as r:
        r.events.append("body")
    with rec:
        {}["missing"]
    print(rec.events, rec.entered)

    favourite = Color.GREEN
    mix = [Color(1), Color.BLUE]
    p = Point(3, 4)
    px = Pixel(1, 2)
    px.x += 5
    counts = collections.Counter("abracadabra")
    groups = collections.defaultdict(list)
    for word in ("ant", "bee", "asp"):
        groups[word[0]].append(word)
    print(favourite + 1, mix, p.x + p.y, counts.most_common(2), dict(groups))


main()
