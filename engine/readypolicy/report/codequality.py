"""GitLab Code Quality JSON: blocking checks as merge-request code-quality findings.

GitLab reads a JSON array of issues, each with `description`, `check_name`, `fingerprint`,
`severity` (info, minor, major, critical, blocker) and `location.path` + `location.lines.begin`;
it compares fingerprints between the source and target branch to show what a merge request
introduces or fixes, so the fingerprint is stable per module, lane and check. Each `fail` or
`missing` check is one issue located at the file its verdict was drawn from (see `locations`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from readypolicy.records import CheckResult, DecisionRecord
from readypolicy.report.interface import ordered_checks
from readypolicy.report.locations import LocatedFormat, check_path

SEVERITIES = {"critical": "blocker", "high": "critical", "medium": "major", "low": "minor"}
"""Check severity → GitLab severity; anything else is `info`."""


def gitlab_severity(severity: str | None) -> str:
    """The Code Quality severity of a check severity."""
    return SEVERITIES.get(severity or "", "info")


class CodeQualityFormat(LocatedFormat):
    """GitLab Code Quality report (JSON array of issues)."""

    name = "codequality"

    def render(self, records: Sequence[DecisionRecord]) -> str:
        issues = [
            self._issue(record, check)
            for record in records
            for check in ordered_checks(record)
            if check["status"] in ("fail", "missing", "warn")
        ]
        return json.dumps(issues, indent=2, sort_keys=True) + "\n"

    def _issue(self, record: DecisionRecord, check: CheckResult) -> dict[str, Any]:
        module, revision, lane = record["subject"]["module"], record["subject"]["revision"], record["lane"]
        identity = f"readypolicy/v1:{module}:{lane}:{check['id']}"
        advisory = check["status"] == "warn"  # an advisory failure: reported at `info`, and said not to block
        head = (f"{module}@{revision}, advisory for {lane} (does not block)" if advisory
                else f"{module}@{revision} is not ready for {lane}")
        return {
            "type": "issue",
            "check_name": check["id"],
            "description": f"{head}: {check['id']} {check['status']}: {check['message']}",
            "content": {"body": check.get("remediation") or check.get("title") or check["id"]},
            "categories": ["Bug Risk"],
            "fingerprint": hashlib.sha256(identity.encode("utf-8")).hexdigest(),
            "severity": "info" if advisory else gitlab_severity(check.get("severity")),
            "location": {"path": check_path(record, check, self.locate), "lines": {"begin": 1}},
        }
