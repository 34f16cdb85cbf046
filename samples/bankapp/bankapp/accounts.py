class InsufficientFunds(Exception):
    pass


class Account:
    def __init__(self, owner, balance=0):
        self.owner = owner
        self.balance = balance
        self.history = []

    def deposit(self, amount):
        if amount <= 0:
            raise ValueError(f"deposit must be positive, got {amount}")
        self.balance += amount
        self.history.append(("deposit", amount))

    def withdraw(self, amount):
        if amount > self.balance:
            raise InsufficientFunds(f"{self.owner} has {self.balance}, needs {amount}")
        self.balance -= amount
        self.history.append(("withdraw", amount))


class Bank:
    """Transfers between accounts, with a fee on large transfers."""

    FEE_THRESHOLD = 50
    FEE = 2

    def __init__(self):
        self.accounts = {}
        self.fees = 0

    def open(self, owner, balance=0):
        account = Account(owner, balance)
        self.accounts[owner] = account
        return account

    def fee_for(self, amount):
        return self.FEE if amount > self.FEE_THRESHOLD else 0

    def transfer(self, src, dst, amount):
        source = self.accounts[src]
        target = self.accounts[dst]
        fee = self.fee_for(amount)
        source.balance -= fee  # bug: the fee is taken before we know the transfer can happen
        self.fees += fee
        source.withdraw(amount)
        target.deposit(amount)

    def total(self):
        return sum(a.balance for a in self.accounts.values()) + self.fees
