"""From a reports folder or an evidence contract to stored evidence in one command, attacked.

Each test drives the real CLI (a subprocess) against real tool outputs, then reads the store back;
expected counts come from the raw reports (ElementTree, json), never from the normalizers.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from xml.etree import ElementTree

import pytest

from support import ARTIFACTS, OPA, REPO, require_opa, run_cli

SAMPLES = REPO / "evidence_samples"
PASSING_JUNIT = SAMPLES / "payments" / "unit" / "junit.xml"
FAILING_JUNIT = ARTIFACTS / "junit-xml" / "pytest-xunit2.xml"
COVERAGE = ARTIFACTS / "coverage-py-json" / "coverage.json"
MANIFEST = """\
module: payments
owner: team-payments
lanes: {current: candidate, target: integration}
"""


def env_for(project: Path) -> dict[str, str]:
    return {"READYPOLICY_STORE": str(project / "store.db"), "READYPOLICY_OPA": str(OPA),
            "READYPOLICY_POLICIES": str(REPO / "policies")}


def stored(project: Path) -> list[tuple[str, str, str]]:
    """(kind, scope, source path) of every evidence row, read straight from SQLite."""
    db = project / "store.db"
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        return sorted(conn.execute("SELECT kind, scope, source_path FROM evidence").fetchall())


def junit_totals(path: Path) -> tuple[int, int]:
    """(tests, failed + errors) summed over the testsuites of a raw JUnit file."""
    root = ElementTree.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    tests = sum(int(s.get("tests", 0)) for s in suites)
    bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    return tests, bad


def write_contract(project: Path, evidence: str) -> Path:
    manifest = project / "module.lane.yaml"
    manifest.write_text(MANIFEST + "evidence:\n" + evidence, encoding="utf-8")
    return manifest


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "reports" / "unit").mkdir(parents=True)
    (root / "reports" / "smoke").mkdir()
    shutil.copy2(PASSING_JUNIT, root / "reports" / "unit" / "junit.xml")
    shutil.copy2(FAILING_JUNIT, root / "reports" / "smoke" / "junit.xml")
    shutil.copy2(COVERAGE, root / "reports" / "coverage.json")
    return root


# --- the evidence contract ---------------------------------------------------------------------------


def test_contract_ingests_exactly_the_declared_reports_with_their_scopes(project: Path) -> None:
    """An undeclared report lying next to the declared ones is not ingested: the contract is exact."""
    shutil.copy2(FAILING_JUNIT, project / "reports" / "unit" / "extra.xml")
    manifest = write_contract(project, """\
  - {path: reports/unit/junit.xml, kind: tests, scope: unit}
  - {path: "reports/smoke/*.xml", kind: tests, scope: smoke}
  - {path: reports/coverage.json}
""")
    done = run_cli("ingest", "--contract", manifest, "--revision", "r1", cwd=project, env=env_for(project))
    assert done.returncode == 0, done.stderr
    assert stored(project) == sorted([
        ("manifest", "default", str(manifest)),
        ("tests", "unit", str(project / "reports" / "unit" / "junit.xml")),
        ("tests", "smoke", str(project / "reports" / "smoke" / "junit.xml")),
        ("coverage", "default", str(project / "reports" / "coverage.json")),
    ])


def test_contract_paths_are_relative_to_the_manifest_not_the_working_directory(project: Path, tmp_path: Path) -> None:
    manifest = write_contract(project, "  - {path: reports/coverage.json}\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "reports").mkdir()  # a decoy with the same relative path must not be read
    (elsewhere / "reports" / "coverage.json").write_text("{}", encoding="utf-8")
    done = run_cli("ingest", "--contract", manifest, cwd=elsewhere, env=env_for(project))
    assert done.returncode == 0, done.stderr
    assert ("coverage", "default", str(project / "reports" / "coverage.json")) in stored(project)


def test_a_declared_report_that_is_missing_fails_the_batch_and_names_every_one(project: Path) -> None:
    """A report CI forgot to write must stop the job here, not surface later as a quiet `missing` check."""
    manifest = write_contract(project, """\
  - {path: reports/unit/junit.xml, kind: tests, scope: unit}
  - {path: reports/integration/junit.xml, kind: tests, scope: integration}
  - {path: "reports/perf/*.json", kind: perf}
""")
    done = run_cli("ingest", "--contract", manifest, cwd=project, env=env_for(project))
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert "reports/integration/junit.xml" in line and "reports/perf/*.json" in line
    assert "reports/unit/junit.xml" not in line.split("matched no file:")[1]
    assert stored(project) == []  # nothing half-written: not even the manifest


@pytest.mark.parametrize("path", ["../outside/junit.xml", "/etc/passwd", "reports/../../x.xml", "C:\\\\reports\\\\j.xml"])
def test_a_contract_cannot_reach_outside_the_manifests_folder(project: Path, path: str) -> None:
    manifest = write_contract(project, f"  - {{path: {json.dumps(path)}, kind: tests}}\n")
    done = run_cli("ingest", "--contract", manifest, cwd=project, env=env_for(project))
    assert done.returncode == 2
    assert "must stay inside the manifest's directory" in done.stderr
    assert stored(project) == []


def test_a_declared_kind_is_enforced(project: Path) -> None:
    """A coverage report declared as the unit tests is refused, not stored as coverage (or as passing tests)."""
    manifest = write_contract(project, "  - {path: reports/coverage.json, kind: tests, scope: unit}\n")
    done = run_cli("ingest", "--contract", manifest, cwd=project, env=env_for(project))
    assert done.returncode == 2
    assert "not a tests artifact" in done.stderr
    assert stored(project) == []


@pytest.mark.parametrize(("evidence", "problem"), [
    ("  - {path: reports/coverage.json}\n  - {path: \"reports/*.json\"}\n", "listed twice"),
    ("  - {path: reports/unit}\n", "is a directory"),
    ("  - {path: reports/coverage.json, scpoe: unit}\n", "unknown keys scpoe"),
    ("  - reports/coverage.json\n", "must be a mapping"),
    ("  []\n", "non-empty list"),
])
def test_a_malformed_contract_is_one_clear_error(project: Path, evidence: str, problem: str) -> None:
    manifest = write_contract(project, evidence)
    done = run_cli("ingest", "--contract", manifest, cwd=project, env=env_for(project))
    assert done.returncode == 2, done.stdout
    [line] = done.stderr.strip().splitlines()
    assert problem in line and str(project) in line
    assert stored(project) == []


def test_a_manifest_without_a_contract_is_refused_by_contract_ingest(project: Path) -> None:
    manifest = project / "module.lane.yaml"
    manifest.write_text(MANIFEST, encoding="utf-8")
    done = run_cli("ingest", "--contract", manifest, cwd=project, env=env_for(project))
    assert done.returncode == 2
    assert "declares no evidence" in done.stderr


@pytest.mark.parametrize("extra", [["reports/coverage.json"], ["--scope", "unit"], ["--strict"]])
def test_contract_does_not_mix_with_paths_or_labels(project: Path, extra: list[str]) -> None:
    manifest = write_contract(project, "  - {path: reports/coverage.json}\n")
    done = run_cli("ingest", "--contract", manifest, *extra, cwd=project, env=env_for(project))
    assert done.returncode == 2
    assert stored(project) == []


def test_the_sample_contracts_give_the_verdicts_the_samples_promise(tmp_path: Path) -> None:
    """make demo ingests by contract: payments is ready for production, ledger is not ready for integration
    (its raw coverage.py report is under the 90% integration requires)."""
    require_opa()
    env = env_for(tmp_path)
    for module in ("payments", "ledger"):
        done = run_cli("ingest", "--contract", SAMPLES / module / "module.lane.yaml", "--revision", "r1", cwd=REPO, env=env)
        assert done.returncode == 0, done.stderr
    ready = run_cli("eval", "--module", "payments", "--lane", "production", "--no-record", cwd=REPO, env=env)
    assert ready.returncode == 0, ready.stdout + ready.stderr
    coverage = json.loads((SAMPLES / "ledger" / "coverage.json").read_text(encoding="utf-8"))["totals"]["percent_covered"]
    assert coverage < 90
    blocked = run_cli("eval", "--module", "ledger", "--lane", "integration", "--format", "json", "--no-record",
                      cwd=REPO, env=env)
    assert blocked.returncode == 1, blocked.stderr
    failing = {c["id"] for c in json.loads(blocked.stdout)["checks"] if c["status"] in ("fail", "missing")}
    assert failing == {"coverage.line", "perf.slo"}


# --- folder ingest -------------------------------------------------------------------------------


def test_folder_ingest_takes_the_scope_from_the_first_folder_so_checks_find_the_reports(project: Path) -> None:
    """The issue: unit and smoke JUnit files used to land in tests/default and the checks showed MISSING."""
    require_opa()
    env = env_for(project)
    (project / "module.lane.yaml").write_text(MANIFEST, encoding="utf-8")
    assert run_cli("ingest", "module.lane.yaml", "--revision", "r1", cwd=project, env=env).returncode == 0
    done = run_cli("ingest", "reports", "--module", "payments", "--revision", "r1", cwd=project, env=env)
    assert done.returncode == 0, done.stderr
    rows = stored(project)
    assert ("tests", "unit", "reports/unit/junit.xml") in rows
    assert ("tests", "smoke", "reports/smoke/junit.xml") in rows
    assert ("coverage", "default", "reports/coverage.json") in rows  # top-level file: the normalizer's slot
    result = run_cli("eval", "--module", "payments", "--revision", "r1", "--lane", "candidate", "--format", "json",
                     "--no-record", cwd=project, env=env)
    assert result.returncode == 1, result.stderr
    statuses = {c["id"]: c["status"] for c in json.loads(result.stdout)["checks"]}
    for check, report in (("tests.unit", PASSING_JUNIT), ("tests.smoke", FAILING_JUNIT)):
        _tests, bad = junit_totals(report)
        assert statuses[check] == ("fail" if bad else "pass"), check


def test_folder_ingest_lists_what_it_skipped_and_why(project: Path) -> None:
    (project / "reports" / "notes.txt").write_text("not a report\n", encoding="utf-8")
    done = run_cli("ingest", "reports", "--module", "payments", cwd=project, env=env_for(project))
    assert done.returncode == 0, done.stderr
    skipped = [line for line in done.stderr.splitlines() if line.startswith("skipped")]
    assert skipped == ["skipped   reports/notes.txt: unrecognized artifact format; pass --kind or --format"]
    assert len(stored(project)) == 3


def test_strict_folder_ingest_refuses_an_unknown_file_and_stores_nothing(project: Path) -> None:
    (project / "reports" / "unit" / "notes.txt").write_text("not a report\n", encoding="utf-8")
    done = run_cli("ingest", "reports", "--module", "payments", "--strict", cwd=project, env=env_for(project))
    assert done.returncode == 2
    assert "reports/unit/notes.txt" in done.stderr and "--strict" in done.stderr
    assert stored(project) == []


def test_a_broken_report_in_a_folder_fails_the_batch_instead_of_being_skipped(project: Path) -> None:
    """Truncating a failing JUnit file must not make it 'unknown' and let it vanish from the verdict."""
    text = FAILING_JUNIT.read_text(encoding="utf-8")
    (project / "reports" / "smoke" / "junit.xml").write_text(text[: len(text) // 2], encoding="utf-8")
    done = run_cli("ingest", "reports", "--module", "payments", cwd=project, env=env_for(project))
    assert done.returncode == 2
    assert "reports/smoke/junit.xml" in done.stderr
    assert stored(project) == []


def test_a_symlink_in_a_folder_is_skipped_not_followed(project: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.xml"
    shutil.copy2(PASSING_JUNIT, outside)
    (project / "reports" / "unit" / "junit.xml").unlink()
    (project / "reports" / "unit" / "junit.xml").symlink_to(outside)
    done = run_cli("ingest", "reports", "--module", "payments", cwd=project, env=env_for(project))
    assert done.returncode == 0, done.stderr
    assert "skipped   reports/unit/junit.xml: symbolic link" in done.stderr
    assert not [row for row in stored(project) if row[1] == "unit"]


def test_a_folder_of_documents_is_only_a_docs_listing_when_asked(tmp_path: Path) -> None:
    """`ingest docs/` used to store any folder as a docs listing; now only `--kind docs` does."""
    project = tmp_path / "project"
    shutil.copytree(SAMPLES / "payments" / "docs", project / "docs")
    env = env_for(project)
    walked = run_cli("ingest", "docs", "--module", "payments", cwd=project, env=env)
    assert walked.returncode == 2
    assert "no evidence found" in walked.stderr and "--kind docs" in walked.stderr
    assert walked.stderr.count("skipped   docs/") == 3
    assert stored(project) == []
    listed = run_cli("ingest", "docs", "--module", "payments", "--kind", "docs", cwd=project, env=env)
    assert listed.returncode == 0, listed.stderr
    assert stored(project) == [("docs", "default", "docs")]


def test_a_folder_with_nothing_recognizable_is_an_error_not_an_empty_success(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "reports").mkdir(parents=True)
    done = run_cli("ingest", "reports", "--module", "payments", cwd=project, env=env_for(project))
    assert done.returncode == 2
    assert "no evidence found" in done.stderr


@pytest.mark.parametrize("how", ["contract", "folder"])
def test_a_passing_and_a_failing_report_for_one_slot_are_refused_not_raced(project: Path, how: str) -> None:
    """Two unit reports in one batch must not let whichever is stored last decide tests.unit."""
    shutil.copy2(FAILING_JUNIT, project / "reports" / "unit" / "rerun.xml")
    if how == "contract":
        manifest = write_contract(project, "  - {path: \"reports/unit/*.xml\", kind: tests, scope: unit}\n")
        done = run_cli("ingest", "--contract", manifest, cwd=project, env=env_for(project))
    else:
        done = run_cli("ingest", "reports", "--module", "payments", cwd=project, env=env_for(project))
    assert done.returncode == 2
    assert "junit.xml" in done.stderr and "rerun.xml" in done.stderr
    assert stored(project) == []
