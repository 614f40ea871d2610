"""Authorize payments against limits, with a kill switch that fails closed."""

from __future__ import annotations

from dataclasses import dataclass

LIMITS = {"EUR": 10_000, "USD": 12_000, "GBP": 9_000}


class KillSwitchEngaged(RuntimeError):
    """Raised when the safety control has stopped all authorizations."""


@dataclass(frozen=True)
class Decision:
    """An authorization outcome."""

    approved: bool
    reason: str


class Authorizer:
    """Decides payments; the kill switch is on (strict) by default."""

    def __init__(self, strict: bool = True) -> None:
        self.strict = strict
        self.killed = False

    def kill(self) -> None:
        """Engage the kill switch."""
        self.killed = True

    def decide(self, amount: int, currency: str) -> Decision:
        """Approve a payment within the currency's limit."""
        if self.killed:
            raise KillSwitchEngaged("authorizations stopped")
        if currency not in LIMITS:
            return Decision(False, f"unsupported currency {currency}")
        if amount <= 0:
            return Decision(False, "amount must be positive")
        if amount > LIMITS[currency]:
            return Decision(False, "over limit")
        return Decision(True, "ok")

    def tick(self, batch: list[tuple[int, str]]) -> int:
        """Decide a batch; returns the number approved."""
        return sum(1 for amount, currency in batch if self.decide(amount, currency).approved)
