"""Module and class namespaces changing in every way their capture must see: the
recorder compares a namespace's entries, in order, with those it met at the last
event, so names going, coming back at the end, keys of other kinds, modules bound
and unbound, and values changing at the same identity are each checked."""
import os
import sys


def helper(x):
    return x + 1


first = 1
second = "two"
third = [3]
third.append(4)
helper.__qualname__ = "renamed_helper"
alias = os
alias = 5
alias = sys
alias = 6
del first
first = 10
globals()[7] = "a non-str key"


class Key(str):
    pass


globals()[Key("subclassed")] = "a str-subclass key"
globals()[Key("subclassed")] = "rebound"
password = "hunter2"
password = "hunter3"
del second
second = "again"
for i in range(40):
    globals()["gen_%d" % i] = i * i
for i in range(0, 40, 3):
    del globals()["gen_%d" % i]
gen_1 = [gen_1, gen_2]
gen_1.append(gen_4)
globals().update({"gen_5": "five", "late": None})
globals().pop("gen_7")
del gen_10; gen_99 = "in place of gen_10"  # one name goes, another comes: as many names
globals()["gen_98"] = globals().pop("gen_11")
third = third
third[0] = "changed in place"


def later():
    return "later"


later.__qualname__ = "later_renamed"
later = helper
helper = 3


class Body:
    a = 1
    b = [a]
    b.append(2)
    del a
    a = "again"
    token = "s3cret"

    def method(self):
        return 1

    method.__qualname__ = "Body.renamed"
    c = method
    del method
    locals()["d"] = 4
    e = sys
    e = [c]


namespace = {"x": 1}
exec("y = x + 1\nx = [y]\nx.append(3)\ndel y\nimport os as z\nz = 0\n", namespace)
first = sorted(k for k in namespace if not k.startswith("__"))
print(first, third, second, gen_1, Body.b, [f.__qualname__ for f in Body.e], [n for n in ["gen_%d" % j for j in range(40)] if n in globals()])
