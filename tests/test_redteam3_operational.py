"""Third red-team review, operational evidence: each test is an attack that got a wrong READY before its guard.

The attacks drive the real CLI and the real OPA binary on real tool outputs (Chaos Toolkit journals
written by `chaos run`, `lint-imports` reports); what the raw report says is read here with json and
plain text, never through readypolicy's own normalizers.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from policy_project import ARTIFACTS, REPO, Project, make_project
from test_governance import _check
from test_redteam_ingest import EVAL, INGEST, _chaos_statuses, _journal, _protocol_perf, _refused

JOURNALS = ARTIFACTS / "chaostoolkit-journal"


# --- a chaos run whose fault was never injected ------------------------------------------------------


def _honest_journals(directory: Path) -> list[Path]:
    """Passing real journals for three of the four scenarios integration requires."""
    return [
        _journal(directory / "b.json", "brownout.json", "payments survives brownout", ["brownout"], False),
        _journal(directory / "c.json", "clock-skew.json", "payments survives clock skew", ["clock-skew"], False),
        _journal(directory / "p.json", "partial-failure.json", "payments survives partial failure",
                 ["partial-failure"], False),
    ]


def _what_the_method_did(doc: dict[str, Any]) -> tuple[Any, list[tuple[Any, Any]]]:
    """The journal's own record of its method: the dry mode and each activity's (status, exit status)."""
    runs = [(run["status"], run["output"].get("status") if isinstance(run.get("output"), dict) else None)
            for run in doc["run"]]
    return doc["experiment"]["dry"], runs


@pytest.mark.parametrize("source", ["method-failed.json", "dry-actions.json"])
def test_a_chaos_run_whose_fault_was_never_injected_does_not_pass(tmp_path: Path, source: str) -> None:
    """`chaos run` exits 0 with `status: completed`, the steady state met before and after, not deviated.

    method-failed.json: both fault injections failed (a process action exited 1, a Python action
    raised: its run entry is `failed`); Chaos Toolkit carries on. dry-actions.json: `chaos run --dry
    actions` executed no action at all. Either way the steady state held because nothing was done to
    the system, and chaos.basic and chaos.validation passed. Now such a run does not pass and the
    check says why.
    """
    raw = json.loads((JOURNALS / source).read_text(encoding="utf-8"))
    assert (raw["status"], raw["deviated"]) == ("completed", False)
    assert raw["steady_states"]["before"]["steady_state_met"] is raw["steady_states"]["after"]["steady_state_met"] is True
    dry, runs = _what_the_method_did(raw)
    assert dry == "actions" or (("failed", None) in runs and ("succeeded", 1) in runs), (dry, runs)

    project = make_project(tmp_path)
    raw["experiment"].update(title="db timeout", tags=["timeout"])
    injected_nothing = tmp_path / "t.json"
    injected_nothing.write_text(json.dumps(raw), encoding="utf-8")
    assert project.run(*INGEST, *map(str, _honest_journals(tmp_path)), str(injected_nothing)).exit_code == 0

    assert _chaos_statuses(project) == ("fail", "fail")
    [record] = project.eval_records(*EVAL)
    assert _check(record, "chaos.basic")["message"] == "timeout: failed (db timeout)"
    validation = _check(record, "chaos.validation")["message"]
    assert validation.startswith("db timeout: the method did not run as written: ")
    if dry:
        assert "a dry run (dry: actions)" in validation
    else:
        assert "action 'partition-network' exited with status 1" in validation
        assert "action 'drop-partition-rule' failed" in validation


def test_a_chaos_run_whose_method_ran_as_written_still_passes(tmp_path: Path) -> None:
    """The guard reads the method's record, not its mere presence: the real passing journals still pass."""
    project = make_project(tmp_path)
    timeout = _journal(tmp_path / "t.json", "timeout.json", "db timeout", ["timeout"], False)
    raw = json.loads(timeout.read_text(encoding="utf-8"))
    assert _what_the_method_did(raw) == (None, [("succeeded", 0)])
    assert project.run(*INGEST, *map(str, _honest_journals(tmp_path)), str(timeout)).exit_code == 0
    assert _chaos_statuses(project) == ("pass", "pass")


# --- two lint-imports reports appended to one file -------------------------------------------------------


def _contract_verdicts(text: str) -> list[tuple[str, str]]:
    """Every `<name> KEPT|BROKEN` line of a lint-imports output, in order."""
    return [(line.rsplit(" ", 1)[0], line.rsplit(" ", 1)[1]) for line in text.splitlines()
            if line.endswith((" KEPT", " BROKEN"))]


def test_a_lint_imports_report_appended_to_another_does_not_pass(tmp_path: Path) -> None:
    """Two lint-imports runs (one contract each) written to one file with `>`, then `>>`.

    The first report keeps its contract, the second breaks its own (lint-imports exited 1), but only
    the first 'Contracts: N kept, M broken.' summary was read: "1 import contract(s) kept", and
    architecture.imports passed. Now a file with more than one report is refused at ingest.
    """
    report = ARTIFACTS / "import-linter" / "two-runs-appended.txt"
    text = report.read_text(encoding="utf-8")
    assert _contract_verdicts(text) == [("Pricing does not import the shell runner", "KEPT"),
                                        ("Runner does not reach settings", "BROKEN")]
    assert [line for line in text.splitlines() if line.startswith("Contracts: ")] == [
        "Contracts: 1 kept, 0 broken.", "Contracts: 0 kept, 1 broken."]

    project = make_project(tmp_path)
    line = _refused(project, report)
    assert "2 'Contracts: N kept, M broken.' summaries: several lint-imports reports in one file" in line
    [record] = project.eval_records(*EVAL)
    assert _check(record, "architecture.imports")["status"] == "missing"

    single = ARTIFACTS / "import-linter" / "lint-imports.txt"
    assert project.run(*INGEST, str(single)).exit_code == 0
    [record] = project.eval_records(*EVAL)
    assert _check(record, "architecture.imports")["message"] == "broken contract(s): Runner does not reach settings"


# --- a YAML key set twice: the reader sees the first, the gate used the last ------------------------------


CANDIDATE = ("--module", "payments", "--lane", "candidate", "--revision", "abc", "--no-record")


def _coverage_status(project: Project) -> str:
    [record] = project.eval_records(*CANDIDATE)
    status: str = _check(record, "coverage.line")["status"]
    return status


@pytest.mark.parametrize("second", [
    pytest.param("thresholds: {candidate: {coverage_line_min: 70}}\n", id="duplicate-top-level-key"),
    pytest.param("", id="duplicate-key-in-a-flow-mapping"),
])
def test_a_manifest_key_set_twice_does_not_loosen_what_the_reader_sees(tmp_path: Path, second: str) -> None:
    """`thresholds:` tightened to 95 at the top of the manifest, and again, to 70, further down.

    PyYAML keeps the last value, so the coverage floor a reviewer reads (95) was not the one judged
    (the pack's 70): 82.93% line coverage passed coverage.line. Now any mapping key set twice (or a merge key)
    is refused at ingest naming the position, and the earlier manifest stays in force.
    """
    project = make_project(tmp_path, coverage_min=95)
    assert _coverage_status(project) == "fail"
    manifest = project.root / "module.lane.yaml"
    text = manifest.read_text(encoding="utf-8")
    assert "thresholds: {candidate: {coverage_line_min: 95}}\n" in text
    if second:
        two_faced = text + second
    else:
        two_faced = text.replace("{coverage_line_min: 95}", "{coverage_line_min: 95, coverage_line_min: 70}")
    manifest.write_text(two_faced, encoding="utf-8")
    assert two_faced.index("coverage_line_min: 95") < two_faced.rindex("coverage_line_min: 70")

    line = _refused(project, manifest)
    assert "malformed YAML at line " in line and line.endswith(": found a mapping key set twice")
    assert "coverage_line_min" not in line and "thresholds" not in line, "the document's text is not echoed"
    assert _coverage_status(project) == "fail"


def test_a_merge_key_in_a_manifest_is_refused(tmp_path: Path) -> None:
    """`<<: {candidate: {coverage_line_min: 95}}` next to `candidate: {...}`: the explicit key silently wins.

    A YAML 1.1 merge is read one way by PyYAML and as a plain `<<` key by YAML 1.2 readers; it is refused.
    """
    project = make_project(tmp_path, coverage_min=95)
    manifest = project.root / "module.lane.yaml"
    text = manifest.read_text(encoding="utf-8").replace(
        "thresholds: {candidate: {coverage_line_min: 95}}",
        "thresholds:\n  <<: {candidate: {coverage_line_min: 95}}\n  candidate: {coverage_line_min: 70}")
    manifest.write_text(text, encoding="utf-8")
    line = _refused(project, manifest)
    assert line.endswith(": merge keys (<<) are not allowed")
    assert _coverage_status(project) == "fail"


def test_a_project_config_key_set_twice_is_refused(tmp_path: Path) -> None:
    """readypolicy.yaml names the store twice: the gate would use the second, a reader sees the first (hardening: the
    same one reader, one meaning rule for every YAML file readypolicy reads, not only manifests)."""
    project = make_project(tmp_path)
    config = project.config.read_text(encoding="utf-8")
    project.config.write_text(config + "store: other.db\n", encoding="utf-8")
    result = project.run("eval", *CANDIDATE)
    assert result.exit_code == 2, result.output
    assert "found a mapping key set twice" in result.stderr
    assert not (project.root / "other.db").exists()


# --- a perf report of another module ------------------------------------------------------------------


def test_a_perf_report_of_another_module_does_not_pass_this_modules_slo(tmp_path: Path) -> None:
    """The protocol's perf report names its module; a ledger report ingested for payments stood for payments.

    `readypolicy ingest --module payments perf.json` stored ledger's fast figures (p95 CI95 upper 45 ms)
    and payments' perf.slo passed its 100 ms budget on them. Now a report naming another module is
    refused at ingest; the same figures under payments' own name are accepted.
    """
    project = make_project(tmp_path)
    figures = {"p50_ms": 20.0, "p95_ms": 40.0, "p99_ms": 60.0, "ci95_lower": 38.0, "ci95_upper": 45.0}
    report = _protocol_perf(tmp_path / "perf.json", **figures)
    doc = json.loads(report.read_text(encoding="utf-8"))
    doc["module"] = "ledger"
    report.write_text(json.dumps(doc), encoding="utf-8")

    line = _refused(project, report)
    assert line.endswith(": the perf report's 'module' field names another module than 'payments'")
    assert "ledger" not in line, "the stated name is the document's text: not echoed"
    [record] = project.eval_records(*EVAL)
    assert _check(record, "perf.slo")["status"] == "missing"

    own = _protocol_perf(tmp_path / "own.json", **figures)
    assert json.loads(own.read_text(encoding="utf-8"))["module"] == "payments"
    assert project.run(*INGEST, str(own)).exit_code == 0
    [record] = project.eval_records(*EVAL)
    assert _check(record, "perf.slo")["status"] == "pass"


def test_a_manifest_of_another_module_is_still_refused(tmp_path: Path) -> None:
    """The manifest's own module check now goes through the same stated-module guard."""
    project = make_project(tmp_path)
    manifest = project.root / "module.lane.yaml"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace("module: payments", "module: ledger"),
                        encoding="utf-8")
    assert _refused(project, manifest).endswith(": the manifest report's 'module' field names another module than 'payments'")


# --- a plain YAML value that YAML 1.1 (PyYAML) and YAML 1.2 read differently --------------------------------


DRILL = """\
apiVersion: readypolicy.dev/v1
kind: KillSwitchDrill
metadata: {name: payments-kill-switch}
performed_at: "2026-11-19T10:00:00Z"
result: passed
details: {safety_control: payments-guard, fail_closed_ms: 0300}
"""


def _stored_documents(project: Project, kind: str) -> list[dict[str, Any]]:
    """The stored evidence documents of a kind, read straight from SQLite."""
    with sqlite3.connect(project.root / "store.db") as conn:
        rows = conn.execute("SELECT document FROM evidence WHERE kind = ? ORDER BY seq", (kind,)).fetchall()
    return [json.loads(document) for (document,) in rows]


def test_a_zero_padded_drill_time_is_not_stored_as_an_octal_number(tmp_path: Path) -> None:
    """`fail_closed_ms: 0300` is 300 ms to a person and to YAML 1.2, but 192 to PyYAML (a YAML 1.1 octal).

    The drill was stored as failing closed in 192 ms, under the production budget of 250 ms the
    written 300 ms misses. Now a plain value the two YAML versions read apart is refused at ingest;
    quoted or written `300` it is read as written.
    """
    project = make_project(tmp_path)
    drill = tmp_path / "drill.yaml"
    drill.write_text(DRILL, encoding="utf-8")
    written = DRILL.split("fail_closed_ms: ", 1)[1].split("}", 1)[0]
    assert written == "0300" and int(written, 10) == 300

    line = _refused(project, drill)
    assert "malformed YAML at line 6, column " in line and "YAML 1.1 and YAML 1.2 read differently" in line
    assert _stored_documents(project, "operations") == []

    drill.write_text(DRILL.replace("0300", "300"), encoding="utf-8")
    assert project.run(*INGEST, str(drill)).exit_code == 0
    [document] = _stored_documents(project, "operations")
    assert document["data"]["details"]["fail_closed_ms"] == 300


def test_a_threshold_written_in_exponent_form_is_not_silently_dropped(tmp_path: Path) -> None:
    """`coverage_line_min: 9.5e1` is 95 to YAML 1.2 but the text "9.5e1" to PyYAML (its floats need `e+1`).

    A text override of a number threshold is ignored, so the floor the manifest states (95) fell back
    to the pack's 70 and 82.93% line coverage passed. Now the manifest is refused at ingest.
    """
    project = make_project(tmp_path, coverage_min=95)
    manifest = project.root / "module.lane.yaml"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace("coverage_line_min: 95", "coverage_line_min: 9.5e1"),
                        encoding="utf-8")
    assert float("9.5e1") == 95
    assert "YAML 1.1 and YAML 1.2 read differently" in _refused(project, manifest)
    assert _coverage_status(project) == "fail"


# --- a schema change the snapshot diff did not look at ---------------------------------------------------

SNAPSHOT = REPO / "evidence_samples" / "ledger" / "schema" / "api.snapshot.json"


@pytest.mark.parametrize(("keyword", "added", "witness", "change"), [
    ("unevaluatedProperties", False, {"approved": True, "reason": "ok", "note": "kept"}, "subschema-added"),
    ("not", {"required": ["currency"]}, {"approved": True, "reason": "ok", "currency": "EUR"}, "subschema-added"),
    ("propertyNames", {"maxLength": 8}, {"approved": True, "reason": "ok", "approved_by": "ann"}, "subschema-added"),
    ("dependentRequired", {"currency": ["amount"]}, {"approved": True, "reason": "ok", "currency": "EUR"},
     "constraint-tightened"),
])
def test_a_breaking_schema_keyword_the_diff_did_not_read_does_not_pass(
        tmp_path: Path, keyword: str, added: object, witness: dict[str, object], change: str) -> None:
    """The current schema gains a keyword that refuses documents the snapshot accepted.

    The snapshot diff only compared subschema keywords present on both sides and never read
    dependentRequired, so closing the object with `unevaluatedProperties: false` (the 2020-12 idiom),
    adding `not` or `propertyNames`, or a new dependentRequired was "no change": schema.compat and
    schema.evolution passed. The witness document is valid under the snapshot and refused by the current
    schema, as the reference validator (jsonschema) says.
    """
    snapshot = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    current = {**snapshot, keyword: added}
    assert Draft202012Validator(snapshot).is_valid(witness)
    assert not Draft202012Validator(current).is_valid(witness)

    project = make_project(tmp_path)
    pair = tmp_path / "api.pair.json"
    pair.write_text(json.dumps({"apiVersion": "readypolicy.dev/v1", "kind": "SchemaSnapshotPair", "name": "decision",
                                "snapshot": snapshot, "current": current}), encoding="utf-8")
    assert project.run(*INGEST, str(pair)).exit_code == 0
    [record] = project.eval_records(*EVAL)
    compat = _check(record, "schema.compat")
    assert compat["status"] == "fail"
    assert compat["message"].startswith(f"decision: 1 breaking change(s): {change} at #")
    assert keyword in compat["message"]
    assert _check(record, "schema.evolution")["status"] == "fail"
