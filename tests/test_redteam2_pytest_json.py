"""Red-team round 2: a pytest-json-report must not read as a pass when pytest said the run failed.

pytest-json-report keeps a test module that failed to import only in `collectors` (its `tests` and
`summary` hold the tests that ran), and keeps pytest's exit status in `exitcode`. Reading only
`tests` and `summary` turned a real "1 passed, 1 error" run into a passing tests.unit. Every report
here is a real pytest run (tests/fixtures/pytest-json-report-runs/SOURCES.md); expected counts are
read from the raw JSON with `json` and from the JUnit XML of the same run with ElementTree, never
from the normalizer.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET  # the project's own trusted fixtures
from pathlib import Path
from typing import Any

import pytest

from policy_project import Project, make_project
from support import FIXTURES
from test_governance import _check
from test_normalizers_security import ingest
from test_redteam_ingest import INGEST, _refused

RUNS = FIXTURES / "pytest-json-report-runs"
EVAL = ("--module", "payments", "--lane", "candidate", "--revision", "abc", "--no-record")


def _raw(name: str) -> dict[str, Any]:
    value = json.loads((RUNS / name).read_text(encoding="utf-8"))
    assert isinstance(value, dict)
    return value


def _failed_collectors(raw: dict[str, Any]) -> list[str]:
    return [c["nodeid"] for c in raw.get("collectors", []) if c["outcome"] == "failed"]


def _unit_check(project: Project, report: Path) -> dict[str, Any]:
    """tests.unit of the candidate lane once `report` is the module's unit suite."""
    result = project.run(*INGEST, "--scope", "unit", str(report))
    assert result.exit_code == 0, result.output
    [record] = project.eval_records(*EVAL)
    return _check(record, "tests.unit")


def _junit_totals(name: str) -> dict[str, int]:
    """tests / errors / skipped of the JUnit XML of the same run, counted from its <testcase> elements."""
    cases = list(ET.parse(RUNS / name).getroot().iter("testcase"))
    return {"tests": len(cases), "errors": sum(c.find("error") is not None for c in cases),
            "skipped": sum(c.find("skipped") is not None for c in cases)}


@pytest.mark.parametrize("name", ["collection-error-pytest8.json", "collection-error.json",
                                  "only-module-failed-to-import.json"])
def test_a_pytest_json_report_whose_test_module_failed_to_import_does_not_pass(tmp_path: Path, name: str) -> None:
    """`--continue-on-collection-errors`: pytest printed "1 error" and exited 1; tests.unit must fail.

    The report's `tests` and `summary` hold no failure at all: the module that did not import is
    only a `collectors` entry with outcome `failed`.
    """
    raw = _raw(name)
    assert (raw["exitcode"], _failed_collectors(raw)) == (1, ["test_broken.py"])
    assert not [t for t in raw["tests"] if t["outcome"] != "passed"]
    assert not {"failed", "error"} & set(raw["summary"])
    unit = _unit_check(make_project(tmp_path), RUNS / name)
    assert unit["status"] == "fail", unit["message"]


def test_a_module_that_failed_to_import_counts_and_is_listed_as_the_junit_form_of_the_run_shows_it(
    tmp_path: Path,
) -> None:
    """The same run's JUnit XML has the module as a <testcase> with <error>: the JSON form counts the same."""
    raw = _raw("collection-error.json")
    junit = _junit_totals("collection-error.xml")
    failed = _failed_collectors(raw)
    assert junit == {"tests": len(raw["tests"]) + len(failed), "errors": len(failed), "skipped": 0} == \
        {"tests": 2, "errors": 1, "skipped": 0}
    data = ingest(tmp_path, RUNS / "collection-error.json")["data"]
    assert {key: data["totals"][key] for key in junit} == junit
    assert data["totals"]["passed"] == sum(t["outcome"] == "passed" for t in raw["tests"])
    assert [(c["name"], c["suite"], c["outcome"]) for c in data["failed_cases"]] == [
        (nodeid, nodeid, "error") for nodeid in failed]
    longrepr = next(c["longrepr"] for c in raw["collectors"] if c["outcome"] == "failed")
    cause = next(line for line in longrepr.splitlines() if line.startswith("E "))[1:].strip()
    assert cause in data["failed_cases"][0]["message"]
    assert sum(row["tests"] for row in data["suites"]) == junit["tests"]


def test_a_module_skipped_whole_counts_as_a_skip_as_the_junit_form_of_the_run_shows_it(tmp_path: Path) -> None:
    """`pytest.importorskip` at module level: only a `skipped` collector in the JSON, a skipped <testcase> in JUnit.

    A lane with tests_skipped_max must see that skip; uncounted, the module's tests vanished.
    """
    raw = _raw("module-skipped.json")
    junit = _junit_totals("module-skipped.xml")
    skipped = [c["nodeid"] for c in raw["collectors"] if c["outcome"] == "skipped"]
    assert (raw["exitcode"], skipped, raw["summary"].get("skipped", 0)) == (0, ["test_skipmod.py"], 0)
    assert junit == {"tests": len(raw["tests"]) + len(skipped), "errors": 0, "skipped": len(skipped)}
    data = ingest(tmp_path, RUNS / "module-skipped.json")["data"]
    assert {key: data["totals"][key] for key in junit} == junit
    assert data["failed_cases"] == []


def test_a_clean_run_with_a_module_skipped_whole_still_passes(tmp_path: Path) -> None:
    """Control: exit status 0, one test passed and a skipped module is a pass in a lane that allows skips."""
    raw = _raw("module-skipped.json")
    assert raw["exitcode"] == 0 and [t["outcome"] for t in raw["tests"]] == ["passed"]
    unit = _unit_check(make_project(tmp_path), RUNS / "module-skipped.json")
    assert unit["status"] == "pass", unit["message"]


@pytest.mark.parametrize(("name", "meaning"), [
    ("interrupted-by-collection-error.json", "interrupted"),
    ("keyboard-interrupt.json", "interrupted"),
    ("internal-error.json", "internal error"),
    ("usage-error.json", "usage error"),
])
def test_a_run_that_did_not_complete_is_refused(tmp_path: Path, name: str, meaning: str) -> None:
    """pytest exit status 2, 3 or 4: the report is a fragment of a run, whatever it lists.

    The KeyboardInterrupt run lists two passes and no failure (the test that was interrupted reads
    `passed`, with only its setup) though a third test, which fails, never ran.
    """
    raw = _raw(name)
    assert raw["exitcode"] in (2, 3, 4)
    assert not [t for t in raw["tests"] if t["outcome"] != "passed"]
    line = _refused(make_project(tmp_path), RUNS / name, "--scope", "unit")
    assert f"pytest exit status {raw['exitcode']} ({meaning})" in line


@pytest.mark.parametrize("name", ["collection-error-summary.json", "collection-error-omit-collectors.json"])
def test_exit_status_1_with_the_failures_left_out_of_the_report_is_refused(tmp_path: Path, name: str) -> None:
    """`--json-report-summary` or `--json-report-omit collectors` over a collection error: exit 1, nothing failed.

    The module that did not import is nowhere in the report; only pytest's exit status remembers it.
    """
    raw = _raw(name)
    assert raw["exitcode"] == 1 and "collectors" not in raw
    assert not [t for t in raw.get("tests", []) if t["outcome"] != "passed"]
    assert not {"failed", "error"} & set(raw["summary"])
    line = _refused(make_project(tmp_path), RUNS / name, "--scope", "unit")
    assert "pytest exited 1 (tests failed) but the report lists no failed test or error" in line


def test_a_run_that_collected_no_tests_fails_tests_unit(tmp_path: Path) -> None:
    """Exit status 5 (no tests collected) is a completed run of nothing: it ingests, and the check fails."""
    raw = _raw("no-tests-collected.json")
    assert (raw["exitcode"], raw["tests"], raw["summary"]["total"]) == (5, [], 0)
    unit = _unit_check(make_project(tmp_path), RUNS / "no-tests-collected.json")
    assert unit["status"] == "fail", unit["message"]


@pytest.mark.parametrize(("attack", "exitcode"), [
    ("a string", "0"), ("a boolean", False), ("null", None), ("not a pytest status", 6), ("negative", -1),
])
def test_an_exit_status_pytest_never_writes_is_refused(tmp_path: Path, attack: str, exitcode: Any) -> None:
    """An edited exit status cannot stand in for one: only 0, 1 and 5 are runs that completed."""
    raw = _raw("module-skipped.json")
    report = tmp_path / f"edited-{attack.replace(' ', '-')}.json"
    report.write_text(json.dumps({**raw, "exitcode": exitcode}), encoding="utf-8")
    line = _refused(make_project(tmp_path), report, "--scope", "unit", "--format", "pytest-json-report")
    assert "exit" in line
