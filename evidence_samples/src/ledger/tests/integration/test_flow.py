from ledger.core import Ledger


def test_period_close():
    book = Ledger()
    for i in range(10):
        book.post([("cash", i), ("revenue", -i)])
    assert book.close_period() == 10 and book.audit()
