"""The `secrets` data shape shared by secret scanners.

Only where a secret is (rule, file, line) is kept: evidence is stored, shown and signed, so the
secret itself, its hash or the matched text must never reach it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from readypolicy.evidence.formats.findings import tool_slug


def finding(rule: str, file: str, line: int | None) -> dict[str, Any]:
    """One detected secret, located but not reproduced."""
    return {"rule": rule, "file": file, "line": line}


def secrets_data(tool: str, findings: Iterable[dict[str, Any]], dismissed: int = 0) -> dict[str, Any]:
    """Build `secrets` data, scoped by scanner; `dismissed` counts findings a reviewer marked false positives."""
    rows = list(findings)
    return {"tool": tool, "findings": rows, "total": len(rows), "dismissed": dismissed, "scope": tool_slug(tool)}
