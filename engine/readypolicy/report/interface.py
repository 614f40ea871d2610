"""The report-format extension point.

A format renders a list of decision records (one per module and lane) for a reader: a person at
a terminal, a CI system (JUnit, SARIF), a pull request (Markdown) or another program (JSON).
Formats never decide anything; they only render records.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from typing import ClassVar

from readypolicy.decision.record import status_summary
from readypolicy.errors import ReadyPolicyError
from readypolicy.records import CheckResult, DecisionRecord


class ReportError(ReadyPolicyError):
    """A report cannot be rendered or written."""


STATUS_ORDER = {"fail": 0, "missing": 1, "warn": 2, "waived": 3, "pass": 4}
"""Display order: what blocks promotion first, then what passes only by exception (advisory, waived)."""


def status_counts(record: DecisionRecord) -> dict[str, int]:
    """Checks per status (pass, fail, missing, waived, warn), waived and advisory counted apart from pass."""
    return status_summary(record["checks"])


def ordered_checks(record: DecisionRecord) -> list[CheckResult]:
    """A record's checks, failing first, then by id."""
    return sorted(record["checks"], key=lambda c: (STATUS_ORDER.get(c["status"], 9), c["id"]))


class ReportFormat(ABC):
    """Renders decision records."""

    name: ClassVar[str]
    """Format name used by `--format`."""

    @abstractmethod
    def render(self, records: Sequence[DecisionRecord]) -> str:
        """The full report text."""

    def stream(self, records: Iterable[DecisionRecord]) -> Iterator[str]:
        """The report in pieces as records arrive; formats that need every record first buffer them.

        Fleet evaluation streams, so a format that can render record by record keeps memory flat.
        """
        yield self.render(list(records))
