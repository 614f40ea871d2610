from ledger.core import Ledger


def test_starts_empty():
    assert Ledger().audit()
