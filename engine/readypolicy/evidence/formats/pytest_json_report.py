"""pytest-json-report (`pytest --json-report`).

Unlike JUnit XML this format keeps every pytest outcome, including unexpected passes (`xpassed`),
so a non-strict XPASS is visible to policy. An outcome the plugin does not know (a plugin's own,
e.g. `rerun`) counts as an error rather than vanishing.

The plugin puts only the tests that were collected in `tests` and `summary`: a test module that
failed to import (`--continue-on-collection-errors`) or was skipped whole (`importorskip`) is only
in `collectors`. Each such collector counts here as one error or one skip, as pytest's own JUnit
report counts it, so a module that never loaded cannot vanish from a passing run.

pytest's exit status (`exitcode`) says whether the report is the whole run: 2, 3 and 4 (interrupted,
internal error, usage error) mean the run did not complete and what it lists is a fragment, so the
report is refused; 1 (tests failed) with no failure or error in the report means its failures were
left out (`--json-report-summary` or `--json-report-omit collectors` over a collection error), so
it is refused too. 5 (no tests collected) reads as 0 tests, which no lane's tests_min accepts.
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
_COUNTS = ("passed", "failed", "errors", "skipped", "xfailed", "xpassed")
_INCOMPLETE = {2: "interrupted", 3: "internal error", 4: "usage error"}
_FINISHED = (0, 1, 5)  # all tests passed, some failed or errored, none collected

_Entry = tuple[str, str, dict[str, Any]]
"""A test, or a collector that did not pass: its node id, its count key (`_COUNTS`) and its JSON object."""


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
        exitcode = self._exit_status(artifact, doc.get("exitcode"))
        tests = [mapping(test) for test in items(doc.get("tests"))]
        entries: list[_Entry] = [(text(test.get("nodeid")), _OUTCOMES.get(text(test.get("outcome")), "errors"), test)
                                 for test in tests]
        entries += _collector_entries(doc.get("collectors"))
        totals = _totals(doc["summary"], entries, from_tests=bool(tests))
        if exitcode == 1 and totals["failed"] + totals["errors"] == 0:
            raise self.fail(artifact, "pytest exited 1 (tests failed) but the report lists no failed test or "
                                      "error: its failures were left out (--json-report-summary, "
                                      "--json-report-omit collectors?)")
        duration = doc.get("duration")
        return Normalized(
            kind=self.kind, format=self.format, producer=Producer("pytest"),
            data={
                "totals": totals,
                "duration_s": round(float(duration), 6) if _non_negative(duration) else None,
                "suites": _suites(entries),
                "failed_cases": [_failed_case(nodeid, outcome, source) for nodeid, outcome, source in entries
                                 if outcome in ("failed", "errors")][:MAX_FAILED_CASES],
            },
            collected_at=stamps.epoch(doc.get("created")),
        )

    def _exit_status(self, artifact: Artifact, exitcode: Any) -> int:
        """pytest's exit status, when it says the run completed; anything else is refused."""
        if not isinstance(exitcode, int) or isinstance(exitcode, bool):
            raise self.fail(artifact, "no integer 'exitcode' (pytest's exit status)")
        if exitcode in _INCOMPLETE:
            raise self.fail(artifact, f"pytest exit status {exitcode} ({_INCOMPLETE[exitcode]}): the run did not "
                                      "complete, so the report holds only part of it")
        if exitcode not in _FINISHED:
            raise self.fail(artifact, f"exit status {exitcode} is not one pytest ends a run with (0 to 5)")
        return exitcode


def _non_negative(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value >= 0


def _collector_entries(collectors: Any) -> list[_Entry]:
    """A collector that failed (a module that did not import) as an error, one skipped whole as a skip.

    Collectors that passed are containers, not tests; an outcome the plugin does not write is an error.
    """
    entries: list[_Entry] = []
    for collector in map(mapping, items(collectors)):
        outcome = text(collector.get("outcome"))
        if outcome != "passed":
            entries.append((text(collector.get("nodeid")), "skipped" if outcome == "skipped" else "errors", collector))
    return entries


def _totals(summary: dict[str, Any], entries: list[_Entry], from_tests: bool) -> dict[str, int]:
    """Counted from the tests and collectors when the report has tests (the plugin's summary counts the
    tests alone), else the summary's test counts (`--json-report-summary` omits the tests) plus the
    collectors'."""
    counted = Counter(outcome for _, outcome, _ in entries)
    if not from_tests:
        counted.update({key: value for outcome, key in _OUTCOMES.items()
                        if isinstance(value := summary.get(outcome), int) and not isinstance(value, bool)
                        and value > 0})
    totals = {key: counted[key] for key in _COUNTS}
    return {"tests": sum(totals.values()), **totals}


def _suites(entries: list[_Entry]) -> list[dict[str, Any]]:
    """One row per test module (the node id up to the first `::`)."""
    rows: dict[str, dict[str, Any]] = {}
    for nodeid, outcome, _ in entries:
        name = nodeid.split("::")[0]
        row = rows.setdefault(name, {"name": name, "tests": 0, "failed": 0, "errors": 0, "skipped": 0})
        row["tests"] += 1
        if outcome in ("failed", "errors", "skipped"):
            row[outcome] += 1
    return list(rows.values())


def _failed_case(nodeid: str, outcome: str, source: dict[str, Any]) -> dict[str, Any]:
    """A failed or erroring test, or a collector that failed (named by its module's node id)."""
    module, _, name = nodeid.rpartition("::")
    return {
        "suite": nodeid.split("::")[0],
        "classname": module,
        "name": name or nodeid,
        "outcome": "failed" if outcome == "failed" else "error",
        "message": message(_detail(source)),
    }


def _detail(source: dict[str, Any]) -> Any:
    """The crash message of a test's failing stage, else its longrepr; a collector's `E` lines, else its longrepr.

    A collection error's longrepr opens with a traceback of importlib frames; its `E` lines say what failed.
    """
    stage = next((mapping(source.get(s)) for s in ("setup", "call", "teardown")
                  if mapping(source.get(s)).get("outcome") == "failed"), None)
    if stage is not None:
        return mapping(stage.get("crash")).get("message") or stage.get("longrepr")
    longrepr = text(source.get("longrepr"))
    return " ".join(line[1:] for line in longrepr.splitlines() if line.startswith("E ")) or longrepr


NORMALIZER = PytestJsonReport()
