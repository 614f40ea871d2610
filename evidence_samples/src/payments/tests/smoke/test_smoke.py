from payments.core import Authorizer


def test_service_starts_and_answers():
    assert Authorizer().decide(10, "EUR").reason == "ok"
