"""Objects shown by several frames at once, as business code holds them.

A list of accounts lives in the outer frame while the callees change the
accounts, the dicts they hold and the list itself; locals are bound in turn
to objects another frame has shown (the recorder then reuses the text it
kept for them), and instances hold other instances. Each change must show
in the next event's locals, in every frame that shows the object, exactly
as the reference renders them.
"""


class Account:
    def __init__(self, owner, balance):
        self.owner = owner
        self.balance = balance
        self.tags = {"kind": "checking", "limit": 50}


class Holder:
    def __init__(self, inner):
        self.inner = inner
        self.count = 0


class Checking(Account):
    pass


def withdraw(acct, amount):
    acct.balance -= amount
    return acct.balance


def retag(acct, key, value):
    acct.tags[key] = value


def show(obj):
    seen = obj
    return seen


def accounts_in_a_list():
    accounts = [Account("acct%d" % i, 100 + i) for i in range(5)]
    frozen = tuple(accounts[:3])
    for r in range(12):
        src = accounts[r % 5]
        withdraw(src, r)
        if r % 4 == 0:
            retag(src, "audit", r)
    accounts[1].tags["limit"] = accounts[1].tags["limit"]  # the same object again
    accounts[2].tags = dict(accounts[2].tags)              # an equal dict
    accounts[2].tags = {"kind": "savings"}
    accounts[3] = Account(accounts[3].owner, accounts[3].balance)  # an equal account
    accounts[4] = Account("other", 0)
    accounts[0], accounts[1] = accounts[1], accounts[0]
    accounts.append(Account("new", 1))
    accounts.pop(0)
    accounts[0].__class__ = Checking
    withdraw(frozen[0], 1)
    return len(accounts), len(frozen)


def locals_bound_in_turn():
    a = Account("a", 1)
    b = Account("b", 2)
    cur = a
    show(b)            # b's text kept from the callee's frame
    cur = b
    withdraw(b, 1)     # changed since
    cur = a
    cur = b
    show(a)
    retag(a, "x", 1)
    cur = a
    d = {"k": [1, 2]}
    show(d)
    cur = d
    d["k"].append(3)
    cur = b
    cur = d
    return cur


def instances_holding_instances():
    inner = Account("inner", 5)
    outer = Holder(inner)
    pair = [outer, Holder(Holder(inner))]
    for i in range(3):
        withdraw(inner, 1)
        outer.count += 1
        retag(inner, "i", i)
    outer.inner = Account("inner", 2)
    pair[1].inner.inner = outer.inner
    outer.inner.tags = {}
    return outer.count


def main():
    print(accounts_in_a_list())
    print(locals_bound_in_turn())
    print(instances_holding_instances())


main()
