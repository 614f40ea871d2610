"""The policy author's commands: test, fmt, check and explain, against real OPA."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from policy_project import REPO, Project, make_project
from readypolicy.cli.main import cli
from readypolicy.engines.locate import find_opa

PACK_YAML = """\
name: demo
version: 0.1.0
root: demo
lanes: {candidate: gate}
sources: {gate: src, config: config}
"""

POLICY = """\
package demo.gate

import rego.v1

default allow := false

allow if input.score >= data.demo.config.minimum

label := "high" if input.score > 90

label := "low" if input.score < 10
"""

TESTS = """\
package demo.gate_test

import data.demo.gate
import rego.v1

test_allows_at_the_minimum if gate.allow with input as {"score": 50}

test_denies_below if not gate.allow with input as {"score": 49}
"""

FAILING_TEST = """\
package demo.gate_test

import data.demo.gate
import rego.v1

test_wrong_expectation if gate.allow with input as {"score": 1}
"""


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """A small pack whose tests pass and cover 3 of the policy's 5 evaluable lines."""
    root = tmp_path / "demo"
    (root / "policies" / "src").mkdir(parents=True)
    (root / "policies" / "config").mkdir()
    (root / "policies" / "pack.yaml").write_text(PACK_YAML)
    (root / "policies" / "src" / "gate.rego").write_text(POLICY)
    (root / "policies" / "src" / "gate_test.rego").write_text(TESTS)
    (root / "policies" / "config" / "data.yaml").write_text("minimum: 50\n")
    (root / "readypolicy.yaml").write_text(f"opa: {find_opa(None, REPO)}\npack: demo\n")
    return root


def run(root: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(root / "readypolicy.yaml"), *args], catch_exceptions=False)


def coverage_of(result: Result) -> float:
    match = re.search(r"coverage: ([0-9.]+)%", result.stdout)
    assert match, result.stdout
    return float(match.group(1))


def test_passing_tests_report_counts_and_policy_coverage(demo: Path) -> None:
    result = run(demo, "policy", "test", "--coverage-floor", "50", "-v")
    assert result.exit_code == 0, result.output
    assert "2 passed, 0 failed, 0 errors, 0 skipped" in result.stdout
    covered = coverage_of(result)
    assert 0 < covered < 100  # the `label` rules are never reached; the test file itself is not counted
    assert "policies/src/gate.rego" in result.stdout or str(demo / "policies" / "src" / "gate.rego") in result.stdout
    assert "gate_test.rego" not in result.stdout


def test_coverage_under_the_floor_fails(demo: Path) -> None:
    result = run(demo, "policy", "test", "--coverage-floor", "99")
    assert result.exit_code == 1
    assert "floor 99%" in result.stdout


def test_coverage_floor_comes_from_config(demo: Path) -> None:
    config = demo / "readypolicy.yaml"
    config.write_text(config.read_text() + "coverage_floor: 99\n")
    assert run(demo, "policy", "test").exit_code == 1
    config.write_text(config.read_text().replace("coverage_floor: 99", "coverage_floor: 10"))
    assert run(demo, "policy", "test").exit_code == 0


def test_failing_test_is_named_with_its_source_location(demo: Path) -> None:
    (demo / "policies" / "src" / "more_test.rego").write_text(FAILING_TEST)
    result = run(demo, "policy", "test", "-v")
    assert result.exit_code == 1
    assert "2 passed, 1 failed" in result.stdout
    assert "data.demo.gate_test.test_wrong_expectation" in result.stdout
    assert re.search(r"more_test\.rego:6\b", result.stdout), result.stdout
    assert "readypolicy-src-" not in result.stdout  # staged temp paths are mapped back to the sources
    assert "not measured" in result.stdout


def test_golden_cases_absent_declared_empty_or_missing(demo: Path) -> None:
    """No golden cases is said, never passed off as cases that held; a declared directory that is gone is exit 2."""
    result = run(demo, "policy", "test", "--coverage-floor", "50")
    assert result.exit_code == 0 and "has no golden cases" in result.stderr
    update = run(demo, "policy", "golden", "update")
    assert update.exit_code == 2 and "declares no golden case directory" in update.stderr

    pack_yaml = demo / "policies" / "pack.yaml"
    pack_yaml.write_text(PACK_YAML + "golden: ../golden\n")
    gone = run(demo, "policy", "test", "--coverage-floor", "50")
    assert gone.exit_code == 2 and "no golden case directory" in gone.stderr
    (demo / "golden").mkdir()
    empty = run(demo, "policy", "test", "--coverage-floor", "50")
    assert empty.exit_code == 0 and "has no golden cases" in empty.stderr


def test_compile_error_exits_2(demo: Path) -> None:
    (demo / "policies" / "src" / "gate.rego").write_text(POLICY + "\nbroken := undefined_var\n")
    result = run(demo, "policy", "test")
    assert result.exit_code == 2
    assert "gate.rego:13" in result.stderr and "readypolicy-src-" not in result.stderr


def test_fmt_check_lists_and_fmt_rewrites(demo: Path) -> None:
    source = demo / "policies" / "src" / "gate.rego"
    source.write_text(POLICY.replace("allow if input.score >=", "allow   if   input.score>="))
    check = run(demo, "policy", "fmt", "--check")
    assert check.exit_code == 1
    assert "unformatted:" in check.stdout and "gate.rego" in check.stdout and "gate_test.rego" not in check.stdout
    fixed = run(demo, "policy", "fmt")
    assert fixed.exit_code == 0 and "formatted:" in fixed.stdout
    assert source.read_text() == POLICY
    assert run(demo, "policy", "fmt", "--check").exit_code == 0


def test_check_names_a_denied_builtin_with_file_and_line(demo: Path) -> None:
    assert run(demo, "policy", "check").exit_code == 0
    (demo / "policies" / "src" / "fetch.rego").write_text(
        'package demo.gate\n\nimport rego.v1\n\nremote := http.send({"method": "GET", "url": "http://127.0.0.1:1"})\n'
    )
    result = run(demo, "policy", "check")
    assert result.exit_code == 1
    assert re.search(r"src/fetch\.rego:5:\d+: denied_builtin: builtin http\.send is not allowed", result.stdout), result.stdout


def test_check_strict_reports_unused_variables(demo: Path) -> None:
    (demo / "policies" / "src" / "gate.rego").write_text(POLICY + "\nunused(x) := 1\n")
    result = run(demo, "policy", "check")
    assert result.exit_code == 1
    assert re.search(r"gate\.rego:13:\d+: rego_compile_error: unused argument x", result.stdout), result.stdout


@pytest.fixture
def readiness(tmp_path: Path) -> Project:
    return make_project(tmp_path, coverage_min=75)


def rule_line(project: Project, check_id: str) -> str:
    """file:line of the check's one-line indexed head, `result(id, lane) := ... if id == "<id>"`."""
    for path in sorted((project.root / "policies").rglob("*.rego")):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if line.startswith("result(id, ") and line.endswith(f' if id == "{check_id}"'):
                return f"{path.name}:{number}"
    raise AssertionError(f"no rule for {check_id}")


def test_explain_shows_rule_result_evidence_and_thresholds(readiness: Project) -> None:
    result = readiness.run("policy", "explain", "--lane", "candidate", "--module", "payments", "coverage.line")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert rule_line(readiness, "coverage.line") in out
    assert "result:    PASS: line coverage 82.93%" in out
    assert "evidence coverage/unit sha256:" in out and '"line_percent": 82.93' in out
    row = next(line for line in out.splitlines() if line.lstrip().startswith("* coverage_line_min"))
    assert row.split() == ["*", "coverage_line_min", "70", "75", "75"]


def test_explain_json_shows_that_a_manifest_cannot_loosen_a_threshold(tmp_path: Path) -> None:
    project = make_project(tmp_path, coverage_min=50)
    result = project.run("policy", "explain", "-l", "integration", "-m", "payments", "--format", "json", "coverage.line")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["check"]["status"] == "fail"
    thresholds = {t["name"]: t for t in doc["thresholds"]}
    assert thresholds["coverage_line_min"]["base"] == 90
    assert thresholds["coverage_line_min"]["override"] is None  # the manifest only overrides candidate
    assert thresholds["coverage_line_min"]["used_by_rule"] is True
    candidate = json.loads(project.run("policy", "explain", "-l", "candidate", "-m", "payments", "--format", "json",
                                       "coverage.line").stdout)
    loosened = {t["name"]: t for t in candidate["thresholds"]}["coverage_line_min"]
    assert (loosened["base"], loosened["override"], loosened["effective"]) == (70, 50, 70)
    assert list(doc["evidence"]) == ["coverage"]


def test_explain_unknown_check_is_an_error(readiness: Project) -> None:
    result = readiness.run("policy", "explain", "-l", "candidate", "-m", "payments", "perf.slo")
    assert result.exit_code == 2
    assert "has no check 'perf.slo'" in result.stderr


def test_explain_locates_a_reformatted_rule_and_a_threshold_read_in_a_renamed_helper(readiness: Project) -> None:
    """The attack on text matching: the same rule split over lines after blank lines, its threshold read in a
    helper with a new name, and a string elsewhere that looks like the rule. OPA's parse sees through all three."""
    coverage = readiness.root / "policies" / "checks" / "coverage.rego"
    one_line = 'result(id, lane) := coverage_line(lane) if id == "coverage.line"\n'
    helper = 'coverage_line(lane) := coverage_verdict(coverage_doc, lib.threshold(lane, "coverage_line_min")) if {\n'
    source = coverage.read_text()
    assert one_line in source and helper in source
    split = ('\n\n\n# moved down and split, the id compared the other way round\n'
             'result(\n\tid,\n\tlane,\n) := judged_line_coverage(lane) if {\n\t"coverage.line" == id\n}\n')
    renamed = 'judged_line_coverage(lane) := coverage_verdict(coverage_doc, lib.threshold(lane, "coverage_line_min")) if {\n'
    coverage.write_text(source.replace(one_line, split).replace(helper, renamed))
    (readiness.root / "policies" / "checks" / "decoy.rego").write_text(
        'package readiness.checks\n\ndecoy_text := `\nresult(id, lane) := "a string, not a rule" if id == "coverage.line"\n`\n'
    )
    lines = coverage.read_text().splitlines()
    row = next(i for i, line in enumerate(lines, start=1) if line == "result(" and lines[i] == "\tid,")

    result = readiness.run("policy", "explain", "-l", "candidate", "-m", "payments", "coverage.line")
    assert result.exit_code == 0, result.output
    out = result.stdout.splitlines()
    assert [line for line in out if line.startswith("rule ")] == [f"rule {coverage}:{row}"]
    assert "  | ) := judged_line_coverage(lane) if {" in out
    assert '  | \t"coverage.line" == id' in out
    assert "result:    PASS: line coverage 82.93%" in result.stdout
    row_of = next(line for line in out if line.lstrip().startswith(("* coverage_line_min", "coverage_line_min")))
    assert row_of.split()[:2] == ["*", "coverage_line_min"]


def test_explain_marks_a_threshold_read_two_helpers_down(readiness: Project) -> None:
    """tests.unit reads tests_min inside suite_verdict, called by suite_result: still the rule's threshold."""
    result = readiness.run("policy", "explain", "-l", "candidate", "-m", "payments", "--format", "json", "tests.unit")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    [rule] = doc["rules"]
    assert rule["text"] == 'result(id, lane) := suite_result("unit", lane) if id == "tests.unit"'
    used = {t["name"] for t in doc["thresholds"] if t["used_by_rule"]}
    assert used == {"tests_min"}
