"""Slotted instances whose renderings the recorder keeps and reuses (as it does an
instance with a __dict__): a method's `self` shown at each call, instances in a list of
many with one changed, one instance shown at several depths at once, moved past the
depth limit and back, in a cycle, and new instances at a freed one's address."""


class Bound:
    __slots__ = ("version", "inclusive")

    def __init__(self, version, inclusive):
        self.version = version
        self.inclusive = inclusive


class Range:
    __slots__ = ("lower", "upper", "tags", "note")

    def __init__(self, lower, upper):
        self.lower = lower
        self.upper = upper
        self.tags = []

    def contains(self, v):
        low = self.lower.version
        high = self.upper.version
        inside = low <= v < high
        return inside

    def widen(self, by):
        self.upper.version += by   # a slot of a slotted instance it holds
        self.tags.append(by)       # a list it holds, changed in place
        return self


class Link:
    __slots__ = ("value", "next")

    def __init__(self, value, next=None):
        self.value = value
        self.next = next


def shown_everywhere(r, many):
    pair = [r, [[[r]]]]            # the same instance at depth 1 and past the limit
    deeper = [[[[[many[0]]]]]]
    pair[1][0][0].append(many[0])
    return pair, deeper


def main():
    r = Range(Bound(1, True), Bound(5, False))
    hits = 0
    for v in range(8):
        if r.contains(v):          # `self` shown at each call, unchanged
            hits += 1
        if v % 3 == 0:
            r.widen(1)             # changed between calls
    r.note = "set late"            # an unset slot set
    r.lower = Bound(0, True)       # a slot rebound
    many = [Range(Bound(i, True), Bound(i + 1, False)) for i in range(12)]
    many[7].upper.inclusive = True  # one of many changed, two levels down
    many[3].tags.append("x")
    many.append(many[0])           # one instance twice in a list
    pair, deeper = shown_everywhere(r, many)
    deeper[0][0][0][0].pop()       # out of the depth limit
    deeper[0][0][0][0].append(r)
    back = deeper[0][0][0][0][0]
    ring = Link(1)
    ring.next = Link(2, ring)      # a cycle through two slotted instances
    ring.next.value = 3
    chain = [ring, ring.next]
    chain.reverse()
    for i in range(4):
        q = None; q = Bound(i, i % 2 == 0)  # noqa: E702 (often at the freed one's address)
        holder = [q, q]
    del many[5:9]
    return hits, r, many, pair, deeper, back, chain, holder


main()
