"""A value past the length budget and the depth limit, met again and again: as a local (in
every frame of a method), as a return value, and as an exception's argument, where its text
comes after the exception's name, each time unchanged or changed a little. The recorder
reuses what it rendered when nothing changed; every text must be what rendering anew gives."""


class Node:
    def __init__(self, name, children=()):
        self.name = name
        self.note = name * 40
        self.children = list(children)

    def visit(self, depth):
        if depth == 0:
            return self
        for child in self.children:
            child.visit(depth - 1)
        return self

    def fail(self, why):
        raise LookupError(why, self)


def tree():
    leaves = [Node(chr(97 + i)) for i in range(5)]
    return Node("root", [Node("left", leaves[:2]), Node("right", [Node("deep", [Node("deeper", leaves[2:])])])])


def main():
    root = tree()
    for round_ in range(3):
        again = root.visit(2)
        try:
            root.fail("round %d" % round_)
        except LookupError as error:
            caught = error.args[0]
        try:
            root.children[1].fail("inner")
        except LookupError:
            pass
        root.children[0].children.append(Node("new%d" % round_))
        root.children[1].children[0].note = "changed deep down %d" % round_
    return again is root and caught


print(main())
