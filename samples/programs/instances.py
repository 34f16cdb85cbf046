"""Objects whose repr, attribute hooks or properties have side effects.

Rendering must call none of them: the program counts the calls and prints the count,
so any call made by a recorder changes the output.
"""
import collections

CALLS = collections.Counter()


class Loud:
    def __init__(self, name):
        self.name = name
        self.values = [1, 2]

    def __repr__(self):
        CALLS["repr"] += 1
        return "Loud!"

    def __str__(self):
        CALLS["str"] += 1
        return "LOUD"

    def __getattr__(self, attr):
        CALLS["getattr:" + attr] += 1
        raise AttributeError(attr)

    @property
    def shout(self):
        CALLS["property"] += 1
        return self.name.upper()


class Slotted:
    __slots__ = ("x", "y")

    def __init__(self, x, y):
        self.x = x
        self.y = y


class Mixed(Slotted):
    def __init__(self):
        super().__init__(1, 2)
        self.extra = "in dict"


class Tricky:
    def __init__(self):
        self.__dict__[1] = "int key"
        self.__dict__["__hidden__"] = "dunder key"
        self.visible = "yes"
        self._private = "underscore"


class LoudList(list):
    def __repr__(self):
        CALLS["list repr"] += 1
        return "LoudList!"

    def __iter__(self):
        CALLS["list iter"] += 1
        return super().__iter__()


class LoudDict(dict):
    def items(self):
        CALLS["dict items"] += 1
        return super().items()


class Meters(float):
    def __repr__(self):
        CALLS["float repr"] += 1
        return "Meters!"


class Code(str):
    def __str__(self):
        CALLS["str str"] += 1
        return "Code!"


class Many:
    def __init__(self, n):
        for k in range(n):
            setattr(self, "attr%02d" % k, k)


def make_objects():
    loud = Loud("ann")
    slotted = Slotted(1, 2)
    mixed = Mixed()
    tricky = Tricky()
    loud_list = LoudList([1, 2, 3])
    loud_dict = LoudDict(a=1)
    meters = Meters(2.5)
    code = Code("abc")
    many = Many(33)
    funcs = [len, make_objects, Loud.__repr__, loud.__repr__, print, lambda: 0]
    kinds = [int, Loud, type, collections.Counter, collections]
    deep = Loud("deep")
    deep.values = [[[[Loud("five")]]]]
    chain = Loud("a")
    chain.next = Loud("b")
    chain.next.next = chain
    return [loud, slotted, mixed, tricky, loud_list, loud_dict, meters, code, many,
            funcs, kinds, deep, chain]


def main():
    objects = make_objects()
    print(len(objects), dict(sorted(CALLS.items())))


main()
