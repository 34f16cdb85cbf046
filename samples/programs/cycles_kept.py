"""Renderings that met a cycle, kept and reused. A schema's fields each point back at
it (`parent=`), as marshmallow's do: each field's rendering inside its schema closes
the cycle at the schema, and is reused while the same containers are around it (the
schema's rendering at the next event, another frame's local bound to the schema), but
not where others are: the field as a local of its own, from a sibling, from a list or
a dict holding the schema, or after it moved to another schema. Two boxes that point
at each other are shown from either side, from lists and a dict. Every one of these
values changes in place between events, one field among many at a time, and the
schema's class is renamed (the cycle's text is its class's name)."""


class Field:
    def __init__(self, parent, name):
        self.parent = parent
        self.name = name
        self.count = 0
        self.errors = {"required": "missing", "null": "none"}

    def bump(self, by):
        self.count += by
        return self.count


class Schema:
    def __init__(self, name, n):
        self.name = name
        self.fields = {}
        for i in range(n):
            self.fields["f%d" % i] = Field(self, "f%d" % i)
        self.root = self

    def each(self):
        return list(self.fields.values())


class Box:
    def __init__(self, label):
        self.label = label
        self.other = None
        self.seen = 0


def serialize(schema, rounds):
    total = 0
    held = [schema]
    by_name = {"s": schema, "first": schema.fields["f0"]}
    for r in range(rounds):
        for name, field in schema.fields.items():
            total += field.bump(r)
        if r == 1:
            schema.fields["f1"].errors["extra"] = "x"
        if r == 2:
            moved = schema.fields["f0"]
            moved.parent = Schema("other", 1)
            moved.parent.fields["f0"].parent = schema
        if r == 3:
            del schema.fields["f2"]
            schema.root = held
        if r == 4:
            Schema.__name__ = "Model"   # each field's `parent=Schema(...)` now `Model(...)`
    return total + len(by_name)


def look(schema):
    fields = schema.each()
    first = fields[0]
    pair = [first, schema]
    first.bump(1)
    pair.reverse()
    return len(pair)


def boxes():
    a = Box("a")
    b = Box("b")
    a.other = b
    b.other = a
    first = [a]
    second = [b]
    both = [a, b]
    holder = {"a": a, "b": b, "both": both}
    a.seen += 1
    b.seen += 1
    b.other = Box("c")
    b.other.other = b
    a.label = "A"
    return len(first) + len(second) + len(holder)


def main():
    schema = Schema("user", 4)
    print(serialize(schema, 5), look(schema), look(schema), boxes())


main()
