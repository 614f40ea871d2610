"""SARIF 2.1.0: blocking checks as code-scanning results.

One run per report: the rules are the catalog entries of every check the decisions contain (title,
severity and remediation as help text), and each `fail` or `missing` check becomes one result,
located logically at the module (a readiness check is about a module revision, not a line of
code). Levels follow severity: critical/high → error, medium → warning, anything else → note.
The fingerprint is module + lane + check, so a scanner UI tracks the same finding across runs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from readypolicy import __version__
from readypolicy.report.interface import ReportFormat, ordered_checks

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVELS = {"critical": "error", "high": "error", "medium": "warning"}


def level(severity: str | None) -> str:
    """The SARIF level of a check severity."""
    return LEVELS.get(severity or "", "note")


def _rule(check: dict[str, Any]) -> dict[str, Any]:
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


class SarifFormat(ReportFormat):
    """SARIF 2.1.0 JSON."""

    name = "sarif"

    def render(self, records: Sequence[dict[str, Any]]) -> str:
        rules: dict[str, dict[str, Any]] = {}
        for record in records:
            for check in record["checks"]:
                rules.setdefault(check["id"], _rule(check))
        index = {rule_id: i for i, rule_id in enumerate(sorted(rules))}
        results = [
            self._result(record, check, index[check["id"]])
            for record in records
            for check in ordered_checks(record)
            if check["status"] in ("fail", "missing")
        ]
        run = {
            "tool": {"driver": {
                "name": "readypolicy", "semanticVersion": __version__, "version": __version__,
                "rules": [rules[rule_id] for rule_id in sorted(rules)],
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
            "properties": {"decisions": [
                {"decision_id": r["decision_id"], "module": r["subject"]["module"], "revision": r["subject"]["revision"],
                 "lane": r["lane"], "allow": r["allow"], "policy_revision": r["policy"]["revision"]}
                for r in records
            ]},
        }
        return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2, sort_keys=True) + "\n"

    def _result(self, record: dict[str, Any], check: dict[str, Any], rule_index: int) -> dict[str, Any]:
        module, revision, lane = record["subject"]["module"], record["subject"]["revision"], record["lane"]
        return {
            "ruleId": check["id"],
            "ruleIndex": rule_index,
            "level": level(check.get("severity")),
            "kind": "fail",
            "message": {"text": f"{module}@{revision} is not ready for {lane}: {check['message']}"},
            "locations": [{"logicalLocations": [
                {"name": module, "fullyQualifiedName": f"{module}@{revision}", "kind": "module"},
            ]}],
            "partialFingerprints": {"readypolicy/v1": f"{module}:{lane}:{check['id']}"},
            "properties": {
                "status": check["status"], "lane": lane, "revision": revision, "decision_id": record["decision_id"],
                "evidence": list(check.get("evidence") or []),
            },
        }
