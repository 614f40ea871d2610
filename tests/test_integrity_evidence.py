"""Verdict integrity on the evidence side (issue 11): attacks that used to earn a READY or leak bytes.

Each test is an attack through the real CLI and, where a verdict is involved, the real OPA binary
evaluating the shipped policies: chaos journals sharing a tag, a bandit report uploaded under the
semgrep scope, a load test claiming a multiplier its measurements do not give, symlinks leaving the
working tree, forced formats on secrets files, and a schema pair pointing at an oversized file.
Expected values are computed here from the raw artifacts, never taken from the normalizers.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from readypolicy.cli.main import cli
from readypolicy.evidence.registry import all_normalizers
from support import ARTIFACTS, REPO, require_opa, run_cli

JOURNALS = ARTIFACTS / "chaostoolkit-journal"
MANIFEST = """\
module: payments
owner: team-payments
lanes: {current: candidate, target: production}
slo: {tick_p95_ms: 100}
capacity: {expected_rps: 400}
"""
REVISION = "abc123"
SECRET = "S3CR3T-9f1c2e"
"""A marker that must never reach stdout or stderr when it is only inside an artifact."""


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    """A working tree with readypolicy.yaml, a copy of the shipped policies and a lane manifest."""
    root = tmp_path / "project"
    root.mkdir()
    shutil.copytree(REPO / "policies", root / "policies", ignore=shutil.ignore_patterns("packs"))
    (root / "readypolicy.yaml").write_text(f"opa: {require_opa()}\nstore: store.db\nactor: test\n", encoding="utf-8")
    (root / "module.lane.yaml").write_text(MANIFEST, encoding="utf-8")
    yield root


def ingest(project: Path, *args: str | Path) -> Any:
    """`readypolicy ingest` for payments@REVISION in the project."""
    return run_cli("ingest", "--module", "payments", "--revision", REVISION, *args, cwd=project)


def check(project: Path, lane: str, check_id: str) -> dict[str, Any]:
    """One check of the decision for payments@REVISION in a lane, evaluated by the real OPA."""
    done = run_cli("eval", "-m", "payments", "-r", REVISION, "-l", lane, "--format", "json", "--no-record", cwd=project)
    assert done.returncode in (0, 1), done.stderr
    decisions = json.loads(done.stdout)
    decision = decisions[0] if isinstance(decisions, list) else decisions
    return next(c for c in decision["checks"] if c["id"] == check_id)


def one_line_naming(done: Any, path: str | Path) -> str:
    """Assert exit 2 with exactly one stderr line naming `path`; return the line."""
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0], done.stderr
    return lines[0]


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# --- chaos journals are keyed by the experiment -----------------------------------------------


def test_same_first_tag_chaos_journals_do_not_share_a_slot(project: Path) -> None:
    deviated, passing = (json.loads((JOURNALS / f"{n}.json").read_text()) for n in ("deviated", "steady-holds"))
    assert deviated["experiment"]["tags"][0] == passing["experiment"]["tags"][0]  # the attack's premise
    assert deviated["experiment"]["title"] != passing["experiment"]["title"] and deviated["deviated"] is True
    done = ingest(project, "module.lane.yaml", JOURNALS / "deviated.json", JOURNALS / "steady-holds.json")
    assert done.returncode == 0, done.stderr
    stored = [line.split()[1] for line in done.stdout.splitlines() if line.split()[1].startswith("chaos/")]
    assert stored == [f"chaos/{slug(deviated['experiment']['title'])}", f"chaos/{slug(passing['experiment']['title'])}"]
    validation = check(project, "integration", "chaos.validation")
    assert validation["status"] == "fail"
    assert deviated["experiment"]["title"] in validation["message"]
    assert len(validation["evidence"]) == 2  # the passing run did not replace the deviated one


def test_rerun_of_the_same_experiment_replaces_it(project: Path, tmp_path: Path) -> None:
    """The slot is the experiment: a later journal of the same title is the current run of it."""
    first = ingest(project, "module.lane.yaml", JOURNALS / "deviated.json")
    assert first.returncode == 0, first.stderr
    rerun = json.loads((JOURNALS / "steady-holds.json").read_text())
    rerun["experiment"]["title"] = json.loads((JOURNALS / "deviated.json").read_text())["experiment"]["title"]
    path = tmp_path / "rerun.json"
    path.write_text(json.dumps(rerun), encoding="utf-8")
    assert ingest(project, path).returncode == 0
    validation = check(project, "integration", "chaos.validation")
    assert validation["status"] == "pass" and len(validation["evidence"]) == 1


def test_long_chaos_titles_differing_at_the_end_keep_two_slots(project: Path, tmp_path: Path) -> None:
    paths = []
    for ending in ("one", "two"):
        journal = json.loads((JOURNALS / "steady-holds.json").read_text())
        journal["experiment"]["title"] = "Pricing stays available " * 4 + ending
        paths.append(tmp_path / f"{ending}.json")
        paths[-1].write_text(json.dumps(journal), encoding="utf-8")
    done = ingest(project, *paths)
    assert done.returncode == 0, done.stderr
    scopes = [line.split()[1].removeprefix("chaos/") for line in done.stdout.splitlines()]
    assert len(set(scopes)) == 2 and all(len(scope) <= 64 for scope in scopes)


def test_chaos_journal_without_title_is_refused(project: Path, tmp_path: Path) -> None:
    journal = json.loads((JOURNALS / "steady-holds.json").read_text())
    del journal["experiment"]["title"]
    path = tmp_path / "untitled.json"
    path.write_text(json.dumps(journal), encoding="utf-8")
    assert "title" in one_line_naming(ingest(project, path), path)


# --- the scanner is read from the report, not from the scope ----------------------------------


def _low_only(tool: str, tmp_path: Path) -> Path:
    """The real report of `tool` without its findings above medium (so only tool presence decides)."""
    doc = json.loads((ARTIFACTS / f"{tool}-json" / f"{tool}.json").read_text())
    if tool == "bandit":
        doc["results"] = [r for r in doc["results"] if r["issue_severity"] in ("LOW", "MEDIUM")]
    else:
        doc["results"] = [r for r in doc["results"] if r["extra"]["severity"] in ("INFO", "WARNING")]
    assert doc["results"], "the derived report must still hold findings"
    path = tmp_path / f"{tool}-low.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_bandit_report_scoped_semgrep_does_not_satisfy_semgrep(project: Path, tmp_path: Path) -> None:
    bandit = _low_only("bandit", tmp_path)
    assert ingest(project, "module.lane.yaml", bandit).returncode == 0
    assert ingest(project, "--scope", "semgrep", bandit).returncode == 2  # a report is slotted by the tool it names
    sast = check(project, "candidate", "security.sast")
    assert sast["status"] == "fail"
    assert sast["message"] == "no report from semgrep, which this lane requires"
    # control: the real semgrep report, in the slot it names, satisfies it
    assert ingest(project, _low_only("semgrep", tmp_path)).returncode == 0
    assert check(project, "candidate", "security.sast")["status"] == "pass"


def test_bandit_report_cannot_displace_semgrep_by_scope(project: Path, tmp_path: Path) -> None:
    assert ingest(project, "module.lane.yaml", _low_only("bandit", tmp_path), _low_only("semgrep", tmp_path)).returncode == 0
    assert check(project, "candidate", "security.sast")["status"] == "pass"
    assert ingest(project, "--scope", "semgrep", _low_only("bandit", tmp_path)).returncode == 2
    assert check(project, "candidate", "security.sast")["status"] == "pass"  # the semgrep report is still there


# --- derived figures are recomputed -----------------------------------------------------------


def _load_test(tmp_path: Path, claimed: float, achieved: float, expected: float | None = None) -> Path:
    details = {"multiplier_of_expected": claimed, "achieved_rps": achieved, "p95_ms": 71.5, "error_rate": 0.001}
    if expected is not None:
        details["expected_rps"] = expected
    record = {"apiVersion": "readypolicy.dev/v1", "kind": "LoadTest", "performed_at": "2026-11-15T22:00:00Z",
              "result": "passed", "details": details}
    path = tmp_path / f"load-{claimed}-{achieved}-{expected}.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    return path


def test_claimed_load_multiplier_is_recomputed(project: Path, tmp_path: Path) -> None:
    expected_rps = 400  # MANIFEST's capacity.expected_rps
    assert ingest(project, "module.lane.yaml", _load_test(tmp_path, 2.5, 10)).returncode == 0
    load = check(project, "production", "load.capacity")
    assert load["status"] == "fail"
    times = "\u00d7"  # the policy's multiplication sign
    assert f"reached {10 / expected_rps:.2f}{times}" in load["message"]
    assert f"claimed 2.50{times} is ignored" in load["message"]
    # control: the same claim backed by its measurement passes
    assert ingest(project, _load_test(tmp_path, 2.5, 1000)).returncode == 0
    assert check(project, "production", "load.capacity")["status"] == "pass"


def test_load_record_contradicting_its_own_expected_rps_is_refused(project: Path, tmp_path: Path) -> None:
    bad = _load_test(tmp_path, 2.5, 10, expected=400)
    line = one_line_naming(ingest(project, "module.lane.yaml", bad), bad)
    assert "multiplier_of_expected" in line
    again = ingest(project, "module.lane.yaml")  # nothing of the refused batch was stored
    assert again.returncode == 0 and again.stdout.startswith("stored")
    within_rounding = _load_test(tmp_path, 2.51, 1000, expected=400)
    assert ingest(project, within_rounding).returncode == 0


# --- files and bytes --------------------------------------------------------------------------


def test_symlink_outside_work_tree_is_refused(project: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(ARTIFACTS / "coverage-py-json" / "coverage.json", outside / "coverage.json")
    link = project / "coverage.json"
    link.symlink_to(outside / "coverage.json")
    line = one_line_naming(ingest(project, "module.lane.yaml", "coverage.json"), "coverage.json")
    assert str(outside / "coverage.json") in line and "--follow-symlinks" in line
    manifest = ingest(project, "module.lane.yaml")
    assert manifest.returncode == 0 and manifest.stdout.startswith("stored")  # the refused batch stored nothing
    followed = ingest(project, "--follow-symlinks", "coverage.json")
    assert followed.returncode == 0 and followed.stdout.startswith("stored"), followed.stderr


def test_symlink_inside_work_tree_is_read(project: Path) -> None:
    shutil.copy(ARTIFACTS / "coverage-py-json" / "coverage.json", project / "real-coverage.json")
    (project / "coverage.json").symlink_to(project / "real-coverage.json")
    done = ingest(project, "module.lane.yaml", "coverage.json")
    assert done.returncode == 0, done.stderr


SECRET_FILES = {
    "dotenv": f"API_TOKEN={SECRET}\nDB_PASSWORD={SECRET}\n",
    "ini": f"[default]\naws_access_key_id = {SECRET}\naws_secret_access_key = {SECRET}\n",
    "pem": f"-----BEGIN PRIVATE KEY-----\n{SECRET}MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n",
    "json": json.dumps({
        f"{SECRET}key": SECRET, "token": SECRET, "version": SECRET, "kind": SECRET, "apiVersion": SECRET,
        "results": [{"command": SECRET, "test_id": SECRET, "check_id": SECRET, "times": SECRET}],
        "benchmarks": [{"name": SECRET}], "metrics": {SECRET: 1}, "performance_metrics": {SECRET: 1},
        "dependencies": [{"name": SECRET}], "groups": [{"name": SECRET, "rules": [{"alert": SECRET}]}],
    }),
    "yaml": (f"{SECRET}: {SECRET}\ntoken: {SECRET}\nkind: {SECRET}\n"
             f"groups:\n  - name: {SECRET}\n    rules: [{{alert: {SECRET}}}]\n"),
    "broken-yaml": f"token: '{SECRET}\nother: [{SECRET}\n",
    "yaml-tag": f"!{SECRET} {SECRET}\n",
    "xml": f'<{SECRET} a="{SECRET}"><{SECRET}x>{SECRET}</{SECRET}x></{SECRET}>',
    "xml-encoding": f"<?xml version='1.0' encoding='{SECRET}'?><a/>",
    "numbers": f"1.5\n{SECRET}\n2.5\n",
    "lcov": f"TN:\nSF:{SECRET}\nDA:{SECRET},1\nend_of_record\n",
    "promtool": f"Processing test file: {SECRET}.yml\n  {SECRET}FAILED\n",
}


@pytest.mark.parametrize("shape", sorted(SECRET_FILES))
def test_forced_format_errors_never_echo_artifact_bytes(shape: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every registered format, forced onto a secrets file: whatever the outcome, the bytes stay out of the output.

    In-process CLI runs (one per format) keep the matrix fast; the subprocess test below covers the
    full path from a planted symlink to stderr.
    """
    monkeypatch.chdir(tmp_path)
    (tmp_path / "readypolicy.yaml").write_text("store: store.db\n", encoding="utf-8")
    artifact = tmp_path / f"secret-{shape}.txt"
    artifact.write_text(SECRET_FILES[shape], encoding="utf-8")
    formats = [normalizer.format for normalizer in all_normalizers()]
    assert len(formats) >= 30
    for fmt in formats:
        result = CliRunner().invoke(
            cli, ["ingest", "-m", "x", "-r", REVISION, "--format", fmt, str(artifact)], catch_exceptions=False,
        )
        assert SECRET not in result.stderr + result.stdout, (fmt, result.stderr, result.stdout)
        assert result.exit_code in (0, 2), (fmt, result.exit_code)


def test_planted_symlink_with_forced_format_does_not_print_the_secret(project: Path, tmp_path: Path) -> None:
    secret = tmp_path / "home" / ".env"
    secret.parent.mkdir()
    secret.write_text(SECRET_FILES["dotenv"], encoding="utf-8")
    (project / "latency.txt").symlink_to(secret)
    refused = ingest(project, "--format", "latency-samples", "latency.txt")
    one_line_naming(refused, "latency.txt")
    followed = ingest(project, "--follow-symlinks", "--format", "latency-samples", "latency.txt")
    line = one_line_naming(followed, "latency.txt")
    assert SECRET not in followed.stderr + followed.stdout and "line 1" in line


def test_schema_pair_referenced_file_obeys_size_limit(project: Path) -> None:
    pair_dir = project / "schemas"
    pair_dir.mkdir()
    golden = (ARTIFACTS / "jsonschema-snapshot" / "golden.schema.json").read_text()
    (pair_dir / "golden.schema.json").write_text(golden, encoding="utf-8")
    big = json.loads(golden)
    big["description"] = "x" * 8000
    (pair_dir / "current.schema.json").write_text(json.dumps(big), encoding="utf-8")
    pair = pair_dir / "pair.json"
    pair.write_text(json.dumps({"apiVersion": "readypolicy.dev/v1", "kind": "SchemaSnapshotPair", "name": "request",
                                "snapshot": "golden.schema.json", "current": "current.schema.json"}), encoding="utf-8")
    limit = 4000
    assert pair.stat().st_size < limit < (pair_dir / "current.schema.json").stat().st_size
    line = one_line_naming(ingest(project, "--max-bytes", str(limit), pair), pair_dir / "current.schema.json")
    assert "size limit" in line
    assert ingest(project, "--max-bytes", str(20000), pair).returncode == 0


def test_docs_listing_obeys_size_limit(project: Path) -> None:
    docs = project / "docs"
    docs.mkdir()
    (docs / "README.md").write_text("# ok\n", encoding="utf-8")
    (docs / "huge.md").write_text("x" * 5000, encoding="utf-8")
    line = one_line_naming(ingest(project, "--kind", "docs", "--max-bytes", "4000", "docs"), "docs/huge.md")
    assert "size limit" in line
    assert ingest(project, "--kind", "docs", "--max-bytes", "8000", "docs").returncode == 0
