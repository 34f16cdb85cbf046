import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bankapp import Bank  # noqa: E402


@pytest.fixture
def bank():
    b = Bank()
    b.open("ann", 100)
    b.open("bob", 100)
    return b
