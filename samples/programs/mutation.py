"""In-place mutation of lists, dicts, sets and instance attributes, seen through aliases."""


class Account:
    def __init__(self, owner, balance):
        self.owner = owner
        self.balance = balance
        self.history = []

    def deposit(self, amount):
        self.balance += amount
        self.history.append(("deposit", amount))

    def withdraw(self, amount):
        if amount > self.balance:
            self.history.append(("refused", amount))
            return False
        self.balance -= amount
        self.history.append(("withdraw", amount))
        return True


def fill(target, count):
    for k in range(count):
        target.append(k * k)


def main():
    items = [5, 3, 8]
    alias = items
    items.append(1)
    items.extend([9, 2])
    items.sort()
    items.reverse()
    items[1:3] = ["x", "y", "z"]
    items.pop()
    del items[0]
    items.insert(0, "first")
    fill(alias, 3)
    print(items, alias is items)

    table = {"a": 1}
    table["b"] = 2
    table.update(c=3, d=4)
    table.setdefault("e", []).append("nested")
    table["e"].append("more")
    table.pop("a")
    del table["b"]
    print(table, table.popitem())

    seen = set()
    for word in "the cat and the hat and the bat".split():
        seen.add(word)
    seen.discard("and")
    seen |= {"dog"}
    seen -= {"cat"}
    print(sorted(seen))

    acct = Account("ann", 100)
    acct.deposit(50)
    acct.withdraw(500)
    acct.withdraw(30)
    acct.nickname = "annie"
    acct.balance *= 2
    del acct.nickname
    acct.history[0] = ("opening", 0)
    print(acct.owner, acct.balance, acct.history)

    accounts = [Account("bob", 1), Account("cy", 2)]
    accounts[0].balance += 10
    accounts[1].history.append(("gift", 5))
    café = {"crème": "brûlée"}
    café["œuf"] = "√2 ≈ 1.414"
    print(accounts[0].balance, len(accounts[1].history), café)

    nested = {"list": [1, 2], "set": {3}, "dict": {"k": [4]}}
    nested["list"].append(3)
    nested["set"].add(5)
    nested["dict"]["k"].append(6)
    nested["dict"]["new"] = (7, 8)
    print(nested)

    # Items replaced in place, past the first, the length unchanged; the
    # last one past the items a rendering shows, so its text stays the same.
    grid = [0] * 40
    grid[5] = 1
    grid[29] = 2
    grid[35] = 3
    flags = [True, False, True]
    flags[2] = False
    print(grid[:6], flags)


main()
