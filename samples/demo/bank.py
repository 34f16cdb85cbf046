"""A tiny bank with a bug: a refused transfer still charges its fee."""

import sys


class InsufficientFunds(Exception):
    pass


class Account:
    def __init__(self, owner, balance=0):
        self.owner = owner
        self.balance = balance
        self.history = []

    def deposit(self, amount):
        self.balance += amount
        self.history.append(("deposit", amount))

    def withdraw(self, amount, fee=0):
        total = amount + fee
        if total > self.balance:
            raise InsufficientFunds(f"{self.owner} has {self.balance}, needs {total}")
        self.balance -= total
        self.history.append(("withdraw", total))


def transfer(src, dst, amount):
    fee = 2 if amount > 50 else 0
    try:
        src.withdraw(amount, fee)
    except InsufficientFunds:
        src.balance -= fee  # bug: charges the fee although nothing moved
        raise
    dst.deposit(amount)


def main():
    accounts = {name: Account(name, 100) for name in ("ann", "bob")}
    transfer(accounts["ann"], accounts["bob"], 30)
    transfer(accounts["bob"], accounts["ann"], 80)
    before = accounts["ann"].balance
    try:
        transfer(accounts["ann"], accounts["bob"], 160)
    except InsufficientFunds as e:
        print("refused:", e)
    after = accounts["ann"].balance
    print("ann before", before, "after", after)
    if after != before:
        print("a refused transfer changed a balance!", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
