"""The `dependencies` data shape shared by every dependency auditor (pip-audit, safety, Trivy, Grype, OSV-Scanner).

Auditors disagree on severity: some give a word, some a CVSS score, pip-audit gives nothing. A
vulnerability nobody rated is recorded as `high` with `severity_source: unrated`, because an
unrated vulnerability is not evidence of a harmless one; policies can still tell the cases apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from readypolicy.evidence.formats.findings import SEVERITIES, cvss_severity, known_severity, tool_slug

UNRATED_SEVERITY = "high"


def vulnerability(
    vuln_id: str, package: str, version: str | None, *, word: Any = None, cvss: float | None = None,
    fix_versions: Iterable[str] = (), aliases: Iterable[str] = (),
) -> dict[str, Any]:
    """One vulnerable package; the tool's severity word wins over a CVSS score, and neither means unrated."""
    graded = known_severity(word)
    if graded is not None:
        rating, source = graded, "tool"
    elif cvss is not None:
        rating, source = cvss_severity(cvss), "cvss"
    else:
        rating, source = UNRATED_SEVERITY, "unrated"
    return {
        "id": vuln_id, "package": package, "version": version, "severity": rating, "severity_source": source,
        "cvss_score": cvss,
        "fix_versions": sorted({fix for fix in fix_versions if fix}),
        "aliases": sorted({alias for alias in aliases if alias and alias != vuln_id}),
    }


def skipped(name: str, version: str | None, reason: str) -> dict[str, Any]:
    """A dependency the auditor did not check (not on the index, local path, ...): never counted as clean."""
    return {"name": name, "version": version, "reason": reason}


def dependencies_data(
    tool: str, audited: int, vulnerabilities: Iterable[dict[str, Any]], skipped_deps: Iterable[dict[str, Any]] = (),
    *, audited_complete: bool = True,
) -> dict[str, Any]:
    """Build `dependencies` data with per-severity counts, scoped by auditor.

    `audited_complete` is False when the report lists only the vulnerable packages, so `audited`
    is a lower bound rather than the number of packages checked.
    """
    rows = list(vulnerabilities)
    counts = dict.fromkeys(SEVERITIES, 0)
    for row in rows:
        counts[row["severity"]] += 1
    return {
        "tool": tool, "audited": audited, "audited_complete": audited_complete, "skipped": list(skipped_deps),
        "vulnerabilities": rows, "counts": counts, "total": len(rows), "scope": tool_slug(tool),
    }
