"""Every way a plain instance can change while a frame holds it.

The recorder recognises an unchanged instance or dict by its version tag
instead of rendering it again, and reuses an unchanged instance's last text
inside a container: each change below must still show up in the locals of
the next event, exactly as the reference renders them.
"""


class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y


class Bag:
    pass


def bump(pt):
    pt.x += 1


def attributes():
    p = Point(1, 2)
    p.x = 10
    for i in range(40):          # enough repeats for the specialised stores
        p.y = i
    p.tags = {"a": 1}
    p.tags["b"] = 2              # a dict held by an attribute, changed in place
    p.items = [1, 2]
    p.items.append(3)            # a list held by an attribute, changed in place
    p.items[0] = 100
    p.items[0] = 100
    del p.x
    setattr(p, "x", 5)
    object.__setattr__(p, "y", 6)
    vars(p).update(w=7)
    p.__dict__["v"] = 8
    p.__dict__.pop("v")
    p.__dict__.setdefault("k", 1)
    p.__dict__.setdefault("k", 2)
    p.__dict__ |= {"m": 4}
    p.__dict__.popitem()
    for _ in range(3):
        bump(p)                  # changed by a callee
    return p


def identity():
    p = Point(0, 0)
    p.__class__ = Bag            # same dict, another class
    p.__class__ = Point
    p.__dict__ = {"x": 3}        # another dict
    p.__dict__.clear()
    p.x = 1
    Point.__name__ = "Renamed"   # the class renamed
    p.x = 2
    Point.__name__ = "Point"
    p.x = 3
    return p


def nesting():
    p = Point(1, 1)
    q = Point(2, 2)
    q.other = p
    p.x = 99                     # q's rendering changes through p
    pts = [Point(i, i) for i in range(3)]
    pts[1].x = -1                # an instance inside a list
    for k in range(3):
        pts[k].y += 10
    del pts[0]
    pts.append(Point(7, 7))
    pts[0].buddy = pts[1]
    pts[1].x = 42
    return q, pts


def recycling():
    # Instances freed and new ones made, often at the same address.
    a = None
    for i in range(30):
        a = Point(i, -i)
        a = None
        a = Point(i + 1, i)
        a.x += 1
    b = Bag()
    for i in range(30):
        b.__dict__ = {"i": i}
    return a, b


def reuse():
    # An instance's text, rendered alone, reused inside containers: deeper
    # than it was rendered (the depth limit cuts it there), after other text
    # (the length budget cuts it there), and after it or its class changed.
    p = Point(1, 2)
    p.inner = Point([1, [2, [3]]], {"k": Point(0, 0)})
    deep = [[[[p]]]]
    wide = ["x" * 190] * 5 + [p]
    pair = [p, p]
    p.inner.y["k"].x = 5         # two levels down, through a dict
    Point.__name__ = "Renamed"
    pair.append(1)
    Point.__name__ = "Point"
    p.inner.x[1][1].append(4)    # a list inside, changed in place
    ref = {"a": p, "b": [p]}
    p.x = 3
    e = Bag()                    # no attribute yet (before 3.11: no dict made)
    q = Point(e, 0)
    q.y = 1                      # q rendered again: e's text is reused
    deep_q = [[[[q]]]]           # deeper: e is cut by the depth limit there
    s = Point(set(), 0)          # an empty set: its text depends on its depth too
    s.y = 1
    deep_s = [[[[s]]]]
    return deep, wide, pair, ref, deep_q, deep_s


def dicts():
    # Dicts are recognised by their version too: everything a dict's own
    # mutations and its items' mutations can do.
    d = {"a": 1, "b": [1, 2], "c": {"x": Point(1, 1)}}
    outer = [d, {"d": d}]
    d["a"] = 1                   # the same value again
    d["a"] = 2
    d["b"].append(3)
    d["c"]["x"].y = 9
    d["c"]["x"] = Point(2, 2)
    d.update(e=5)
    del d["e"]
    d.pop("a")
    d["a"] = 2                   # back, at the end of the order
    secrets = {"password": "hunter2", "user": "bob"}
    secrets["password"] = "hunter3"   # redacted: the text does not change
    secrets["user"] = "eve"
    cfg = Bag()
    cfg.env = {"password": "x", "n": 1}
    cfg.env["n"] += 1
    keys = {1: "one"}
    keys[1.0] = "uno"            # an equal key: the value is replaced
    keys[True] = "true"
    nested = {"a": [[["x"]]]}
    wrapped = [[nested]]         # deeper than it was rendered: the depth limit cuts it
    return outer, secrets, cfg, keys, wrapped


def renames():
    # The same values under other names, in one line (between two events):
    # only the names tell them apart.
    p = Point(5, 5)
    del p.x; p.z = 5             # noqa: E702
    q = Bag()
    q.a = "s"
    q.b = "s"
    del q.a; q.c = "s"           # noqa: E702
    q.__dict__                   # materialised, sharing the inline values
    del q.b; q.d = "s"           # noqa: E702
    return p, q


def budget():
    # Values longer than the length budget (1000 bytes) show only what comes
    # before the cut: a change after it leaves the text as it is, one before
    # it does not. The cut falls inside a name, a value, a separator.
    for pad in range(0, 90, 7):
        v = ["q" * 180] * 5 + ["r" * pad, Point(1, 2), {"key": "val"}, Point(3, 4)]
        v[6].x = 10
        v[7]["key"] = "w"
        v[8].y = 5
        v[5] = "s" * pad
    pts = [Point(i, "x" * 150) for i in range(10)]
    pts[9].x = -1                # after the cut
    pts[0].x = -1                # before it
    for i in range(10):
        pts[i].y = "\u00e9" * 150   # two bytes each: a cut inside a character
    flat = ["y" * 60 for _ in range(25)]
    flat[20] = "z" * 60          # held scalars only, after the cut
    flat[3] = "z" * 60
    keys = {"k" * 90 + str(i): i for i in range(20)}
    keys["k" * 90 + "19"] = 7
    keys["k" * 90 + "0"] = 7
    b = Bag()
    for i in range(12):
        setattr(b, "attr_%d_" % i + "n" * 80, i)
    setattr(b, "attr_11_" + "n" * 80, -1)
    setattr(b, "attr_0_" + "n" * 80, -1)
    return v, pts, flat, keys, b


def shared():
    # One instance reached from several locals, inside containers whose own
    # versions do not change when it does: each rendering that reused its
    # text must see each change, whatever kind.
    inner = Point(1, 2)
    box = {"p": inner}
    outer = Point(box, [inner])
    alias = outer
    inner.x = 5                  # its attribute
    inner.__class__ = Bag        # its class, nothing else changed
    inner.__class__ = Point
    inner.__dict__ = {"z": 0}    # its dict replaced
    inner.__dict__["z"] = 1      # the new dict changed
    box["q"] = Point(0, 0)       # the dict that holds it
    box["q"].y = 9
    outer.y.append(inner)        # a list beside it
    return alias


def splices():
    # Rendered anew from its last rendering, an instance or dict takes the
    # text of each name or key still bound to the same value from it; every
    # other value, and any other order of names, is rendered.
    p = Point(1, "one")
    p.tags = {"a": 1, "b": [1]}
    p.sub = Point(0, 0)
    p.items = [1, 2]
    p.x = 2                      # one scalar among several
    p.sub.x = 3                  # a nested instance, changed in place
    p.items.append(3)            # a list (several entries), changed in place
    p.tags["b"].append(2)        # a list inside a dict inside it
    p.y = "on" + "e"             # an equal str, another object
    p.items = [1, 2, 3]          # another list, the same text
    p.sub = p                    # itself, where an instance was
    p.sub = Point(0, 0)
    del p.x
    p.x = 4                      # the same names, in another order
    p.password = "a"
    p.password = "b"             # redacted: its text stays
    p.x = 5                      # beside a redacted one
    deep = [[[p]]]               # deeper: the depth limit cuts its values there
    p.x = 6
    p.sub.y = [[[1]]]
    p.x = 7
    totals = {}
    for i in range(12):
        totals["k%d" % (i % 5)] = totals.get("k%d" % (i % 5), 0) + i
    totals.pop("k1")
    totals["k1"] = 0             # a key moved to the end
    totals["k0"] = -1
    key = Bag()
    totals[key] = "key"          # a key whose text can change
    key.n = 1
    totals["k2"] = -2
    nested = {"d": {"x": 1, "y": Point(1, 1)}}
    nested["d"]["y"].x = 2       # an instance inside a dict inside a dict
    nested["d"]["x"] = 3
    return p, deep, totals, nested


attributes()
splices()
renames()
shared()
identity()
nesting()
recycling()
reuse()
dicts()
budget()
print("done")
