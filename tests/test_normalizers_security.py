"""Normalizers against the real tools' outputs in tests/fixtures/artifacts/.

Every sample must be detected as its own format, and the stored evidence (`ingest` then
`evidence show --format json`, through the CLI) must carry the numbers a person reads off the
tool's report. Expected numbers are counted here from the raw report, independently of the
normalizer, or are the numbers the tool printed when the sample was made (SOURCES.md).
Variants a sample does not exercise (SARIF rule extensions, security-severity, suppressions,
multiple runs...) are made by editing a real sample, never by writing a report from scratch.
"""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET  # the project's own trusted fixtures
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from readypolicy.cli.main import cli
from readypolicy.evidence.interface import Artifact
from readypolicy.evidence.registry import detect
from support import ARTIFACTS

FORMATS = (
    "junit-xml", "pytest-json-report", "lcov", "coverage-py-json", "cobertura-xml", "semgrep-json", "sarif",
    "bandit-json", "pip-audit-json", "safety-json", "trivy-json", "grype-json", "osv-scanner-json", "cyclonedx-json",
    "spdx-json", "pip-licenses-json", "detect-secrets-baseline", "gitleaks-json",
)


def _samples(fmt: str) -> list[Path]:
    folder = ARTIFACTS / fmt
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("SOURCES"))


SAMPLES = [pytest.param(fmt, path, id=f"{fmt}/{path.name}") for fmt in FORMATS for path in _samples(fmt)]


def _load(relative: str) -> Any:
    return json.loads((ARTIFACTS / relative).read_text(encoding="utf-8"))


def ingest(tmp_path: Path, path: Path, *options: str) -> dict[str, Any]:
    """Ingest one artifact through the CLI and return the stored document as `evidence show` prints it."""
    store = str(tmp_path / "store.db")
    runner = CliRunner()
    stored = runner.invoke(cli, ["--store", store, "ingest", str(path), "-m", "demo", "-r", "r1", *options])
    assert stored.exit_code == 0, stored.stderr
    shown = runner.invoke(cli, ["--store", store, "evidence", "show", "-m", "demo", "--format", "json"])
    assert shown.exit_code == 0, shown.stderr
    document = json.loads(shown.stdout)
    assert isinstance(document, dict), "one artifact must give one document"
    return document


def write_json(tmp_path: Path, name: str, value: Any) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


# --- detection --------------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "path"), SAMPLES)
def test_every_sample_is_detected_as_its_format(fmt: str, path: Path) -> None:
    assert detect(Artifact(path=path, raw=path.read_bytes())).format == fmt


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_has_real_samples(fmt: str) -> None:
    assert _samples(fmt), f"no sample under tests/fixtures/artifacts/{fmt}/"


# --- tests ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["pytest-xunit1.xml", "pytest-xunit2.xml"])
def test_pytest_junit_counts_xfail_apart_from_skips(tmp_path: Path, name: str) -> None:
    path = ARTIFACTS / "junit-xml" / name
    cases = list(ET.parse(path).getroot().iter("testcase"))
    skipped_types = [s.get("type") for c in cases for s in c.findall("skipped")]
    doc = ingest(tmp_path, path, "--scope", "unit")
    # pytest printed: 1 failed, 7 passed (one of them the non-strict XPASS JUnit cannot mark), 1 skipped, 1 xfailed, 1 error
    assert doc["data"]["totals"] == {
        "tests": len(cases), "passed": 7, "failed": 1, "errors": 1,
        "skipped": skipped_types.count("pytest.skip"), "xfailed": skipped_types.count("pytest.xfail"), "xpassed": 0,
    }
    assert (doc["scope"], doc["producer"]["tool"]) == ("unit", "pytest")
    assert [c["outcome"] for c in doc["data"]["failed_cases"]] == ["failed", "error"]
    assert doc["collected_at"].endswith("Z")


def test_mypy_junit_is_one_check_that_fails_with_errors(tmp_path: Path) -> None:
    errors = ingest(tmp_path / "errors", ARTIFACTS / "junit-xml" / "mypy-errors.xml")
    clean = ingest(tmp_path / "clean", ARTIFACTS / "junit-xml" / "mypy-clean.xml")
    assert errors["producer"]["tool"] == clean["producer"]["tool"] == "mypy"
    assert (errors["data"]["totals"]["tests"], errors["data"]["totals"]["failed"]) == (1, 1)
    assert errors["data"]["failed_cases"][0]["message"] == "mypy produced messages"
    assert (clean["data"]["totals"]["passed"], clean["data"]["totals"]["failed"]) == (1, 0)


@pytest.mark.parametrize("path", [p for p in _samples("junit-xml") if p.name.startswith("surefire-")],
                         ids=lambda p: p.name)
def test_surefire_totals_match_the_suite_attributes(tmp_path: Path, path: Path) -> None:
    suite = ET.parse(path).getroot()
    doc = ingest(tmp_path, path)
    totals = doc["data"]["totals"]
    # Surefire's own attributes: tests includes skipped; failures and errors are separate.
    assert totals["tests"] == int(suite.get("tests", "-1"))
    assert totals["skipped"] == int(suite.get("skipped", "-1"))
    assert totals["failed"] == int(suite.get("failures", "-1"))
    assert totals["errors"] == int(suite.get("errors", "-1"))
    # The report's version attribute is its schema's version, not the plugin's: no tool version is claimed.
    assert doc["producer"] == {"tool": "maven-surefire", "version": None}


def test_pytest_json_report_keeps_xpassed(tmp_path: Path) -> None:
    report = _load("pytest-json-report/report.json")
    doc = ingest(tmp_path, ARTIFACTS / "pytest-json-report" / "report.json")
    summary = report["summary"]
    # pytest printed: 1 failed, 6 passed, 1 skipped, 1 xfailed, 1 xpassed, 1 error
    expected = {"passed": 6, "failed": 1, "errors": 1, "skipped": 1, "xfailed": 1, "xpassed": 1}
    assert {k: summary.get("error" if k == "errors" else k, 0) for k in expected} == expected
    assert doc["data"]["totals"] == {"tests": summary["total"], **expected}
    assert {c["name"] for c in doc["data"]["failed_cases"]} == {
        t["nodeid"].rpartition("::")[2] for t in report["tests"] if t["outcome"] in ("failed", "error")
    }
    assert sum(s["tests"] for s in doc["data"]["suites"]) == len(report["tests"])


def test_pytest_json_report_without_tests_uses_the_summary(tmp_path: Path) -> None:
    report = _load("pytest-json-report/report.json")
    del report["tests"]  # what --json-report-summary writes
    doc = ingest(tmp_path, write_json(tmp_path, "summary-only.json", report))
    assert doc["format"] == "pytest-json-report"
    assert doc["data"]["totals"]["xpassed"] == 1 and doc["data"]["totals"]["tests"] == 11


# --- coverage ---------------------------------------------------------------------------------


def test_lcov_sums_the_summary_records(tmp_path: Path) -> None:
    text = (ARTIFACTS / "lcov" / "coverage.lcov").read_text(encoding="utf-8")
    records = [line.split(":", 1) for line in text.splitlines() if ":" in line]
    total = {tag: sum(int(v) for t, v in records if t == tag) for tag in ("LF", "LH", "BRF", "BRH")}
    data = ingest(tmp_path, ARTIFACTS / "lcov" / "coverage.lcov")["data"]
    assert (data["lines_total"], data["lines_covered"]) == (total["LF"], total["LH"]) == (41, 34)
    assert (data["branches_total"], data["branches_covered"]) == (total["BRF"], total["BRH"]) == (20, 11)
    assert data["files"] == sum(1 for t, _ in records if t == "SF")
    assert (data["line_percent"], data["branch_percent"]) == (82.93, 55.0)


def test_lcov_merges_a_file_traced_twice(tmp_path: Path) -> None:
    text = (ARTIFACTS / "lcov" / "coverage.lcov").read_text(encoding="utf-8")
    doubled = write_json(tmp_path, "twice.lcov", None)
    doubled.write_text(text + text, encoding="utf-8")  # two test runs over the same sources (lcov -a input)
    data = ingest(tmp_path, doubled)["data"]
    assert (data["lines_total"], data["lines_covered"], data["files"]) == (41, 34, 4)


def test_coverage_py_json_keeps_lines_and_branches_apart(tmp_path: Path) -> None:
    totals = _load("coverage-py-json/coverage.json")["totals"]
    data = ingest(tmp_path, ARTIFACTS / "coverage-py-json" / "coverage.json")["data"]
    # coverage report printed 74% (statements and branches blended); the line rate alone is 83%.
    assert round(totals["percent_covered"]) == 74
    assert data["line_percent"] == round(totals["percent_statements_covered"], 2) == 82.93
    assert data["branch_percent"] == round(totals["percent_branches_covered"], 2) == 55.0
    assert (data["branches_covered"], data["branches_total"]) == (totals["covered_branches"], totals["num_branches"])


def test_three_coverage_formats_of_one_run_agree(tmp_path: Path) -> None:
    keys = ("line_percent", "lines_covered", "lines_total", "branch_percent", "branches_covered", "branches_total", "files")
    readings = {
        fmt: {k: ingest(tmp_path / fmt, ARTIFACTS / fmt / name)["data"][k] for k in keys}
        for fmt, name in (("lcov", "coverage.lcov"), ("coverage-py-json", "coverage.json"), ("cobertura-xml", "coverage.xml"))
    }
    assert readings["lcov"] == readings["coverage-py-json"] == readings["cobertura-xml"]


# --- sast -------------------------------------------------------------------------------------


def _finding_keys(data: dict[str, Any]) -> list[tuple[str, str, str, int]]:
    return sorted((f["rule"], f["severity"], f["file"], f["line"]) for f in data["findings"])


def test_semgrep_json_and_sarif_of_one_scan_agree(tmp_path: Path) -> None:
    raw = _load("semgrep-json/semgrep.json")
    as_json = ingest(tmp_path / "json", ARTIFACTS / "semgrep-json" / "semgrep.json")
    as_sarif = ingest(tmp_path / "sarif", ARTIFACTS / "sarif" / "semgrep.sarif")
    words = [r["extra"]["severity"] for r in raw["results"]]
    assert as_json["data"]["counts"] == {"critical": 0, "high": words.count("ERROR"), "medium": words.count("WARNING"),
                                         "low": words.count("INFO"), "info": 0}
    assert as_json["data"]["total"] == len(raw["results"]) == 3
    assert _finding_keys(as_json["data"]) == _finding_keys(as_sarif["data"])
    assert as_json["scope"] == as_sarif["scope"] == "semgrep"
    assert as_sarif["producer"] == {"tool": "Semgrep OSS", "version": "1.185.0"}


def test_bandit_json_and_sarif_of_one_scan_agree(tmp_path: Path) -> None:
    raw = _load("bandit-json/bandit.json")
    as_json = ingest(tmp_path / "json", ARTIFACTS / "bandit-json" / "bandit.json")
    as_sarif = ingest(tmp_path / "sarif", ARTIFACTS / "sarif" / "bandit.sarif")
    severities = [r["issue_severity"] for r in raw["results"]]
    assert as_json["data"]["counts"]["high"] == severities.count("HIGH") == 1
    assert as_json["data"]["counts"]["low"] == severities.count("LOW") == 3
    assert _finding_keys(as_json["data"]) == _finding_keys(as_sarif["data"])
    assert as_json["data"]["scan_errors"] == len(raw["errors"]) == 0
    assert as_json["scope"] == as_sarif["scope"] == "bandit"


def test_ruff_sarif_levels_and_file_uris(tmp_path: Path) -> None:
    raw = _load("sarif/ruff.sarif")
    data = ingest(tmp_path / "as-is", ARTIFACTS / "sarif" / "ruff.sarif")["data"]
    results = raw["runs"][0]["results"]
    assert data["total"] == len(results) == 5
    uris = sorted(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results)
    assert sorted(f["file"] for f in data["findings"]) == [uri.removeprefix("file://") for uri in uris]
    assert data["tool"] == "ruff"
    # ruff is a linter, so its levels grade only rules tagged as security ones (untagged: see
    # test_fidelity_security_coverage.py); tagged, every `error` is high.
    for rule in raw["runs"][0]["tool"]["driver"]["rules"]:
        rule["properties"]["tags"] = ["security"]
    tagged = ingest(tmp_path / "tagged", write_json(tmp_path, "tagged.sarif", raw))["data"]
    assert tagged["counts"]["high"] == sum(1 for r in results if r["level"] == "error") == 5


def test_gitleaks_sarif_without_levels_is_warning(tmp_path: Path) -> None:
    raw = _load("sarif/gitleaks.sarif")
    rules = {r["id"]: r for r in raw["runs"][0]["tool"]["driver"]["rules"]}
    results = raw["runs"][0]["results"]
    assert all("level" not in r and "defaultConfiguration" not in rules[r["ruleId"]] for r in results)
    data = ingest(tmp_path, ARTIFACTS / "sarif" / "gitleaks.sarif")["data"]
    assert data["counts"]["medium"] == data["total"] == len(results) == 2  # SARIF's default level is warning


def test_sarif_level_comes_from_the_rule_default(tmp_path: Path) -> None:
    raw = _load("sarif/semgrep.sarif")
    rules = {r["id"]: r["defaultConfiguration"]["level"] for r in raw["runs"][0]["tool"]["driver"]["rules"]}
    data = ingest(tmp_path, ARTIFACTS / "sarif" / "semgrep.sarif")["data"]
    expected = {"error": "high", "warning": "medium", "note": "low"}
    assert {f["rule"]: f["severity"] for f in data["findings"]} == {
        r["ruleId"]: expected[rules[r["ruleId"]]] for r in raw["runs"][0]["results"]
    }


def test_sarif_security_severity_overrides_level(tmp_path: Path) -> None:
    raw = _load("sarif/semgrep.sarif")
    scores = {"assert-used-for-validation": "9.8", "hardcoded-aws-key": "4.0", "subprocess-shell-true": "0.5"}
    for rule in raw["runs"][0]["tool"]["driver"]["rules"]:
        rule["properties"]["security-severity"] = scores[rule["id"]]
    data = ingest(tmp_path, write_json(tmp_path, "scored.sarif", raw))["data"]
    assert {f["rule"]: f["severity"] for f in data["findings"]} == {
        "assert-used-for-validation": "critical", "hardcoded-aws-key": "medium", "subprocess-shell-true": "low",
    }


def test_sarif_rules_in_extensions_found_by_id_and_by_index(tmp_path: Path) -> None:
    raw = _load("sarif/bandit.sarif")
    run = raw["runs"][0]
    rules = run["tool"]["driver"].pop("rules")
    for rule in rules:
        rule["defaultConfiguration"] = {"level": "error"}
    run["tool"]["extensions"] = [{"name": "bandit-plugins", "rules": rules}]
    for number, result in enumerate(run["results"]):
        index = result.pop("ruleIndex")
        result.pop("level")
        if number % 2:  # half by reference to the extension, half by id alone
            result["rule"] = {"id": result["ruleId"], "index": index, "toolComponent": {"index": 0}}
    data = ingest(tmp_path, write_json(tmp_path, "ext.sarif", raw))["data"]
    assert data["counts"]["high"] == data["total"] == len(run["results"])


def test_sarif_multiple_runs_suppressions_and_scan_errors(tmp_path: Path) -> None:
    bandit, semgrep = _load("sarif/bandit.sarif"), _load("sarif/semgrep.sarif")
    combined = copy.deepcopy(semgrep)
    combined["runs"].append(bandit["runs"][0])
    semgrep_run = combined["runs"][0]
    semgrep_run["results"][0]["suppressions"] = [{"kind": "inSource", "status": "accepted"}]
    semgrep_run["results"][1]["suppressions"] = [{"kind": "external", "status": "underReview"}]
    semgrep_run["invocations"][0]["toolExecutionNotifications"] = [
        {"level": "error", "message": {"text": "Syntax error"}}, {"level": "warning", "message": {"text": "slow"}},
    ]
    data = ingest(tmp_path, write_json(tmp_path, "two-runs.sarif", combined))["data"]
    assert data["total"] == len(semgrep["runs"][0]["results"]) - 1 + len(bandit["runs"][0]["results"]) == 6
    assert (data["suppressed"], data["scan_errors"]) == (1, 1)
    assert data["tool"] == "bandit+semgrep"
    assert {f["tool"] for f in data["findings"]} == {"bandit", "semgrep"}


# --- dependencies -----------------------------------------------------------------------------


def test_pip_audit_skipped_dependencies_are_not_audited(tmp_path: Path) -> None:
    for name in ("environment-pypi.json", "requirements-pypi.json"):
        raw = _load(f"pip-audit-json/{name}")
        doc = ingest(tmp_path / name, ARTIFACTS / "pip-audit-json" / name)
        data = doc["data"]
        assert data["audited"] == sum(1 for d in raw["dependencies"] if "skip_reason" not in d) == 0
        assert [s["name"] for s in data["skipped"]] == [d["name"] for d in raw["dependencies"]]
        assert data["total"] == 0
    assert {s["name"]: s["version"] for s in data["skipped"]}["idna"] == "2.7"


def test_pip_audit_vulnerabilities_are_unrated_high(tmp_path: Path) -> None:
    raw = _load("pip-audit-json/upstream-defectdojo-many_vulns_new.json")
    data = ingest(tmp_path, ARTIFACTS / "pip-audit-json" / "upstream-defectdojo-many_vulns_new.json")["data"]
    expected = [(v["id"], d["name"]) for d in raw["dependencies"] for v in d.get("vulns", [])]
    assert [(v["id"], v["package"]) for v in data["vulnerabilities"]] == expected
    assert data["total"] == len(expected) == 7
    assert data["counts"] == {"critical": 0, "high": 7, "medium": 0, "low": 0, "info": 0}
    assert {v["severity_source"] for v in data["vulnerabilities"]} == {"unrated"}
    assert data["audited"] == sum(1 for d in raw["dependencies"] if "skip_reason" not in d)
    assert [s["name"] for s in data["skipped"]] == [d["name"] for d in raw["dependencies"] if "skip_reason" in d]
    django = next(v for v in data["vulnerabilities"] if v["package"] == "django")
    assert django["fix_versions"] == ["2.2.25", "3.1.14", "3.2.10"]


def test_safety_1x_list(tmp_path: Path) -> None:
    rows = _load("safety-json/safety-1.10.3.json")
    data = ingest(tmp_path, ARTIFACTS / "safety-json" / "safety-1.10.3.json")["data"]
    assert [(v["id"], v["package"], v["version"]) for v in data["vulnerabilities"]] == [(r[4], r[0], r[2]) for r in rows]
    assert data["total"] == 2 and data["counts"]["high"] == 2
    assert data["audited_complete"] is False and data["audited"] == len({r[0] for r in rows})


def test_safety_2x_report(tmp_path: Path) -> None:
    raw = _load("safety-json/upstream-safety-2.0b1-report.json")
    doc = ingest(tmp_path, ARTIFACTS / "safety-json" / "upstream-safety-2.0b1-report.json")
    data = doc["data"]
    assert data["audited"] == raw["report_meta"]["packages_found"] == 50
    assert [v["id"] for v in data["vulnerabilities"]] == [v["vulnerability_id"] for v in raw["vulnerabilities"]]
    assert data["vulnerabilities"][0]["fix_versions"] == []  # safety wrote [""]
    assert doc["producer"] == {"tool": "safety", "version": "2.0b1"}


def test_safety_2x_cvss_rating_and_ignored(tmp_path: Path) -> None:
    raw = _load("safety-json/upstream-safety-2.0b1-report.json")
    rated = copy.deepcopy(raw["vulnerabilities"][0])
    rated["severity"] = {"source": "nvd", "cvssv2": None, "cvssv3": {"base_score": 9.1, "base_severity": None}}
    ignored = copy.deepcopy(raw["vulnerabilities"][0]) | {"vulnerability_id": "99999", "ignored": True}
    raw["vulnerabilities"] = [rated, ignored]
    data = ingest(tmp_path, write_json(tmp_path, "safety-report.json", raw))["data"]
    assert [(v["severity"], v["severity_source"], v["cvss_score"]) for v in data["vulnerabilities"]] == [
        ("critical", "cvss", 9.1)]


def test_trivy_vulnerabilities_and_listed_packages(tmp_path: Path) -> None:
    raw = _load("trivy-json/trivy-upstream-pip-vulns.json")
    data = ingest(tmp_path, ARTIFACTS / "trivy-json" / "trivy-upstream-pip-vulns.json")["data"]
    vulns = [v for r in raw["Results"] for v in r.get("Vulnerabilities", [])]
    assert data["total"] == len(vulns) == 2
    words = [v["Severity"] for v in vulns]
    assert (data["counts"]["high"], data["counts"]["medium"]) == (words.count("HIGH"), words.count("MEDIUM"))
    assert data["audited"] == sum(len(r.get("Packages", [])) for r in raw["Results"]) == 7
    assert data["audited_complete"] is True


def test_trivy_report_without_a_vulnerability_scan_is_refused(tmp_path: Path) -> None:
    path = ARTIFACTS / "trivy-json" / "trivy-fs-secret-misconfig.json"  # trivy fs --scanners secret,misconfig
    result = CliRunner().invoke(cli, ["--store", str(tmp_path / "s.db"), "ingest", str(path), "-m", "demo"])
    assert result.exit_code == 2
    assert "no vulnerability scan" in result.stderr and str(path) in result.stderr


def test_trivy_sarif_grades_by_security_severity(tmp_path: Path) -> None:
    raw = _load("trivy-json/trivy-fs-secret-misconfig.json")  # the same scan, as JSON
    words = [item["Severity"].lower() for r in raw["Results"]
             for item in r.get("Misconfigurations", []) + r.get("Secrets", [])]
    data = ingest(tmp_path, ARTIFACTS / "sarif" / "trivy.sarif")["data"]
    assert data["counts"] == {level: words.count(level) for level in ("critical", "high", "medium", "low", "info")}
    assert data["total"] == len(words) == 5


def test_grype_tool_word_wins_over_cvss(tmp_path: Path) -> None:
    raw = _load("grype-json/grype-upstream-dirs-presenter.json")
    data = ingest(tmp_path, ARTIFACTS / "grype-json" / "grype-upstream-dirs-presenter.json")["data"]
    assert [(v["id"], v["severity"]) for v in data["vulnerabilities"]] == [
        (m["vulnerability"]["id"], m["vulnerability"]["severity"].lower()) for m in raw["matches"]]
    assert data["counts"] == {"critical": 1, "high": 0, "medium": 0, "low": 1, "info": 0}
    assert data["audited_complete"] is False


@pytest.mark.parametrize("path", _samples("osv-scanner-json"), ids=lambda p: p.name)
def test_osv_scanner_counts_alias_groups(tmp_path: Path, path: Path) -> None:
    raw = json.loads(path.read_text(encoding="utf-8"))
    data = ingest(tmp_path, path)["data"]
    packages = [p for r in raw["results"] for p in r.get("packages", [])]
    groups = sum(len(p.get("groups") or p.get("vulnerabilities") or []) for p in packages)
    assert data["total"] == groups
    ids = {v["id"] for p in packages for v in p.get("vulnerabilities", [])}
    assert {v["id"] for v in data["vulnerabilities"]} <= ids
    scores = [float(g["max_severity"]) for p in packages for g in p.get("groups", []) if g.get("max_severity")]
    assert data["counts"]["high"] == sum(1 for s in scores if 7.0 <= s < 9.0)
    assert data["counts"]["critical"] == sum(1 for s in scores if s >= 9.0)


def test_osv_scanner_offline_sample(tmp_path: Path) -> None:
    data = ingest(tmp_path, ARTIFACTS / "osv-scanner-json" / "osv-scanner-offline.json")["data"]
    # osv-scanner printed two vulnerabilities (regex 1.5.1: CVSS 7.5, gogo/protobuf 1.3.1: CVSS 8.6), both fixed upstream.
    assert [(v["package"], v["severity"], v["cvss_score"], v["fix_versions"]) for v in data["vulnerabilities"]] == [
        ("regex", "high", 7.5, ["1.5.5"]), ("github.com/gogo/protobuf", "high", 8.6, ["1.3.2"])]
    assert "CVE-2022-24713" in data["vulnerabilities"][0]["aliases"]


# --- sbom -------------------------------------------------------------------------------------


def _cdx_components(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for component in components:
        if component.get("type") != "file":
            found.append(component)
        found.extend(_cdx_components(component.get("components", [])))
    return found


@pytest.mark.parametrize("path", _samples("cyclonedx-json"), ids=lambda p: p.name)
def test_cyclonedx_inventory(tmp_path: Path, path: Path) -> None:
    raw = json.loads(path.read_text(encoding="utf-8"))
    data = ingest(tmp_path, path)["data"]
    components = _cdx_components(raw.get("components", []))
    root = raw.get("metadata", {}).get("component")
    assert data["spec_version"] == raw["specVersion"]
    assert data["components"] == len(components)
    assert data["has_root_component"] is (root is not None)
    assert data["root_component"] == (None if root is None else {"name": root["name"], "version": root.get("version")})
    assert data["components_without_license"] == sum(1 for c in components if not c.get("licenses"))


def test_cyclonedx_python_environment_numbers(tmp_path: Path) -> None:
    for version in ("1.4", "1.5", "1.6"):
        doc = ingest(tmp_path / version, ARTIFACTS / "cyclonedx-json" / f"environment-{version}.json")
        data = doc["data"]
        assert (data["components"], data["components_without_license"]) == (9, 0)
        assert data["root_component"] == {"name": "rpsample", "version": "0.3.1"}
        assert {"MIT", "BSD-3-Clause", "MPL-2.0"} <= set(data["licenses"])
        assert doc["producer"] == {"tool": "cyclonedx-py", "version": "7.5.0"}
    no_root = ingest(tmp_path / "no-root", ARTIFACTS / "cyclonedx-json" / "requirements-1.6-no-root.json")["data"]
    assert (no_root["has_root_component"], no_root["root_component"]) == (False, None)


def test_spdx_root_is_the_described_package(tmp_path: Path) -> None:
    raw = _load("spdx-json/syft-nativeproject.spdx.json")
    described = {r["relatedSpdxElement"] for r in raw["relationships"]
                 if r["relationshipType"] == "DESCRIBES" and r["spdxElementId"] == "SPDXRef-DOCUMENT"}
    root = next(p for p in raw["packages"] if p["SPDXID"] in described)
    doc = ingest(tmp_path, ARTIFACTS / "spdx-json" / "syft-nativeproject.spdx.json")
    data = doc["data"]
    assert data["root_component"] == {"name": root["name"], "version": root["versionInfo"]} == {
        "name": "nativeproject", "version": "0.1.0"}
    assert data["components"] == len(raw["packages"]) - 1
    assert data["spec_version"] == "2.3"
    assert doc["producer"] == {"tool": "syft", "version": "1.57.1"}


def test_syft_spdx_and_cyclonedx_of_one_scan_agree(tmp_path: Path) -> None:
    spdx = ingest(tmp_path / "spdx", ARTIFACTS / "spdx-json" / "syft-nativeproject.spdx.json")["data"]
    cdx = ingest(tmp_path / "cdx", ARTIFACTS / "cyclonedx-json" / "syft-nativeproject.cdx.json")["data"]
    keys = ("components", "has_root_component", "root_component", "components_without_license")
    assert {k: spdx[k] for k in keys} == {k: cdx[k] for k in keys}


def test_spdx_root_via_document_describes(tmp_path: Path) -> None:
    raw = _load("spdx-json/syft-nativeproject.spdx.json")
    root_id = next(r["relatedSpdxElement"] for r in raw["relationships"] if r["relationshipType"] == "DESCRIBES")
    raw["relationships"] = [r for r in raw["relationships"] if r["relationshipType"] != "DESCRIBES"]
    raw["documentDescribes"] = [root_id]  # how SPDX 2.2 writers name the root
    data = ingest(tmp_path, write_json(tmp_path, "describes.spdx.json", raw))["data"]
    assert data["root_component"] == {"name": "nativeproject", "version": "0.1.0"}


# --- licenses and secrets ---------------------------------------------------------------------


def test_pip_licenses(tmp_path: Path) -> None:
    rows = _load("pip-licenses-json/pip-licenses.json")
    data = ingest(tmp_path, ARTIFACTS / "pip-licenses-json" / "pip-licenses.json")["data"]
    assert data["packages"] == len(rows) == 8
    assert data["by_license"]["BSD License"] == sum(1 for r in rows if r["License"] == "BSD License") == 2
    assert sum(data["by_license"].values()) == len(rows)
    assert data["items"][0] == {"name": rows[0]["Name"], "version": rows[0]["Version"], "license": rows[0]["License"]}


def _stored_text(doc: dict[str, Any]) -> str:
    return json.dumps(doc)


def test_detect_secrets_baseline_keeps_no_hashes(tmp_path: Path) -> None:
    raw = _load("detect-secrets-baseline/.secrets.baseline")
    doc = ingest(tmp_path, ARTIFACTS / "detect-secrets-baseline" / ".secrets.baseline")
    results = [r for rows in raw["results"].values() for r in rows]
    assert doc["data"]["total"] == len(results) == 4
    assert [(f["rule"], f["line"]) for f in doc["data"]["findings"]] == [(r["type"], r["line_number"]) for r in results]
    assert not any(r["hashed_secret"] in _stored_text(doc) for r in results)
    assert doc["scope"] == "detect-secrets"


def test_detect_secrets_audited_false_positives_are_dismissed(tmp_path: Path) -> None:
    raw = _load("detect-secrets-baseline/.secrets.baseline")
    next(iter(raw["results"].values()))[0]["is_secret"] = False  # what `detect-secrets audit` records
    data = ingest(tmp_path, write_json(tmp_path, ".secrets.baseline", raw))["data"]
    assert (data["total"], data["dismissed"]) == (3, 1)


def test_gitleaks_keeps_location_not_secret(tmp_path: Path) -> None:
    leaks = _load("gitleaks-json/gitleaks-detect.json")
    doc = ingest(tmp_path, ARTIFACTS / "gitleaks-json" / "gitleaks-detect.json")
    assert [(f["rule"], f["file"], f["line"]) for f in doc["data"]["findings"]] == [
        (leak["RuleID"], leak["File"], leak["StartLine"]) for leak in leaks]
    assert doc["data"]["total"] == 2
    assert not {"Secret", "Match", "Fingerprint"} & {k for f in doc["data"]["findings"] for k in f}


def test_clean_gitleaks_report_needs_its_name_or_format(tmp_path: Path) -> None:
    named = tmp_path / "gitleaks-report.json"
    named.write_text("[]\n", encoding="utf-8")
    assert ingest(tmp_path / "a", named)["data"]["total"] == 0
    anonymous = tmp_path / "report.json"
    anonymous.write_text("[]\n", encoding="utf-8")
    refused = CliRunner().invoke(cli, ["--store", str(tmp_path / "s.db"), "ingest", str(anonymous), "-m", "demo"])
    assert refused.exit_code == 2 and str(anonymous) in refused.stderr  # not silently stored as a clean secret scan
    assert ingest(tmp_path / "b", anonymous, "--format", "gitleaks-json")["data"]["total"] == 0


def test_scanners_get_their_own_scopes(tmp_path: Path) -> None:
    store = str(tmp_path / "store.db")
    runner = CliRunner()
    paths = [ARTIFACTS / "bandit-json" / "bandit.json", ARTIFACTS / "semgrep-json" / "semgrep.json",
             ARTIFACTS / "sarif" / "ruff.sarif"]
    result = runner.invoke(cli, ["--store", store, "ingest", *map(str, paths), "-m", "demo", "-r", "r1"])
    assert result.exit_code == 0, result.stderr
    listed = json.loads(runner.invoke(cli, ["--store", store, "evidence", "list", "-m", "demo", "--format", "json"]).stdout)
    assert sorted(row["scope"] for row in listed) == ["bandit", "ruff", "semgrep"]
