"""SARIF 2.1.0: blocking checks as code-scanning results.

One run per report: the rules are the catalog entries of every check the decisions contain (title,
severity and remediation as help text), and each `fail` or `missing` check becomes one result,
located logically at the module and physically at the evidence file (or lane manifest) it was
judged on, line 1: GitHub code scanning refuses results without a file location. Levels follow
severity: critical/high → error, medium → warning, anything else → note. The fingerprint is module
+ lane + check, so a scanner UI tracks the same finding across runs. A run holds at most
MAX_RESULTS results (GitHub's limit), the most severe first; the number left out is recorded in
the run's properties, and the exit code of `eval` never depends on the report.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from readypolicy import __version__
from readypolicy.records import CheckResult, DecisionRecord
from readypolicy.report.interface import ordered_checks, status_counts
from readypolicy.report.locations import LocatedFormat, check_path

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVELS = {"critical": "error", "high": "error", "medium": "warning"}
LEVEL_ORDER = {"error": 0, "warning": 1, "note": 2}
MAX_RESULTS = 25_000
"""Results GitHub code scanning accepts per run."""


def level(severity: str | None) -> str:
    """The SARIF level of a check severity."""
    return LEVELS.get(severity or "", "note")


def _rule(check: CheckResult) -> dict[str, Any]:
    title = check.get("title") or check["id"]
    help_text = check.get("remediation") or title
    return {
        "id": check["id"],
        "name": "".join(part.capitalize() for part in check["id"].replace("-", ".").replace("_", ".").split(".")),
        "shortDescription": {"text": title},
        "fullDescription": {"text": f"{title} (needs evidence: {', '.join(check.get('needs') or []) or 'none'})"},
        "help": {"text": help_text, "markdown": f"**{title}**\n\n{help_text}"},
        "defaultConfiguration": {"level": level(check.get("severity"))},
        "properties": {"severity": check.get("severity", "unknown"), "needs": list(check.get("needs") or [])},
    }


class SarifFormat(LocatedFormat):
    """SARIF 2.1.0 JSON."""

    name = "sarif"

    def render(self, records: Sequence[DecisionRecord]) -> str:
        rules: dict[str, dict[str, Any]] = {}
        for record in records:
            for check in record["checks"]:
                rules.setdefault(check["id"], _rule(check))
        index = {rule_id: i for i, rule_id in enumerate(sorted(rules))}
        results = [
            self._result(record, check, index[check["id"]])
            for record in records
            for check in ordered_checks(record)
            if check["status"] in ("fail", "missing", "warn", "waived")
        ]
        results.sort(key=lambda result: LEVEL_ORDER[result["level"]])
        omitted = max(0, len(results) - MAX_RESULTS)
        results = results[:MAX_RESULTS]
        run = {
            "tool": {"driver": {
                "name": "readypolicy", "semanticVersion": __version__, "version": __version__,
                "rules": [rules[rule_id] for rule_id in sorted(rules)],
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
            "properties": {"decisions": [
                {"decision_id": r["decision_id"], "module": r["subject"]["module"], "revision": r["subject"]["revision"],
                 "lane": r["lane"], "allow": r["allow"], "policy_revision": r["policy"]["revision"],
                 "summary": status_counts(r)}
                for r in records
            ], "omitted_results": omitted},
        }
        return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2, sort_keys=True) + "\n"

    def _result(self, record: DecisionRecord, check: CheckResult, rule_index: int) -> dict[str, Any]:
        """A blocking check at its severity's level; an advisory one as a warning that does not block; a
        waived one suppressed (SARIF `suppressions`, accepted, with the waiver as justification)."""
        module, revision, lane = record["subject"]["module"], record["subject"]["revision"], record["lane"]
        status = check["status"]
        if status == "warn":
            head = f"{module}@{revision}, advisory for {lane} (does not block)"
        elif status == "waived":
            head = f"{module}@{revision}, waived for {lane}"
        else:
            head = f"{module}@{revision} is not ready for {lane}"
        extra: dict[str, Any] = {}
        if status == "waived":
            waiver = check.get("waiver") or {}
            extra["suppressions"] = [{
                "kind": "external", "status": "accepted",
                "justification": f"waiver {waiver.get('id') or '(plain)'} approved by {waiver.get('approver')} until "
                                 f"{waiver.get('expires')}: {waiver.get('reason')}",
            }]
        return {
            **extra,
            "ruleId": check["id"],
            "ruleIndex": rule_index,
            "level": "warning" if status == "warn" else level(check.get("severity")),
            "kind": "fail",
            "message": {"text": f"{head}: {check['message']}"},
            "locations": [{
                "physicalLocation": {
                    "artifactLocation": {"uri": quote(check_path(record, check, self.locate), safe="/")},
                    "region": {"startLine": 1},
                },
                "logicalLocations": [{"name": module, "fullyQualifiedName": f"{module}@{revision}", "kind": "module"}],
            }],
            "partialFingerprints": {"readypolicy/v1": f"{module}:{lane}:{check['id']}"},
            "properties": {
                "status": check["status"], "lane": lane, "revision": revision, "decision_id": record["decision_id"],
                "evidence": list(check.get("evidence") or []),
            },
        }
