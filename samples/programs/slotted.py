"""Instances without a __dict__ (classes with __slots__, dataclasses with slots=True),
rendered from their filled slots (rule 11): set, unset, rebound and changed in place,
redacted, nested, in cycles, and next to instances that do have a __dict__."""

import dataclasses


class Base:
    __slots__ = ("zeta", "alpha")


class Point(Base):
    __slots__ = ("y", "x", "api_key", "__private")

    def __init__(self, x, y):
        self.x = x
        self.y = y

    def __repr__(self):
        raise AssertionError("the recorder must not call this")

    def move(self, dx):
        self.x += dx
        return self


class WithDict(Point):
    pass


@dataclasses.dataclass(slots=True)
class Person:
    name: str
    age: int
    tags: list = dataclasses.field(default_factory=list)


class Many:
    __slots__ = tuple("s%02d" % i for i in range(35))


def main():
    p = Point(1, 2)
    p.move(3)
    p.zeta = [1]
    p.zeta.append(2)               # a slot's value changed in place
    p.alpha = p                    # a cycle
    p.api_key = "hunter2"          # redacted
    p._Point__private = "mangled"
    del p.y                        # unset again
    p.y = None
    del p.zeta
    w = WithDict(5, 6)
    w.extra = "dict"
    w.x = 7                        # a slot of an instance that has a __dict__ too
    people = [Person("ann", 30), Person("bob", 4)]
    people[1].age += 1
    people[0].tags.append("x")
    people[0] = Person("cy", 9)
    solo = Person("dee", 1)
    solo.tags.append("y")          # its last slot's list, changed in place
    solo.tags.append("z")
    m = Many()
    for i in range(0, 35, 3):
        setattr(m, "s%02d" % i, i)
    for i in range(35):            # 30 shown, then "..."
        setattr(m, "s%02d" % i, i)
    m.s33 = "past the items shown"
    m.s00 = "first"
    del m.s34, m.s33, m.s32, m.s31, m.s30  # none set past the shown: no "..."
    m.s31 = 31                     # "..." again
    del m.s05                      # one more shown
    deep = [[[[Point(0, 0)]]]]
    deep[0][0][0][0].x = 1
    for i in range(4):             # a new instance, often at the old one's address
        q = None; q = Point(i % 2, 0)  # noqa: E702
    return p, w, people, solo, m, deep, q


main()
