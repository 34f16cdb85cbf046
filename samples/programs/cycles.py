"""Objects that reach themselves: children with a parent pointer, a doubly linked
list, an engine whose processors point back at it (as markdown's do), a list and a
dict holding themselves. Each is shown from several frames and roots at once (a
method's self, its caller's locals), so that a cycle closes at a different object
depending on where the rendering starts, and changed in place between events."""


class Node:
    def __init__(self, name, parent=None):
        self.name = name
        self.parent = parent
        self.children = []
        if parent is not None:
            parent.children.append(self)

    def rename(self, name):
        old = self.name
        self.name = name
        return old

    def adopt(self, child):
        child.parent.children.remove(child)
        child.parent = self
        self.children.append(child)
        return len(self.children)


class Link:
    def __init__(self, value):
        self.value = value
        self.prev = self.next = None


def chain(n):
    head = Link(0)
    tail = head
    for i in range(1, n):
        link = Link(i)
        link.prev = tail
        tail.next = link
        tail = link
    return head, tail


class Processor:
    def __init__(self, engine, name):
        self.engine = engine
        self.name = name
        self.calls = 0

    def run(self, text):
        self.calls += 1
        self.engine.log.append(self.name)
        return text.upper() if self.calls % 2 else text


class Engine:
    def __init__(self):
        self.log = []
        self.processors = {}
        for name in ("strip", "link", "emph"):
            self.processors[name] = Processor(self, name)

    def convert(self, text):
        for name, processor in self.processors.items():
            text = processor.run(text)
        return text


def trees():
    root = Node("root")
    left = Node("left", root)
    right = Node("right", root)
    leaf = Node("leaf", left)
    left.rename("L")
    right.adopt(leaf)
    root.children.reverse()
    return root, leaf


def links():
    head, tail = chain(4)
    middle = head.next
    middle.value = 10
    middle.next.prev = head
    head.next = middle.next
    tail.next = head        # a ring
    head.prev = tail
    return head.value + tail.value


def engines():
    engine = Engine()
    first = engine.convert("a")
    second = engine.convert("b")
    engine.processors["emph"].name = "strong"
    del engine.processors["link"]
    third = engine.convert("c")
    return first, second, third, len(engine.log)


def selves():
    loop = [1]
    loop.append(loop)
    loop[0] = 2
    table = {"k": 1}
    table["me"] = [table]
    table["k"] = 2
    pair = [loop, table]
    loop.append(table)
    return len(pair)


def main():
    print(trees()[1].name, links(), engines(), selves())


main()
