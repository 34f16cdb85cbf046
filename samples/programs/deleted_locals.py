"""Locals that are deleted, re-bound, and removed by an except clause."""


def shrink():
    a = 1
    b = [1, 2, 3]
    c = {"k": "v"}
    del a
    b.remove(2)
    del b[0]
    del c["k"]
    a = "again"
    del b
    return a, c


def loop_deletes():
    kept = []
    for i in range(4):
        temp = i * 10
        if i % 2:
            del temp
        else:
            kept.append(temp)
    return kept


def except_clears():
    try:
        raise KeyError("gone")
    except KeyError as err:
        message = str(err)
    # err is deleted by the except clause here
    return message


def late_cell():
    def read():
        return value

    before = "value is an empty cell here"
    value = 1
    first = read()
    del value
    try:
        read()
    except NameError:
        missing = True
    value = 2
    return first, missing, read(), before


class Bag:
    def __init__(self):
        self.a = 1
        self.b = 2
        self.c = 3

    def drop(self):
        del self.b
        self.d = 4
        del self.a


def main():
    print(shrink())
    print(loop_deletes())
    print(except_clears())
    print(late_cell())
    bag = Bag()
    bag.drop()
    print(sorted(vars(bag)))
    x = 5
    del x
    x = 6
    print(x)


scratch = [1, 2]
del scratch
main()
