import pytest

from payments.core import Authorizer, KillSwitchEngaged


@pytest.mark.parametrize(("amount", "currency", "approved"), [
    (100, "EUR", True), (10_000, "EUR", True), (10_001, "EUR", False), (0, "USD", False), (5, "XXX", False),
])
def test_decide(amount, currency, approved):
    assert Authorizer().decide(amount, currency).approved is approved


def test_kill_switch_fails_closed():
    auth = Authorizer()
    auth.kill()
    with pytest.raises(KillSwitchEngaged):
        auth.decide(1, "EUR")


def test_tick_counts_approvals():
    assert Authorizer().tick([(1, "EUR"), (99_999, "EUR"), (3, "GBP")]) == 2


def test_strict_by_default():
    assert Authorizer().strict is True
