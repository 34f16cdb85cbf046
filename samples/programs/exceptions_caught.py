"""Exceptions raised and caught: built-in, custom, chained, re-raised, in finally."""


class ShopError(Exception):
    pass


class OutOfStock(ShopError):
    def __init__(self, item, wanted):
        super().__init__(item, wanted)
        self.item = item
        self.wanted = wanted

    def __str__(self):
        return "only a few %s left, wanted %d" % (self.item, self.wanted)


class Quiet(Exception):
    def __str__(self):
        return "never shown by the recorder"


class Detail:
    def __init__(self, code):
        self.code = code


class Key(tuple):
    """A tuple subclass as a mapping key: C code raising KeyError with it makes it
    the exception's args itself."""


class LoudKey(tuple):
    calls = []

    def __repr__(self):
        LoudKey.calls.append("repr")  # program code a recorder must not run
        return "LoudKey!"


class OddKey(tuple):
    def __iter__(self):
        return iter(("X",))  # program code: neither recorder nor reference iterates through it

    def __len__(self):
        return 1


class Holder:
    def __init__(self):
        self.ref = None


def missing_keys():
    import collections
    seen = []
    holder = Holder()
    looped = Key((holder, 2))
    holder.ref = looped  # an arg that holds the args object itself
    for key in (Key((0, int)), Key((1, 2)), Key(("one",)), LoudKey((3, 4)), LoudKey((int, 5)),
                OddKey((6, 7)), OddKey((8,)), looped):
        try:
            collections.OrderedDict().move_to_end(key)
        except KeyError as exc:
            seen.append((type(exc.args).__name__, tuple.__len__(exc.args)))
    return seen, LoudKey.calls


def divide(a, b):
    return a / b


def lookup(table, key):
    return table[key]


def buy(stock, item, wanted):
    if stock.get(item, 0) < wanted:
        raise OutOfStock(item, wanted)
    stock[item] -= wanted
    return stock[item]


def convert(text):
    try:
        return int(text)
    except ValueError as exc:
        raise ShopError("cannot convert %r" % text) from exc


def cleanup_order(log):
    try:
        log.append("try")
        raise RuntimeError("inside try")
    except RuntimeError:
        log.append("except")
        raise
    finally:
        log.append("finally")


def many_kinds():
    results = []
    for trigger in range(9):
        try:
            if trigger == 0:
                divide(1, 0)
            elif trigger == 1:
                lookup({"a": 1}, "b")
            elif trigger == 2:
                raise Quiet("x", 2)
            elif trigger == 3:
                raise ValueError([1, 2, {"k": "v"}])
            elif trigger == 4:
                raise ValueError(Detail(42))
            elif trigger == 5:
                raise TypeError()
            elif trigger == 6:
                open("definitely-missing-file.txt")
            elif trigger == 7:
                raise ShopError("x" * 250)
            else:
                raise Quiet("y" * 250)
        except Exception as exc:
            results.append(type(exc).__name__)
    return results


def main():
    stock = {"apple": 3, "pear": 1}
    print(buy(stock, "apple", 2))
    try:
        buy(stock, "pear", 5)
    except OutOfStock as exc:
        print("caught:", exc)
    try:
        convert("12x")
    except ShopError as exc:
        print("chained:", exc, "cause:", type(exc.__cause__).__name__)
    log = []
    try:
        cleanup_order(log)
    except RuntimeError:
        pass
    print(log)
    print(many_kinds())
    print(missing_keys())
    try:
        try:
            divide(5, 0)
        except ZeroDivisionError:
            lookup([], 3)
    except IndexError as exc:
        print("context:", type(exc.__context__).__name__)
    else:
        print("not reached")
    finally:
        print("done")


main()
