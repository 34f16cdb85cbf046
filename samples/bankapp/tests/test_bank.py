import pytest

from bankapp import InsufficientFunds


def test_small_transfer_has_no_fee(bank):
    bank.transfer("ann", "bob", 30)
    assert bank.accounts["ann"].balance == 70
    assert bank.accounts["bob"].balance == 130


def test_large_transfer_pays_fee(bank):
    bank.transfer("ann", "bob", 60)
    assert bank.accounts["ann"].balance == 38
    assert bank.fees == 2


@pytest.mark.parametrize("amount", [1, 10, 50])
def test_money_is_conserved(bank, amount):
    bank.transfer("bob", "ann", amount)
    assert bank.total() == 200


def test_refused_transfer_changes_nothing(bank):
    before = bank.accounts["ann"].balance
    with pytest.raises(InsufficientFunds):
        bank.transfer("ann", "bob", 150)
    after = bank.accounts["ann"].balance
    assert after == before, "a refused transfer must not touch the balance"


def test_deposit_must_be_positive(bank):
    with pytest.raises(ValueError):
        bank.accounts["ann"].deposit(0)
