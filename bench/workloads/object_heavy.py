"""object-heavy: attribute and dict updates on a few class instances, through
methods, as business code does. Exercises the recorder's tracking of in-place
mutations (attributes, dict items) on captured objects.

usage: python object_heavy.py [ROUNDS]   (see bench/README.md)
"""

from _timing import run



class Account:
    def __init__(self, owner, balance):
        self.owner = owner
        self.balance = balance
        self.moves = 0
        self.last = None
        self.tags = {"kind": "checking", "limit": 50}

    def withdraw(self, amount):
        if amount > self.balance + self.tags["limit"]:
            return False
        self.balance -= amount
        self.moves += 1
        return True

    def deposit(self, amount, when):
        self.balance += amount
        self.moves += 1
        self.last = when


class Ledger:
    def __init__(self):
        self.totals = {}
        self.refused = 0
        self.count = 0

    def transfer(self, src, dst, amount, when):
        if not src.withdraw(amount):
            self.refused += 1
            return
        dst.deposit(amount, when)
        self.totals[src.owner] = self.totals.get(src.owner, 0) + amount
        self.count += 1


def main(rounds):
    accounts = [Account("acct%d" % i, 100 + 10 * i) for i in range(8)]
    ledger = Ledger()
    for r in range(rounds):
        src = accounts[r % 8]
        dst = accounts[(r * 5 + 3) % 8]
        ledger.transfer(src, dst, (r * 7) % 40, r)
        if r % 1000 == 0:
            src.tags["audit"] = r
    return (sum(a.balance for a in accounts), sum(a.moves for a in accounts), ledger.refused,
            sorted(ledger.totals.items())[0])


if __name__ == "__main__":
    run(main, 100_000)
