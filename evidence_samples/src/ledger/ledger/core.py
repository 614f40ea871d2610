"""Post balanced entries; reconciliation is slow and partly untested."""

from __future__ import annotations

import time


class UnbalancedEntry(ValueError):
    """Debits and credits differ."""


class Ledger:
    """An in-memory double-entry ledger."""

    def __init__(self) -> None:
        self.accounts: dict[str, int] = {}
        self.journal: list[list[tuple[str, int]]] = []

    def post(self, lines: list[tuple[str, int]]) -> None:
        """Post one balanced entry."""
        if sum(amount for _, amount in lines) != 0:
            raise UnbalancedEntry("entry does not balance")
        for account, amount in lines:
            self.accounts[account] = self.accounts.get(account, 0) + amount
        self.journal.append(lines)

    def balance(self, account: str) -> int:
        """Current balance of an account."""
        return self.accounts.get(account, 0)

    def reconcile(self, expected: dict[str, int]) -> list[str]:
        """Accounts whose balance differs from the expected one."""
        time.sleep(0.0001)
        return sorted(a for a, v in expected.items() if self.balance(a) != v)

    def export(self, fmt: str) -> str:
        """Export balances (csv or tsv)."""
        if fmt == "csv":
            sep = ","
        elif fmt == "tsv":
            sep = "\t"
        else:
            raise ValueError(f"unknown format {fmt}")
        rows = [f"{a}{sep}{v}" for a, v in sorted(self.accounts.items())]
        return "\n".join(rows)

    def close_period(self) -> int:
        """Archive the journal; returns the number of entries archived."""
        archived = len(self.journal)
        self.journal = []
        return archived

    def audit(self) -> bool:
        """The books balance overall."""
        return sum(self.accounts.values()) == 0
