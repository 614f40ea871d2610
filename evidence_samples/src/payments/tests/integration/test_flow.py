from payments.core import Authorizer


def test_batch_flow():
    auth = Authorizer()
    assert auth.tick([(i, "EUR") for i in range(1, 200)]) == 199


def test_rejections_are_explained():
    assert Authorizer().decide(-1, "EUR").reason == "amount must be positive"
