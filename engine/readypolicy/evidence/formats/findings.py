"""Severity vocabulary and the `sast` data shape shared by every scanner normalizer.

Scanners grade findings differently (bandit LOW/MEDIUM/HIGH, SARIF error/warning/note, semgrep
ERROR/WARNING/INFO, CVSS words and scores); policies compare one five-step scale.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

SEVERITIES = ("critical", "high", "medium", "low", "info")

_ALIASES = {
    "critical": "critical", "blocker": "critical",
    "high": "high", "error": "high", "major": "high",
    "medium": "medium", "moderate": "medium", "warning": "medium",
    "low": "low", "minor": "low", "note": "low",
    "info": "info", "informational": "info", "none": "info", "negligible": "info",
}


def known_severity(value: Any) -> str | None:
    """The five-step severity for a tool's word, or None when the word grades nothing (`unknown`, empty)."""
    return _ALIASES.get(str(value or "").strip().lower()) if isinstance(value, str) else None


def severity(value: Any) -> str:
    """Map a tool's severity word onto the five-step scale (unknown words become `info`)."""
    return known_severity(value) or "info"


def cvss_severity(score: float) -> str:
    """The CVSS v3 qualitative rating of a base score (0 is `none`, kept as `info`)."""
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    return "low" if score > 0 else "info"


def score(value: Any) -> float | None:
    """A CVSS base score from a number or numeric string (SARIF stores it as a string), else None."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if 0.0 <= number <= 10.0 else None


SECURITY_SCANNERS = frozenset({
    "bandit", "brakeman", "checkov", "codeql", "dependency-check", "detect-secrets", "devskim", "gitleaks", "gosec",
    "grype", "horusec", "kics", "njsscan", "nodejsscan", "opengrep", "osv-scanner", "owasp", "semgrep", "snyk",
    "terrascan", "tfsec", "trivy", "trufflehog",
})
"""Scanner families (as `tool_slug` names them) whose every finding is a security finding.

The one list of them: a SARIF run from any other tool (ruff, eslint, pylint, ...) is a linter's,
whose findings count as security findings only where a rule says so (see sarif.py), because
linters grade style by their own scale (ruff marks every rule `error`).
"""


def is_security_scanner(name: str) -> bool:
    """Whether a tool (by name as its report gives it) is a security scanner."""
    return tool_slug(name) in SECURITY_SCANNERS


def tool_slug(name: str) -> str:
    """`Semgrep OSS` → `semgrep`: the scanner's family name, used as the evidence scope.

    Every scanner gets its own scope so a semgrep report does not replace the bandit report
    ingested before it (policies see the latest document per kind and scope).
    """
    words = re.findall(r"[a-z0-9][a-z0-9._-]*", name.lower())
    return words[0][:64] if words else "unknown"


def sast_data(
    tool: str, findings: Iterable[dict[str, Any]], scan_errors: int, files_scanned: int | None = None,
) -> dict[str, Any]:
    """Build `sast` evidence data with per-severity counts, scoped by scanner.

    `files_scanned` is kept only when the report says how many files the tool read (None: it does
    not say), so the policy can refuse a scan of no file instead of reading it as a clean one.
    """
    rows = list(findings)
    counts = dict.fromkeys(SEVERITIES, 0)
    for row in rows:
        counts[row["severity"]] += 1
    data: dict[str, Any] = {
        "tool": tool, "findings": rows, "counts": counts, "total": len(rows), "scan_errors": scan_errors,
        "scope": tool_slug(tool),
    }
    if files_scanned is not None:
        data["files_scanned"] = files_scanned
    return data
