"""Containers that grow and shrink past what their text shows: a list, dict, set or deque of
more than `max_items` items shows its first ones and `...`, and one cut by the length
budget shows even fewer; appending to it leaves the text as it was, removing or replacing a
shown item does not, and neither does shrinking it to what it shows. Held directly, in an
instance (whose rendering is shared and checked by its guards), in an instance in a list,
and next to an empty deque that never holds an item (a work queue idle in an object). And an
instance's secret-named attribute, `<redacted>` whatever it is bound to, bound anew. Every
text must be what rendering anew gives."""

from collections import deque


class Registry:
    def __init__(self, size):
        self.names = {"k%d" % i: i for i in range(size)}
        self.pending = deque()
        self.log = ["start"]


class Checker:
    def __init__(self):
        self.deferred = deque()
        self.messages = []
        self.scope = {"name_%03d" % i: "binding %d " % i * 3 for i in range(40)}


def grow_list(n):
    out = list(range(28))
    for i in range(n):
        out.append(i)  # 29, 30 items: shown whole; 31 on: `...`, unchanged
    out[2] = "shown"  # a shown item replaced
    out[29] = "past"  # an item past the shown ones replaced
    while len(out) > 29:
        out.pop()  # back to 30, then 29 items: `...` goes
    return out


def grow_dict_set_deque(n):
    d = {}
    s = set()
    q = deque(maxlen=50)
    for i in range(n):
        d[i] = i * i
        s.add(i % 37)
        q.append(i)  # past 50: the first ones drop, a change
    del d[0]  # a shown key removed
    d[0] = 0  # and added back, last: past what is shown
    return len(d), len(s), len(q)


def registry_in_an_instance(n):
    reg = Registry(35)
    holders = [reg, Registry(3)]
    for i in range(n):
        reg.names["extra%d" % i] = i  # past the 30 keys shown: the same text
        if i % 4 == 0:
            reg.names["k1"] = i  # a shown value: a new text
        if i % 5 == 0:
            reg.log.append(i)
        if i == n - 2:
            reg.pending.append("job")  # the idle deque holds an item...
        if i == n - 1:
            reg.pending.popleft()  # ...and is empty again
    del reg.names["k0"]  # the first key removed: every shown key moves
    return len(holders[0].names)


def budget_cut(n):
    checker = Checker()
    for i in range(n):
        checker.scope["late_%d" % i] = i  # past the length budget: the same text
        if i % 6 == 0:
            checker.messages.append("m%d" % i)  # before the cut: a new text
    checker.scope["name_000"] = "rebound"
    checker.deferred.append(len(checker.scope))
    return checker


def main():
    print(grow_list(6))
    print(grow_dict_set_deque(70))
    print(registry_in_an_instance(12))
    print(len(budget_cut(20).scope))
    print(redacted_rebound())


class Parser:
    """A secret-looking attribute (`_tokens`) is shown `<redacted>`, whatever it is bound to."""

    def __init__(self, text):
        self._tokens = iter(text.split())
        self.index = 0
        self.seen = {"a": 1}

    def parse(self):
        out = []
        for tok in self._tokens:
            out.append(tok)
            if tok == "(":
                self._tokens = iter(["x", ")"])  # bound anew: the same text
            self.index += 1  # shown: a new text
            self._token_count = self.index  # secret too, added: a new name shown
        return out


def redacted_rebound():
    parsers = [Parser("a ( b"), Parser("c")]
    for p in parsers:
        p.parse()
        p._tokens = None
    return [p.index for p in parsers]



main()
