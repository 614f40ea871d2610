import pytest

from ledger.core import Ledger, UnbalancedEntry


def test_post_and_balance():
    book = Ledger()
    book.post([("cash", 100), ("revenue", -100)])
    assert book.balance("cash") == 100 and book.audit()


def test_unbalanced_is_refused():
    with pytest.raises(UnbalancedEntry):
        Ledger().post([("cash", 1)])


def test_reconcile():
    book = Ledger()
    book.post([("cash", 5), ("fees", -5)])
    assert book.reconcile({"cash": 5, "fees": 0}) == ["fees"]


def test_export_csv():
    book = Ledger()
    book.post([("a", 1), ("b", -1)])
    assert book.export("csv") == "a,1\nb,-1"
