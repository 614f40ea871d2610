"""What a drift check reports: flat, comparable differences between the approved and the actual.

Every drift source (sources, bundle files, a running OPA server, recorded decisions, golden cases)
reports the same `Difference` shape, so one renderer and one exit-code rule serve them all, and a
CI job can diff two JSON reports without knowing which check produced a line.
"""

from __future__ import annotations

from dataclasses import dataclass

from readypolicy.errors import ReadyPolicyError


class DriftError(ReadyPolicyError):
    """A drift check cannot run: no lock, an unreachable server, unreadable golden cases, a bad revision."""


@dataclass(frozen=True)
class Difference:
    """One way the actual state departs from the approved one."""

    source: str
    """Which comparison found it: `source`, `bundle`, `server`, `decisions`, `golden`, or `diff` (policy diff)."""
    lanes: tuple[str, ...]
    """Lanes whose approved policy this concerns (several lanes may share one bundle)."""
    kind: str
    """What differs, e.g. `file-changed`, `rule-added`, `data-changed`, `sha256`, `digest`, `revision`, `outcome`."""
    subject: str
    """The thing that differs: a bundle path, a rule (`package.rule`), `module@revision`, a golden case name."""
    expected: str | None = None
    """The approved value (None when the thing should not exist)."""
    actual: str | None = None
    """The value found (None when the thing is missing)."""
    detail: str = ""
    """Where it was found or why it matters, for a human."""


@dataclass(frozen=True)
class DriftReport:
    """The outcome of every comparison that ran."""

    pack: str
    """Pack whose lock entries were compared."""
    checked: tuple[str, ...]
    """One line per comparison made (what against what), so a clean report says what it vouches for."""
    differences: tuple[Difference, ...]
    """Every difference found, in check order."""

    @property
    def clean(self) -> bool:
        """No drift at all."""
        return not self.differences


@dataclass(frozen=True)
class RuleChange:
    """A rule (all definitions sharing one head reference) that differs between two versions of a module."""

    package: str
    """Package path without `data.`, e.g. `readiness.checks`."""
    rule: str
    """Ground head reference, e.g. `suite_verdict` or `deny`; `(imports)` for the import list."""
    change: str
    """`added`, `removed` or `changed`."""
    detail: str = ""
    """Definition counts when they differ (`2 -> 3 definitions`)."""

    @property
    def name(self) -> str:
        """`package.rule`, as a person would search for it."""
        return f"{self.package}.{self.rule}"


@dataclass(frozen=True)
class DataChange:
    """One leaf of a data document that differs (lists count as leaves)."""

    key: str
    """Full data path, e.g. `data.readiness.config.thresholds.candidate.coverage_line_min`."""
    before: str | None
    """Compact JSON of the approved value, None if absent."""
    after: str | None
    """Compact JSON of the value found, None if absent."""
