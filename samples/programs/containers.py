"""Nested containers, empty and one-item containers, odd keys, and reference cycles."""


class Node:
    def __init__(self, name):
        self.name = name
        self.children = []
        self.parent = None

    def add(self, child):
        child.parent = self
        self.children.append(child)
        return child


def build_shapes():
    empty = ([], (), {}, set(), frozenset(), "", b"")
    singles = ([1], (1,), {1: 1}, {1}, frozenset({1}))
    frozen = frozenset({frozenset({1, 2}), frozenset()})
    keys = {None: "none", 1: "int", 2.5: "float", (1, 2): "tuple", b"k": "bytes",
            False: "bool", "s": "str"}
    deep = [1, [2, [3, [4, [5, [6, [7]]]]]]]
    deep_dict = {"a": {"b": {"c": {"d": {"e": {"f": "g"}}}}}}
    mixed = {"t": (1, [2, {3: (4, {5})}]), "f": 1.5, "c": 2 - 3j, "n": None}
    # Past the depth limit every container is its brackets around "...", an
    # empty set or a frozenset too: {...}.
    deep_sets = [[[[[set(), frozenset(), frozenset({1}), {2}, [], (), {}]]]]]
    shallow_sets = deep_sets[0][0][0][0]
    return empty, singles, frozen, keys, deep, deep_dict, mixed, deep_sets, shallow_sets


def build_cycles():
    loop = [1, 2]
    loop.append(loop)
    ring = {"name": "ring"}
    ring["self"] = ring
    a = [1]
    b = [a]
    a.append(b)
    holder = ([],)
    holder[0].append(holder)
    root = Node("root")
    leaf = root.add(Node("leaf"))
    leaf.add(Node("bud"))
    root.children.append(root)
    return loop, ring, a, b, holder, root


def build_strings():
    # ASCII text whose first character to escape comes after a plain run.
    path = "C:\\temp\\new"
    rubout = "abc\x7fdef"
    bell = "ring\x07"
    lines = "one\ntwo\r\nthree\tfour"
    single = "it's"
    double = 'say "hi"'
    both = "it's \"both\""
    texts = [path, rubout, bell, lines, single, double, both, b"raw\\bytes\x7f"]
    return texts


def main():
    shapes = build_shapes()
    cycles = build_cycles()
    texts = build_strings()
    print(len(shapes), len(cycles), len(texts))
    print(shapes[4], shapes[5])
    print(cycles[0], cycles[1], cycles[2])


main()
