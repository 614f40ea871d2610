"""End-to-end ingest → eval through the real CLI and the real OPA binary, on a one-check test pack."""

from __future__ import annotations

import json
from pathlib import Path

from readypolicy.canonical import digest
from readypolicy.decision.record import record_id
from readypolicy.store.open import open_store
from support import coverage_json, make_project, run_cli


def test_ready_module_exits_0_and_records_the_decision(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    report = coverage_json(tmp_path / "coverage.json", covered=90, total=100)
    ingest = run_cli("ingest", report, "--module", "svc", "--revision", "r1", cwd=project)
    assert ingest.returncode == 0, ingest.stderr
    result = run_cli("eval", "--module", "svc", "--lane", "candidate", "--format", "json", cwd=project)
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["allow"] is True
    assert record["subject"] == {"module": "svc", "revision": "r1"}
    assert record["engine"] == {"name": "opa", "version": "1.22.2"}
    assert record["decision_id"] == record_id(record)
    store = open_store(str(project / "store.db"))
    stored = store.get_decision(record["decision_id"])
    assert stored is not None and stored.allow is True
    evidence = store.latest_evidence("svc", "r1")
    assert [e.digest for e in evidence] == [record["evidence"][0]["digest"]]
    assert record["checks"][0]["evidence"] == [evidence[0].digest]


def test_not_ready_module_exits_1_with_failing_check_first(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    run_cli("ingest", coverage_json(tmp_path / "c.json", 50, 100), "-m", "svc", "-r", "r1", cwd=project)
    result = run_cli("eval", "-m", "svc", "-l", "candidate", cwd=project)
    assert result.returncode == 1, result.stderr
    assert "svc @ r1 -> candidate: NOT READY" in result.stdout
    assert "FAIL     coverage.line" in result.stdout
    assert "50% is not above 70%" in result.stdout


def test_eval_uses_latest_evidence_per_kind_and_latest_revision(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    run_cli("ingest", coverage_json(tmp_path / "a.json", 50, 100), "-m", "svc", "-r", "r1", cwd=project)
    run_cli("ingest", coverage_json(tmp_path / "b.json", 95, 100), "-m", "svc", "-r", "r2", cwd=project)
    latest = run_cli("eval", "-m", "svc", "--format", "json", cwd=project)
    assert latest.returncode == 0 and json.loads(latest.stdout)["subject"]["revision"] == "r2"
    older = run_cli("eval", "-m", "svc", "-r", "r1", "--format", "json", cwd=project)
    assert older.returncode == 1 and json.loads(older.stdout)["subject"]["revision"] == "r1"


def test_reingest_is_idempotent(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    report = coverage_json(tmp_path / "c.json", 80, 100)
    first = run_cli("ingest", report, "-m", "svc", "-r", "r1", cwd=project)
    second = run_cli("ingest", report, "-m", "svc", "-r", "r1", cwd=project)
    assert first.stdout.startswith("stored") and second.stdout.startswith("again")
    assert len(open_store(str(project / "store.db")).list_evidence("svc")) == 1


def test_unknown_module_is_an_error_not_a_verdict(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    run_cli("ingest", coverage_json(tmp_path / "c.json", 80, 100), "-m", "svc", cwd=project)
    result = run_cli("eval", "-m", "svcc", cwd=project)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "readypolicy: error: no evidence stored for module 'svcc' (modules with evidence: svc)"
    ]


def test_evidence_show_json_prints_the_stored_document(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    run_cli("ingest", coverage_json(tmp_path / "c.json", 842, 1000), "-m", "svc", "-r", "r1", cwd=project)
    shown = run_cli("evidence", "show", "-m", "svc", "--format", "json", cwd=project)
    document = json.loads(shown.stdout)
    assert document["data"]["line_percent"] == 84.2
    stored = open_store(str(project / "store.db")).list_evidence("svc")[0]
    assert digest(document) == stored.digest


def test_settings_come_from_flags_over_env_over_file(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    report = coverage_json(tmp_path / "c.json", 80, 100)
    run_cli("ingest", report, "-m", "svc", cwd=project, env={"READYPOLICY_STORE": "env.db"})
    run_cli("--store", "flag.db", "ingest", report, "-m", "svc", cwd=project, env={"READYPOLICY_STORE": "env.db"})
    assert (project / "env.db").is_file() and (project / "flag.db").is_file()
    assert not (project / "store.db").exists()


def test_fleet_eval_batches_many_modules_in_one_run(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    (project / "readypolicy.yaml").write_text(
        (project / "readypolicy.yaml").read_text() + "batch_size: 4\n", encoding="utf-8"
    )
    for index in range(10):
        report = coverage_json(tmp_path / f"c{index}.json", 60 + 3 * index, 100)
        run_cli("ingest", report, "-m", f"m{index:02d}", "-r", "r1", cwd=project)
    result = run_cli("eval", "--all", "--lane", "candidate", "--format", "json", cwd=project)
    records = json.loads(result.stdout)
    assert result.returncode == 1
    verdicts = {r["subject"]["module"]: r["allow"] for r in records}
    assert verdicts == {f"m{i:02d}": 60 + 3 * i > 70 for i in range(10)}
