"""Severity vocabulary and the `sast` data shape shared by every scanner normalizer.

Scanners grade findings differently (bandit LOW/MEDIUM/HIGH, SARIF error/warning/note, semgrep
ERROR/WARNING/INFO, CVSS words); policies compare one five-step scale.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

SEVERITIES = ("critical", "high", "medium", "low", "info")

_ALIASES = {
    "critical": "critical", "blocker": "critical",
    "high": "high", "error": "high", "major": "high",
    "medium": "medium", "moderate": "medium", "warning": "medium",
    "low": "low", "minor": "low", "note": "low",
    "info": "info", "informational": "info", "none": "info", "unknown": "info", "negligible": "info",
}


def severity(value: Any) -> str:
    """Map a tool's severity word onto the five-step scale (unknown words become `info`)."""
    return _ALIASES.get(str(value or "").strip().lower(), "info")


def sast_data(tool: str, findings: Iterable[dict[str, Any]], scan_errors: int) -> dict[str, Any]:
    """Build `sast` evidence data with per-severity counts."""
    rows = list(findings)
    counts = dict.fromkeys(SEVERITIES, 0)
    for row in rows:
        counts[row["severity"]] += 1
    return {"tool": tool, "findings": rows, "counts": counts, "total": len(rows), "scan_errors": scan_errors}
