"""Red-team findings fixed at ingest: a `--scope` that merges content-keyed slots, perf figures that contradict themselves.

Each test is an attack that got a wrong READY before the guard existed: it drives the real CLI with
the real OPA binary on real tool outputs (evidence_samples/, tests/fixtures/artifacts) and reads the
store with sqlite3 alone, so what "nothing was stored" means is not taken from readypolicy itself.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from policy_project import ARTIFACTS, REPO, Project, make_project
from test_governance import _check

SAMPLES = REPO / "evidence_samples" / "ledger"
CHAOS = SAMPLES / "chaos"
INGEST = ("ingest", "--module", "payments", "--revision", "abc")
EVAL = ("--module", "payments", "--lane", "integration", "--revision", "abc", "--no-record")


def _rows(project: Project) -> list[tuple[str, str, str]]:
    """(kind, scope, digest) of every stored evidence row, read straight from SQLite."""
    with sqlite3.connect(project.root / "store.db") as conn:
        return sorted(conn.execute("SELECT kind, scope, digest FROM evidence").fetchall())


def _refused(project: Project, path: Path, *args: str) -> str:
    """Ingest `path` expecting exit 2 with one error line naming it and nothing stored; returns that line."""
    before = _rows(project)
    result = project.run(*INGEST, *args, str(path))
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"readypolicy: error: {path}: "), result.stderr
    assert _rows(project) == before
    return lines[0]


# --- (5) a --scope must not merge slots a document's content keys -----------------------------------


def _journal(path: Path, source: str, title: str, tags: list[str], deviated: bool) -> Path:
    """A real Chaos Toolkit journal (evidence_samples) retitled; a deviated one broke its steady state after."""
    doc = json.loads((CHAOS / source).read_text(encoding="utf-8"))
    doc["experiment"].update(title=title, tags=tags)
    doc["deviated"] = deviated
    doc["steady_states"]["after"]["steady_state_met"] = not deviated
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _chaos_statuses(project: Project) -> tuple[str, str]:
    [record] = project.eval_records(*EVAL)
    return _check(record, "chaos.basic")["status"], _check(record, "chaos.validation")["status"]


def test_a_scope_given_at_ingest_does_not_let_one_experiment_replace_another(tmp_path: Path) -> None:
    """`for j in chaos/*.json; do readypolicy ingest --scope nightly $j; done` put every journal in one slot.

    A deviated "cache timeout" run was replaced by the next, passing, "cache brownout" run, and
    chaos.basic and chaos.validation passed. Now a scope other than the journal's own key (its title)
    is refused naming the file, and each experiment keeps its own slot.
    """
    project = make_project(tmp_path)
    honest = [
        _journal(tmp_path / "b.json", "brownout.json", "payments survives brownout", ["brownout"], False),
        _journal(tmp_path / "c.json", "clock-skew.json", "payments survives clock skew", ["clock-skew"], False),
        _journal(tmp_path / "p.json", "partial-failure.json", "payments survives partial failure", ["partial-failure"],
                 False),
        _journal(tmp_path / "t.json", "timeout.json", "db timeout", ["timeout"], False),
    ]
    assert project.run(*INGEST, *map(str, honest)).exit_code == 0
    assert _chaos_statuses(project) == ("pass", "pass")
    deviated = _journal(tmp_path / "t2.json", "timeout.json", "cache timeout", ["timeout"], True)
    line = _refused(project, deviated, "--scope", "nightly")
    assert "scope 'nightly' is refused" in line
    assert project.run(*INGEST, str(deviated)).exit_code == 0
    assert _chaos_statuses(project) == ("fail", "fail")
    other = _journal(tmp_path / "b2.json", "brownout.json", "cache brownout", ["brownout"], False)
    _refused(project, other, "--scope", "nightly")
    assert project.run(*INGEST, str(other)).exit_code == 0
    chaos_slots = [scope for kind, scope, _digest in _rows(project) if kind == "chaos"]
    assert len(chaos_slots) == len(set(chaos_slots)) == 6, "every experiment keeps a slot of its own"
    assert _chaos_statuses(project) == ("fail", "fail"), "the deviated 'cache timeout' run was replaced"


CONTENT_KEYED = {
    "chaos": CHAOS / "timeout.json",
    "operations": SAMPLES / "operations" / "killswitch-drill.yaml",
    "sast": ARTIFACTS / "bandit-json" / "bandit.json",
    "secrets": ARTIFACTS / "gitleaks-json" / "gitleaks-detect.json",
    "dependencies": ARTIFACTS / "pip-audit-json" / "environment-pypi.json",
    "lint": ARTIFACTS / "ruff-json" / "ruff-findings.json",
    "perf": ARTIFACTS / "latency-samples" / "latency-ms.json",
}


@pytest.mark.parametrize("kind", sorted(CONTENT_KEYED))
def test_a_scope_cannot_put_a_content_keyed_report_in_a_shared_slot(tmp_path: Path, kind: str) -> None:
    """Every kind whose slot is its content's key (experiment, record type, tool, metric) refuses another scope.

    Two reports of different keys given one `--scope` would replace each other (a failing
    scanner's report by another scanner's clean one, a failed drill by another record type).
    """
    project = make_project(tmp_path)
    line = _refused(project, CONTENT_KEYED[kind], "--scope", "nightly")
    assert f"{kind} evidence takes its scope" in line and "scope 'nightly' is refused" in line


def test_a_contract_entry_cannot_give_chaos_journals_one_scope(tmp_path: Path) -> None:
    """The same merge from a lane manifest's evidence contract (`{path: chaos/*.json, scope: nightly}`) is refused.

    A contract is one batch, so two journals in one slot were already refused; one journal matched
    by the glob today would still land in the shared slot and be replaced by tomorrow's other one.
    """
    project = make_project(tmp_path)
    (project.root / "chaos").mkdir()
    journal = _journal(project.root / "chaos" / "t.json", "timeout.json", "cache timeout", ["timeout"], True)
    contract = project.root / "module.lane.yaml"
    text = contract.read_text(encoding="utf-8")
    contract.write_text(text + 'evidence:\n  - {path: "chaos/*.json", kind: chaos, scope: nightly}\n', encoding="utf-8")
    before = _rows(project)
    result = project.run("ingest", "--contract", str(contract), "--revision", "abc")
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and f"{journal}: chaos evidence takes its scope" in result.stderr
    assert _rows(project) == before


def test_a_scope_equal_to_the_reports_own_key_is_accepted(tmp_path: Path) -> None:
    """Control: naming the slot the content names (bandit's `bandit`) stores the report there."""
    project = make_project(tmp_path)
    report = tmp_path / "bandit.json"
    raw = json.loads((ARTIFACTS / "bandit-json" / "bandit.json").read_text(encoding="utf-8"))
    raw["results"] = raw["results"][:1]  # not the report make_project stored: a new document in the same slot
    report.write_text(json.dumps(raw), encoding="utf-8")
    assert project.run(*INGEST, "--scope", "bandit", str(report)).exit_code == 0
    assert [scope for kind, scope, _digest in _rows(project) if kind == "sast"] == ["bandit", "bandit"]


# --- (6) perf figures a report states must agree with each other -----------------------------------


def _protocol_perf(path: Path, **metric: float) -> Path:
    """A readiness-protocol perf document with one metric `tick` (the manifest's tick_p95_ms budget is 100)."""
    path.write_text(json.dumps({
        "module": "payments", "lane": "integration", "validation_timestamp": "2026-11-20T15:30:00Z",
        "performance_metrics": {"tick": {"sample_size": 10000, "bootstrap_resamples": 2000, **metric}},
    }), encoding="utf-8")
    return path


def test_a_ci95_upper_bound_below_its_own_p95_does_not_pass_the_slo(tmp_path: Path) -> None:
    """perf.slo judges the CI95 upper bound of p95; a stated bound of 20 ms under a p95 of 150 ms passed a 100 ms budget."""
    project = make_project(tmp_path)
    perf = _protocol_perf(tmp_path / "perf.json", p50_ms=80.0, p95_ms=150.0, p99_ms=210.0,
                          ci95_lower=10.0, ci95_upper=20.0)
    line = _refused(project, perf)
    assert "metric 1: CI95 of p95 [10.0, 20.0] ms does not contain p95 150.0 ms" in line
    [record] = project.eval_records(*EVAL)
    assert _check(record, "perf.slo")["status"] != "pass"


@pytest.mark.parametrize(("attack", "metric", "problem"), [
    ("p50 above p95", {"p50_ms": 120.0, "p95_ms": 90.0, "p99_ms": 200.0, "ci95_lower": 85.0, "ci95_upper": 95.0},
     "percentiles out of order"),
    ("p99 below p95: a tail claimed faster than its p95", {"p50_ms": 50.0, "p95_ms": 150.0, "p99_ms": 60.0,
                                                           "ci95_lower": 140.0, "ci95_upper": 160.0},
     "percentiles out of order"),
    ("interval reversed", {"p50_ms": 50.0, "p95_ms": 90.0, "p99_ms": 120.0, "ci95_lower": 95.0, "ci95_upper": 85.0},
     "does not contain p95"),
    ("interval above its p95", {"p50_ms": 50.0, "p95_ms": 90.0, "p99_ms": 120.0, "ci95_lower": 91.0,
                                "ci95_upper": 99.0}, "does not contain p95"),
])
def test_perf_figures_out_of_order_are_refused(tmp_path: Path, attack: str, metric: dict[str, float],
                                               problem: str) -> None:
    """Stated percentiles must be ordered and the stated interval must hold its p95; else the file is refused."""
    project = make_project(tmp_path)
    assert problem in _refused(project, _protocol_perf(tmp_path / "perf.json", **metric)), attack


def test_consistent_perf_figures_are_accepted(tmp_path: Path) -> None:
    """Control: the protocol's own example, and an interval that is exactly its p95, are stored and judged."""
    project = make_project(tmp_path)
    example = ARTIFACTS / "readiness-perf-json" / "protocol-example.json"
    for figures in json.loads(example.read_text(encoding="utf-8"))["performance_metrics"].values():
        assert figures["p50_ms"] <= figures["p95_ms"] <= figures["p99_ms"]
    tight = _protocol_perf(tmp_path / "perf.json", p50_ms=50.0, p95_ms=90.0, p99_ms=90.0,
                           ci95_lower=90.0, ci95_upper=90.0)
    for path in (example, tight):
        assert project.run(*INGEST, str(path)).exit_code == 0
    assert len([kind for kind, _scope, _digest in _rows(project) if kind == "perf"]) == 2
    [record] = project.eval_records(*EVAL)
    assert _check(record, "perf.slo")["status"] == "pass"  # tick: judged on its CI95 upper bound, 90 ms <= 100 ms


def _summary_benchmark(path: Path, **stats: float) -> Path:
    """The real pytest-benchmark report with its rounds stripped (an older file: summary statistics only)."""
    doc: dict[str, Any] = json.loads((ARTIFACTS / "pytest-benchmark-json" / "benchmark.json").read_text(encoding="utf-8"))
    for bench in doc["benchmarks"]:
        bench["stats"].pop("data", None)
    doc["benchmarks"][0]["stats"].update(stats)
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


@pytest.mark.parametrize(("attack", "stats", "problem"), [
    ("median above max", {"median": 0.5, "max": 0.01, "mean": 0.005}, "percentiles out of order"),
    ("mean above max", {"median": 0.005, "max": 0.01, "mean": 0.5}, "mean 500.0 ms is above max 10.0 ms"),
])
def test_a_benchmark_summary_that_contradicts_itself_is_refused(tmp_path: Path, attack: str, stats: dict[str, float],
                                                                problem: str) -> None:
    """pytest-benchmark's summary path takes median/max/mean as stated: figures no run could give are refused."""
    project = make_project(tmp_path)
    line = _refused(project, _summary_benchmark(tmp_path / "bench.json", **stats))
    assert "benchmarks[0]: " in line and problem in line, attack
