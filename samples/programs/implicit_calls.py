"""User code called implicitly by the interpreter and by C code: dunder methods, descriptors,
properties, __init_subclass__, metaclasses, sort keys, and code run through exec()."""
import functools


class Registry(type):
    created = []

    def __call__(cls, *args, **kwargs):
        instance = super().__call__(*args, **kwargs)
        Registry.created.append(cls.__name__)
        return instance


class Positive:
    def __set_name__(self, owner, name):
        self.name = "_" + name

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        return getattr(obj, self.name)

    def __set__(self, obj, value):
        if value <= 0:
            raise ValueError("%s must be positive" % self.name[1:])
        setattr(obj, self.name, value)


class Base(metaclass=Registry):
    subclasses = []

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        Base.subclasses.append(cls.__name__)


@functools.total_ordering
class Money(Base):
    amount = Positive()

    def __init__(self, amount, currency="EUR"):
        self.amount = amount
        self.currency = currency

    def __eq__(self, other):
        return (self.amount, self.currency) == (other.amount, other.currency)

    def __lt__(self, other):
        return self.amount < other.amount

    def __hash__(self):
        return hash((self.amount, self.currency))

    def __add__(self, other):
        return Money(self.amount + other.amount, self.currency)

    def __len__(self):
        return int(self.amount)

    def __bool__(self):
        return self.amount > 1

    def __iter__(self):
        yield self.amount
        yield self.currency

    def __getitem__(self, index):
        return list(self)[index]

    def __contains__(self, item):
        return item == self.currency


class Lazy(Base):
    def __init__(self):
        self.loaded = {}

    def __getattr__(self, name):
        value = len(name)
        self.loaded[name] = value
        return value


def callback(x):
    return x * 3


def main():
    wallet = [Money(5), Money(2), Money(9), Money(2)]
    ordered = sorted(wallet)
    print([m.amount for m in ordered], max(wallet).amount, Money(2) in wallet)
    print(len(set(wallet)), sum(wallet[1:], wallet[0]).amount, bool(Money(1)))
    amount, currency = Money(4)
    print(amount, currency, Money(7)[1], "EUR" in Money(3), len(Money(6)))
    try:
        Money(-1)
    except ValueError as exc:
        print("rejected:", exc)
    lazy = Lazy()
    print(lazy.alpha, lazy.be, sorted(lazy.loaded.items()))
    namespace = {"callback": callback, "out": []}
    exec("for k in range(3):\n    out.append(callback(k))", namespace)
    print(namespace["out"], eval("callback(5)", {"callback": callback}))
    print(Base.subclasses, Registry.created[:3], len(Registry.created))


main()
