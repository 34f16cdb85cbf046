"""Structures made only of dicts and instances, mostly unchanged from one event to the next.

On 3.12+ the recorder watches the dicts it renders (PyDict_Watch): while none of them
changes, such a value is known unchanged from a few identities (its own dict's version,
each instance's class, class name and __dict__, each subclass's class) instead of a walk
of every dict in it. Every change below must still show up at the next event, exactly
as the reference renders it: the ones no dict change shows above all.
"""

from collections import defaultdict


class Node:
    def __init__(self, name):
        self.name = name
        self.seen = 0


class Other:
    pass


class Table(dict):
    pass


class Ledger(dict):
    pass


def graph():
    # A dict of dicts far past the length budget, read much, changed rarely
    # (Floyd-Warshall's shape: dist[u][v] updated when a shorter path shows).
    n = 12
    dist = defaultdict(dict)
    for u in range(n):
        for v in range(n):
            dist[u][v] = 0 if u == v else (1 if (u * v) % 3 == 0 else 99)
    for w in range(n):
        dist_w = dist[w]
        for u in range(n):
            dist_u = dist[u]
            for v in range(n):
                d = dist_u[w] + dist_w[v]
                if dist_u[v] > d:
                    dist_u[v] = d          # before or past the cut
    return dist[0][n - 1], dist[n - 1][0]


PAD = {"pad%d" % i: i for i in range(20)}  # past the size a rendering watches its dicts from


def identities():
    # Changes that change no dict, in values large enough to be watched.
    a = Node("a")
    tree = {"left": {"node": a}, "right": {"leaf": 1}, **PAD}
    for _ in range(3):
        a.seen += 1                 # a's __dict__: watched
    a.__class__ = Other             # its class
    a.__class__ = Node
    Node.__name__ = "Renamed"       # its class's name
    Node.__name__ = "Node"
    a.__dict__ = {"name": "b"}      # another __dict__
    a.seen = 5                      # ... watched from its rendering on
    t = Table(x=1)
    holder = {"t": t, "tree": tree, **PAD}
    t.__class__ = Ledger            # a dict subclass's class
    Ledger.__name__ = "Book"
    Ledger.__name__ = "Ledger"
    t["y"] = 2
    return tree, holder


def recycled():
    # New dicts bound to the same name, often at the address of the last
    # one, with no change to any watched dict in between.
    d = None
    for i in range(40):
        d = {"i": i, **PAD}
        d = None
        d = {"i": i + 1, **PAD}
    seq = {"k": {"i": 0}, **PAD}
    for i in range(40):
        seq["k"] = {"i": i}         # the container changes: watched
    return d, seq


def methods():
    # Changes made by the dict's own C methods, and by a read.
    d = {"a": {"x": 1}, "b": {}, **PAD}
    d["a"].update(y=2)
    d["b"].setdefault("z", 3)
    d["a"] |= {"w": 4}
    d["b"].popitem()
    d["a"].pop("x")
    d["b"].clear()
    dd = defaultdict(list, {"k": [1]})
    box = {"dd": dd, **PAD}
    dd["new"]                       # a read that inserts
    dd["k"].append(2)               # a list inside: not watched, walked
    return d, box


class Graph:
    def __init__(self, n):
        self.adj = {u: {v: 1 for v in range(n) if v != u} for u in range(n)}
        self.name = "g"


class Digraph(Graph):
    pass


def instance_rooted():
    # A structure rooted in a plain instance, read at every line (networkx's
    # Graph; on 3.13 its attributes are inline values, changed by no dict
    # change, and no __dict__ is made for them unless the program asks).
    g = Graph(8)
    total = 0
    for u in g.adj:
        total += len(g.adj[u])      # reads only
    g.adj[0][1] = 5                 # a watched dict inside
    g.name = "h"                    # an attribute rebound in place
    g.name = "h"                    # the same object again
    g.extra = [1]                   # a new attribute
    del g.extra                     # gone again
    g.adj = dict(g.adj)             # an equal dict, another object
    g.adj[1] = {}                   # ... watched from its rendering on
    g.__class__ = Digraph           # its class
    Digraph.__name__ = "Directed"   # its class's name
    Digraph.__name__ = "Digraph"
    vars(g)["via_dict"] = 1         # a __dict__ made, stored through
    g.name = "i"                    # ... and through the attribute
    holder = {"g": g, **PAD}
    g.name = "j"                    # an instance inside a watched dict
    object.__setattr__(g, "name", "k")
    h = Graph(6)
    box = {"h": h, **PAD}
    h.name = "x"                    # inline values inside a watched dict
    h.adj[2][3] = 0
    h.name = "y"
    h.adj = {}
    total += len(box)
    return holder, total


def main():
    print(graph())
    holder, total = instance_rooted()
    print(total, holder["g"].name, sorted(vars(holder["g"])))
    tree, holder = identities()
    print(type(holder["t"]).__name__, tree["left"]["node"].seen)
    d, seq = recycled()
    print(d["i"], seq["k"])
    d, box = methods()
    print(d["a"], d["b"], dict(box["dd"]))


main()
