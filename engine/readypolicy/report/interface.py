"""The report-format extension point.

A format renders a list of decision records (one per module and lane) for a reader: a person at
a terminal, a CI system (JUnit, SARIF), a pull request (Markdown) or another program (JSON).
Formats never decide anything; they only render records.
"""

from __future__ import annotations

import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from typing import ClassVar

from readypolicy.decision.record import status_summary
from readypolicy.errors import ReadyPolicyError
from readypolicy.identifiers import UNSAFE_CATEGORIES
from readypolicy.records import CheckResult, DecisionRecord


class ReportError(ReadyPolicyError):
    """A report cannot be rendered or written."""


STATUS_ORDER = {"fail": 0, "missing": 1, "warn": 2, "waived": 3, "pass": 4}
"""Display order: what blocks promotion first, then what passes only by exception (advisory, waived)."""


def status_counts(record: DecisionRecord) -> dict[str, int]:
    """Checks per status (pass, fail, missing, waived, warn), waived and advisory counted apart from pass."""
    return status_summary(record["checks"])


def printable(text: str) -> str:
    """`text` as a report may show it: whitespace as a space, each control or invisible character as its escape.

    Check messages quote evidence (file names, licences, titles), which may hold terminal escape
    sequences or characters XML cannot carry: `pkg/app\\x1b[3A\\x1b[2K.py` in a bandit finding moved the
    cursor up and erased the verdict line of the table in a terminal, and made the JUnit report
    unreadable (a CI test view then shows no failure at all). Escaped, the name stays readable and
    inert. Identifiers never hold such characters (`readypolicy.identifiers`); messages may.
    """
    if text.isprintable():
        return text
    return "".join(
        " " if char.isspace()
        else char.encode("unicode_escape").decode("ascii") if unicodedata.category(char) in UNSAFE_CATEGORIES
        else char
        for char in text
    )


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
