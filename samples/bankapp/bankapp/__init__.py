"""A tiny bank: accounts and transfers (with a bug for tracetape's demo)."""

from bankapp.accounts import Account, Bank, InsufficientFunds

__all__ = ["Account", "Bank", "InsufficientFunds"]
