"""pytest-json-report (`pytest --json-report`).

Unlike JUnit XML this format keeps every pytest outcome, including unexpected passes (`xpassed`),
so a non-strict XPASS is visible to policy. An outcome the plugin does not know (a plugin's own,
e.g. `rerun`) counts as an error rather than vanishing.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, TypeGuard

from readypolicy.evidence.formats import stamps
from readypolicy.evidence.formats.junit_xml import MAX_FAILED_CASES
from readypolicy.evidence.formats.shape import items, mapping, message, text
from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer

_OUTCOMES = {"passed": "passed", "failed": "failed", "error": "errors", "skipped": "skipped",
             "xfailed": "xfailed", "xpassed": "xpassed"}


class PytestJsonReport(Normalizer):
    """pytest-json-report → `tests` evidence."""

    kind = "tests"
    format = "pytest-json-report"
    description = "pytest-json-report JSON (pytest --json-report), keeps xfailed and xpassed"
    priority = 20

    def detect(self, artifact: Artifact) -> bool:
        head = artifact.head
        return artifact.looks_like_json() and '"summary"' in artifact.text_or_empty and (
            '"exitcode"' in head and '"root"' in head
        )

    def normalize(self, artifact: Artifact) -> Normalized:
        doc = artifact.json()
        if not isinstance(doc, dict) or not isinstance(doc.get("summary"), dict):
            raise self.fail(artifact, "no 'summary' object")
        tests = [mapping(test) for test in items(doc.get("tests"))]
        totals = _totals(doc["summary"], tests)
        duration = doc.get("duration")
        return Normalized(
            kind=self.kind, format=self.format, producer=Producer("pytest"),
            data={
                "totals": totals,
                "duration_s": round(float(duration), 6) if _non_negative(duration) else None,
                "suites": _suites(tests),
                "failed_cases": [_failed_case(test) for test in tests if test.get("outcome") in ("failed", "error")]
                [:MAX_FAILED_CASES],
            },
            collected_at=stamps.epoch(doc.get("created")),
        )


def _non_negative(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value >= 0


def _totals(summary: dict[str, Any], tests: list[dict[str, Any]]) -> dict[str, int]:
    """Counted from the tests when the report has them (the plugin's summary is that same count),
    else taken from the summary (`--json-report-summary` omits the tests)."""
    if tests:
        counted = Counter(_OUTCOMES.get(text(test.get("outcome")), "errors") for test in tests)
    else:
        counted = Counter({key: value for outcome, key in _OUTCOMES.items()
                           if isinstance(value := summary.get(outcome), int) and not isinstance(value, bool) and value > 0})
    totals = {key: counted[key] for key in ("passed", "failed", "errors", "skipped", "xfailed", "xpassed")}
    return {"tests": sum(totals.values()), **totals}


def _suites(tests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per test module (the node id up to the first `::`)."""
    rows: dict[str, dict[str, Any]] = {}
    for test in tests:
        name = text(test.get("nodeid")).split("::")[0]
        row = rows.setdefault(name, {"name": name, "tests": 0, "failed": 0, "errors": 0, "skipped": 0})
        row["tests"] += 1
        outcome = _OUTCOMES.get(text(test.get("outcome")), "errors")
        if outcome in ("failed", "errors", "skipped"):
            row[outcome] += 1
    return list(rows.values())


def _failed_case(test: dict[str, Any]) -> dict[str, Any]:
    nodeid = text(test.get("nodeid"))
    module, _, name = nodeid.rpartition("::")
    stage = next((mapping(test.get(s)) for s in ("setup", "call", "teardown")
                  if mapping(test.get(s)).get("outcome") == "failed"), {})
    detail = mapping(stage.get("crash")).get("message") or stage.get("longrepr")
    return {
        "suite": module.split("::")[0],
        "classname": module,
        "name": name or nodeid,
        "outcome": "failed" if test.get("outcome") == "failed" else "error",
        "message": message(detail),
    }


NORMALIZER = PytestJsonReport()
