"""Normalizers for perf, chaos, telemetry, schema, architecture, complexity, docs and operations evidence.

Inputs are the real tool outputs under tests/fixtures/artifacts (see SOURCES.md there) and the
operations records under tests/fixtures/operations; statistics are checked against numpy's
`inverted_cdf` percentile, which is the nearest-rank method the readiness protocol names.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from readypolicy.errors import ReadyPolicyError
from readypolicy.evidence import stats
from readypolicy.evidence.formats import docs_listing
from readypolicy.evidence.ingest import IngestOptions, normalize_path
from readypolicy.evidence.interface import Normalized

FIXTURES = Path(__file__).parent / "fixtures"
ARTIFACTS = FIXTURES / "artifacts"
OPERATIONS = FIXTURES / "operations"


def normalize(path: Path, **options: Any) -> Normalized:
    return normalize_path(path, IngestOptions(module="demo", revision="r1", **options))[1]


# --- statistics -------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 2, 3, 7, 20, 101, 1000])
def test_percentile_matches_numpy_nearest_rank(size: int) -> None:
    rng = random.Random(size)
    values = [rng.lognormvariate(2, 1) for _ in range(size)]
    ordered = sorted(values)
    for q in (0, 1, 2.5, 25, 50, 90, 95, 97.5, 99, 99.9, 100):
        assert stats.percentile(ordered, q) == float(np.percentile(values, q, method="inverted_cdf"))


def test_percentile_hand_computed() -> None:
    assert stats.percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert stats.percentile([1.0, 2.0, 3.0, 4.0], 95) == 4.0
    assert stats.percentile([10.0, 20.0], 99) == 20.0
    assert stats.percentile([10.0, 20.0], 0) == 10.0
    assert stats.percentile([float(v) for v in range(1, 101)], 7) == 7.0  # 0.07 * 100 is 7.000000000000001 in floats
    assert stats.percentile([5.0], 95) == 5.0


def test_bootstrap_interval_contains_true_p95_and_is_reproducible() -> None:
    rng = random.Random(7)
    scale = 10.0
    samples = [rng.expovariate(1 / scale) for _ in range(5000)]
    true_p95 = -scale * math.log(0.05)
    summary = stats.summarize(samples, "synthetic")
    assert summary.ci95 is not None
    assert summary.ci95.lower < true_p95 < summary.ci95.upper
    assert summary.ci95.lower <= summary.p95 <= summary.ci95.upper
    assert (summary.ci95.resamples, summary.ci95.seed) == (stats.DEFAULT_RESAMPLES, stats.DEFAULT_SEED)
    assert stats.summarize(samples, "again") == summary
    other = stats.bootstrap_percentile_ci(sorted(samples), seed=stats.DEFAULT_SEED + 1)
    assert (other.lower, other.upper) != (summary.ci95.lower, summary.ci95.upper)


def test_bootstrap_agrees_with_textbook_resampling() -> None:
    """The order-statistic shortcut must give the same interval as resampling n values each time."""
    rng = random.Random(11)
    samples = [rng.gammavariate(2.0, 3.0) for _ in range(300)]
    shortcut = stats.bootstrap_percentile_ci(sorted(samples), resamples=20000)
    draws = np.random.default_rng(5).choice(np.array(samples), size=(20000, len(samples)))
    textbook = np.percentile(np.percentile(draws, 95, axis=1, method="inverted_cdf"), [2.5, 97.5], method="inverted_cdf")
    assert shortcut.lower == pytest.approx(textbook[0], rel=0.03)
    assert shortcut.upper == pytest.approx(textbook[1], rel=0.03)


def test_small_samples_have_no_interval_and_bad_samples_are_refused() -> None:
    assert stats.summarize([1.0] * (stats.MIN_SAMPLES_FOR_CI - 1), "few").ci95 is None
    assert stats.summarize([1.0] * stats.MIN_SAMPLES_FOR_CI, "enough").ci95 is not None
    for bad in ([], [1.0, -2.0], [1.0, float("nan")], [float("inf")]):
        with pytest.raises(stats.StatisticsError):
            stats.summarize(bad, "bad")


# --- perf -------------------------------------------------------------------------------------


def _file_samples(path: Path) -> list[float]:
    if path.suffix == ".json":
        return [float(v) for v in json.loads(path.read_text())]
    return [float(line) for line in path.read_text().split()]


@pytest.mark.parametrize("name", ["latency-ms.txt", "latency-ms.json"])
def test_latency_samples_text_and_json(name: str) -> None:
    path = ARTIFACTS / "latency-samples" / name
    result = normalize(path)
    assert (result.kind, result.format) == ("perf", "latency-samples")
    assert result.data["scope"] == "latency-ms"
    metric = result.data["metrics"]["latency-ms"]
    values = _file_samples(path)
    assert metric["sample_size"] == len(values)
    for key, q in (("p50_ms", 50), ("p95_ms", 95), ("p99_ms", 99)):
        assert metric[key] == float(np.percentile(values, q, method="inverted_cdf"))
    assert metric["ci95"]["lower_ms"] <= metric["p95_ms"] <= metric["ci95"]["upper_ms"]
    assert metric["ci95"]["resamples"] == 2000 and metric["ci95"]["seed"] == stats.DEFAULT_SEED
    assert metric["percentile_method"] == "nearest-rank" and metric["basis"] == "samples"


def test_latency_text_and_json_of_the_same_run_agree() -> None:
    text = normalize(ARTIFACTS / "latency-samples" / "latency-ms.txt").data["metrics"]["latency-ms"]
    array = normalize(ARTIFACTS / "latency-samples" / "latency-ms.json").data["metrics"]["latency-ms"]
    assert text["sample_size"] == array["sample_size"]
    assert text["p95_ms"] == pytest.approx(array["p95_ms"], rel=1e-9)


def test_latency_object_form_names_the_metric(tmp_path: Path) -> None:
    path = tmp_path / "whatever.json"
    path.write_text(json.dumps({"name": "tick", "samples_ms": list(range(1, 101)), "load_multiplier": 2,
                                "throughput_rps": 450.5}))
    data = normalize(path).data
    assert data["scope"] == "tick"
    metric = data["metrics"]["tick"]
    assert metric["p95_ms"] == 95.0
    assert (metric["load_multiplier"], metric["throughput_rps"]) == (2.0, 450.5)


@pytest.mark.parametrize("content", ["1\n2\nthree\n", "1\n-5\n", '{"samples_ms": [1, "2"]}', '{"samples_ms": [],'
                                     ' "name": "x"}', "[1, true]", '{"samples_ms": [1], "load_multiplier": -1}'])
def test_latency_samples_refuse_bad_input(tmp_path: Path, content: str) -> None:
    path = tmp_path / "tick.txt"
    path.write_text(content)
    with pytest.raises(ReadyPolicyError):
        normalize(path, fmt="latency-samples")


def test_hyperfine_times_become_milliseconds() -> None:
    path = next((ARTIFACTS / "hyperfine-json").glob("*.json"))
    doc = json.loads(path.read_text())
    result = normalize(path)
    assert (result.format, result.producer.tool) == ("hyperfine-json", "hyperfine")
    assert set(result.data["metrics"]) == {r["command"] for r in doc["results"]}
    for entry in doc["results"]:
        metric = result.data["metrics"][entry["command"]]
        times_ms = [t * 1000 for t in entry["times"]]
        assert metric["sample_size"] == len(times_ms)
        assert metric["p95_ms"] == float(np.percentile(times_ms, 95, method="inverted_cdf"))
        assert metric["p50_ms"] == float(np.percentile(times_ms, 50, method="inverted_cdf"))


def test_pytest_benchmark_uses_round_data() -> None:
    path = ARTIFACTS / "pytest-benchmark-json" / "benchmark.json"
    doc = json.loads(path.read_text())
    result = normalize(path)
    assert result.producer.version == doc["version"]
    bench = doc["benchmarks"][0]
    metric = result.data["metrics"][bench["name"].removeprefix("test_")]
    rounds_ms = [v * 1000 for v in bench["stats"]["data"]]
    assert metric["basis"] == "samples" and metric["sample_size"] == len(rounds_ms)
    assert metric["p50_ms"] == float(np.percentile(rounds_ms, 50, method="inverted_cdf"))
    assert metric["p99_ms"] == float(np.percentile(rounds_ms, 99, method="inverted_cdf"))


def test_pytest_benchmark_without_data_reports_an_upper_bound(tmp_path: Path) -> None:
    doc = json.loads((ARTIFACTS / "pytest-benchmark-json" / "benchmark.json").read_text())
    for bench in doc["benchmarks"]:
        bench["stats"].pop("data", None)
        bench["extra_info"] = {"operation": "tick"}
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(doc))
    result = normalize(path)
    stats_in = doc["benchmarks"][0]["stats"]
    metric = result.data["metrics"]["tick"]
    assert metric["basis"] == "summary" and metric["ci95"] is None
    assert metric["p50_ms"] == pytest.approx(stats_in["median"] * 1000)
    assert metric["p95_ms"] == metric["p99_ms"] == pytest.approx(stats_in["max"] * 1000)
    assert metric["sample_size"] == stats_in["rounds"]
    assert result.warnings


# --- chaos ------------------------------------------------------------------------------------


def test_chaos_only_a_held_steady_state_passes() -> None:
    results = {p.stem: normalize(p).data for p in (ARTIFACTS / "chaostoolkit-journal").glob("*.json")}
    holds = results.pop("steady-holds")
    assert holds["passed"] is True and holds["steady_state_before"] is True and holds["steady_state_after"] is True
    assert holds["scenarios"] == ["rpsample", "pricing"]
    assert holds["scope"] == "pricing-stays-available-while-the-cache-is-flushed"  # the title, not a tag
    assert results, "expected failing journals next to steady-holds.json"
    for name, data in results.items():
        assert data["passed"] is False, name
    assert results["deviated"]["deviated"] is True and results["deviated"]["status"] == "completed"
    not_met = results["not-met-before-method"]
    assert (not_met["status"], not_met["steady_state_before"], not_met["deviated"]) == ("completed", False, False)
    if "aborted" in results:
        assert results["aborted"]["status"] == "aborted"


def test_chaos_completed_without_hypothesis_does_not_pass(tmp_path: Path) -> None:
    doc = json.loads((ARTIFACTS / "chaostoolkit-journal" / "steady-holds.json").read_text())
    doc["steady_states"] = {"before": None, "after": None, "during": []}
    doc["experiment"]["tags"] = ["Clock Skew", "timeout", "clock-skew"]
    path = tmp_path / "journal.json"
    path.write_text(json.dumps(doc))
    data = normalize(path).data
    assert data["passed"] is False and data["steady_state_before"] is None
    assert data["scenarios"] == ["clock-skew", "timeout"]
    assert data["scope"] == "pricing-stays-available-while-the-cache-is-flushed"


# --- telemetry --------------------------------------------------------------------------------


def test_promtool_rule_test_outputs() -> None:
    passed = normalize(ARTIFACTS / "promtool" / "test-rules-pass.txt")
    assert (passed.kind, passed.format, passed.data["scope"]) == ("telemetry", "promtool", "rule-tests")
    assert passed.data["passed"] is True and passed.data["failures"] == [] and passed.data["tests"] is None
    failed = normalize(ARTIFACTS / "promtool" / "test-rules-fail.txt").data
    assert failed["passed"] is False
    assert len(failed["failures"]) == 2
    assert any("HighErrorRatio" in f for f in failed["failures"])


def test_promtool_output_without_verdict_is_a_failure(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    path.write_text("Processing test file: a.yml\n  SUCCESS\n\nProcessing test file: b.yml\n")
    data = normalize(path).data
    assert data["passed"] is False and data["files"] == [{"file": "a.yml", "passed": True}, {"file": "b.yml", "passed": False}]


def test_prometheus_rules_list_alerts_without_runbook(tmp_path: Path) -> None:
    data = normalize(ARTIFACTS / "promtool" / "rules.yml").data
    assert data["source"] == "rules" and data["groups"] == 1
    assert (data["alerting_rules"], data["recording_rules"]) == (2, 1)
    assert data["alerts_without_runbook"] == ["HighErrorRatio", "InstanceDown"]
    assert data["labels"] == ["component", "lane", "severity"]
    path = tmp_path / "rules.yml"
    path.write_text("groups:\n  - name: g\n    rules:\n"
                    "      - alert: Documented\n        expr: up == 0\n"
                    "        annotations: {runbook_url: 'https://runbooks.example/up'}\n"
                    "      - alert: Blank\n        expr: up == 0\n        annotations: {runbook_url: ' '}\n")
    assert normalize(path).data["alerts_without_runbook"] == ["Blank"]


def test_promtool_test_files_are_not_rule_files() -> None:
    with pytest.raises(ReadyPolicyError, match="unrecognized"):
        normalize(ARTIFACTS / "promtool" / "rules_test.yml")


def test_exposition_clean_has_no_violations() -> None:
    data = normalize(ARTIFACTS / "prometheus-exposition" / "clean.prom").data
    assert data["scope"] == "exposition" and data["violations"] == []
    assert set(data["label_values"]) == {"component", "lane", "operation", "status"}
    assert data["label_values"]["lane"] == ["candidate", "production"]
    assert data["series"] == sum(1 for line in (ARTIFACTS / "prometheus-exposition" / "clean.prom").read_text().splitlines()
                                 if line and not line.startswith("#"))


def test_exposition_flags_ids_uuids_and_timestamps() -> None:
    data = normalize(ARTIFACTS / "prometheus-exposition" / "high-cardinality.prom").data
    reasons = {(v["label"], v["reason"]) for v in data["violations"]}
    assert {("request_id", "id-label-name"), ("request_id", "uuid-value"), ("user_id", "id-label-name"),
            ("ts", "long-number-value")} <= reasons
    assert not any(v["label"] in {"lane", "component", "operation", "status"} for v in data["violations"])
    assert data["label_cardinality"]["request_id"] == 12


def test_exposition_caps_values_and_parses_escapes(tmp_path: Path) -> None:
    lines = ["# TYPE x counter"] + [f'x_total{{shard="s{i:03}",path="a\\"b\\\\c"}} {i}' for i in range(80)]
    path = tmp_path / "metrics.prom"
    path.write_text("\n".join(lines) + "\n")
    data = normalize(path).data
    assert len(data["label_values"]["shard"]) == 50 and data["label_cardinality"]["shard"] == 80
    assert data["label_values"]["path"] == ['a"b\\c']
    assert data["metrics"] == 1 and data["violations"] == []


# --- schema -----------------------------------------------------------------------------------


def _pair(tmp_path: Path, current: str, **extra: Any) -> Path:
    for schema in (ARTIFACTS / "jsonschema-snapshot").glob("*.json"):
        shutil.copy(schema, tmp_path / schema.name)
    path = tmp_path / "pair.json"
    path.write_text(json.dumps({"apiVersion": "readypolicy.dev/v1", "kind": "SchemaSnapshotPair",
                                "snapshot": "golden.schema.json", "current": current, **extra}))
    return path


def test_schema_breaking_changes(tmp_path: Path) -> None:
    data = normalize(_pair(tmp_path, "current-breaking.schema.json", name="deployment-request")).data
    assert data["scope"] == "deployment-request"
    assert {(c["path"], c["change"]) for c in data["breaking"]} == {
        ("#/properties/notes", "removed-property"), ("#/properties/replicas", "type-narrowed"),
        ("#/properties/owner", "new-required"), ("#/properties/strategy", "enum-value-removed")}
    assert data["breaking_count"] == 4
    golden = json.loads((ARTIFACTS / "jsonschema-snapshot" / "golden.schema.json").read_text())
    from readypolicy.canonical import digest
    assert data["snapshot_digest"] == digest(golden)


def test_schema_compatible_changes(tmp_path: Path) -> None:
    data = normalize(_pair(tmp_path, "current-compatible.schema.json")).data
    assert data["breaking"] == [] and data["breaking_count"] == 0
    assert {c["change"] for c in data["compatible"]} == {"added-property", "enum-value-added", "constraint-relaxed"}


def test_schema_inline_and_nested_changes(tmp_path: Path) -> None:
    old = {"type": "object", "properties": {"items": {"type": "array", "items": {
        "type": "object", "required": ["id"], "properties": {"id": {"type": "string"}, "kind": {"enum": ["a", "b"]}}}}}}
    new = json.loads(json.dumps(old))
    inner = new["properties"]["items"]["items"]
    inner["required"].append("size")
    inner["properties"]["kind"]["enum"] = ["a"]
    inner["properties"]["size"] = {"type": "integer"}
    inner["properties"]["id"]["type"] = ["string", "null"]
    path = tmp_path / "pair.json"
    pair = {"apiVersion": "readypolicy.dev/v1", "kind": "SchemaSnapshotPair", "snapshot": old, "current": new}
    path.write_text(json.dumps(pair))
    data = normalize(path).data
    base = "#/properties/items/items/properties"
    assert {(c["path"], c["change"]) for c in data["breaking"]} == {
        (f"{base}/size", "new-required"), (f"{base}/kind", "enum-value-removed")}
    assert (f"{base}/id", "type-widened") in {(c["path"], c["change"]) for c in data["compatible"]}


@pytest.mark.parametrize("reference", ["../golden.schema.json", "/etc/hostname", "sub/../../x.json", "C:\\x.json"])
def test_schema_pair_paths_are_confined(tmp_path: Path, reference: str) -> None:
    inner = tmp_path / "inner"
    inner.mkdir()
    path = _pair(inner, reference)
    with pytest.raises(ReadyPolicyError, match=r"absolute|leaves|outside"):
        normalize(path)


def test_schema_pair_symlink_escape_is_refused(tmp_path: Path) -> None:
    inner = tmp_path / "inner"
    inner.mkdir()
    (tmp_path / "secret.json").write_text("{}")
    (inner / "link.json").symlink_to(tmp_path / "secret.json")
    with pytest.raises(ReadyPolicyError, match="outside"):
        normalize(_pair(inner, "link.json"))


def test_a_bare_schema_is_not_a_pair() -> None:
    with pytest.raises(ReadyPolicyError):
        normalize(ARTIFACTS / "jsonschema-snapshot" / "golden.schema.json", kind="schema")


# --- architecture and complexity --------------------------------------------------------------


def test_import_linter_contracts() -> None:
    result = normalize(ARTIFACTS / "import-linter" / "lint-imports.txt")
    assert result.kind == "architecture"
    assert result.data == {"tool": "import-linter", "contracts_kept": 1, "contracts_broken": 1,
                           "kept": ["Pricing does not import the shell runner"], "broken": ["Runner does not reach settings"]}


def test_import_linter_summary_must_match(tmp_path: Path) -> None:
    text = (ARTIFACTS / "import-linter" / "lint-imports.txt").read_text()
    path = tmp_path / "lint.txt"
    path.write_text(text.replace("Runner does not reach settings BROKEN\n", ""))
    with pytest.raises(ReadyPolicyError, match="summary"):
        normalize(path)


def test_radon_cyclomatic() -> None:
    doc = json.loads((ARTIFACTS / "radon-json" / "cc.json").read_text())
    scores = [block["complexity"] for blocks in doc.values() for block in blocks]
    data = normalize(ARTIFACTS / "radon-json" / "cc.json").data
    assert (data["scope"], data["blocks"], data["max"]) == ("cyclomatic", len(scores), max(scores))
    assert data["average"] == pytest.approx(sum(scores) / len(scores), abs=1e-4)
    assert data["worst"][0]["name"] == "shipping_band" and data["worst"][0]["rank"] == "C"
    assert sum(data["ranks"].values()) == len(scores)


def test_radon_maintainability() -> None:
    data = normalize(ARTIFACTS / "radon-json" / "mi.json").data
    assert data["scope"] == "maintainability" and data["max"] is None
    assert data["worst"][0]["file"] == "rpsample/pricing.py"
    assert data["min"] == pytest.approx(47.4033, abs=1e-3)


def test_xenon_failures_and_empty_output_refused() -> None:
    data = normalize(ARTIFACTS / "xenon" / "xenon-fail.txt").data
    assert data["passed"] is False
    assert {(v["subject"], v["rank"]) for v in data["violations"]} == {("block", "C"), ("module", "B")}
    assert data["worst"][0] == {
        "name": "shipping_band", "file": "rpsample/pricing.py", "line": 17, "complexity": None, "rank": "C"}
    with pytest.raises(ReadyPolicyError):
        normalize(ARTIFACTS / "xenon" / "xenon-pass.txt")
    with pytest.raises(ReadyPolicyError, match="empty"):  # xenon logs to stderr: empty proves no pass
        normalize(ARTIFACTS / "xenon" / "xenon-pass.txt", fmt="xenon")


def test_xenon_refuses_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "xenon.txt"
    path.write_text('ERROR:xenon:module \'a.py\' has a rank of B\nTraceback (most recent call last):\n')
    with pytest.raises(ReadyPolicyError, match="line 2"):
        normalize(path)


# --- docs -------------------------------------------------------------------------------------


def _docs_tree(root: Path) -> Path:
    (root / "api").mkdir(parents=True)
    (root / "api" / "public.md").write_text("# API\n")
    (root / "runbook.md").write_text("steps\n")
    (root / "empty.md").write_text("")
    return root


def test_docs_listing(tmp_path: Path) -> None:
    root = _docs_tree(tmp_path / "docs")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.md").write_text("secret")
    (root / "link-dir").symlink_to(outside)
    (root / "link-file").symlink_to(outside / "secret.md")
    os.mkfifo(root / "pipe")
    artifact, result = normalize_path(root, IngestOptions(module="demo", revision="r1", kind="docs"))
    assert result.kind == "docs"
    files = {f["path"]: f for f in result.data["files"]}
    assert set(files) == {"api/public.md", "empty.md", "runbook.md"}
    assert files["runbook.md"]["bytes"] == 6 and files["empty.md"]["bytes"] == 0
    assert files["runbook.md"]["sha256"].startswith("sha256:")
    assert {s["path"]: s["reason"] for s in result.data["skipped"]} == {
        "link-dir": "symlink", "link-file": "symlink", "pipe": "not a regular file"}
    copy = _docs_tree(tmp_path / "copy")
    again, _ = normalize_path(copy, IngestOptions(module="demo", revision="r1", kind="docs"))
    assert json.loads(again.raw)["files"] == json.loads(artifact.raw)["files"]


def test_docs_listing_is_content_addressed(tmp_path: Path) -> None:
    first, _ = normalize_path(_docs_tree(tmp_path / "a"), IngestOptions(module="m", revision="r"))
    second, _ = normalize_path(_docs_tree(tmp_path / "b"), IngestOptions(module="m", revision="r"))
    assert first.sha256 == second.sha256
    (tmp_path / "b" / "runbook.md").write_text("changed\n")
    third, _ = normalize_path(tmp_path / "b", IngestOptions(module="m", revision="r"))
    assert third.sha256 != first.sha256


def test_docs_listing_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "many"
    root.mkdir()
    for i in range(6):
        (root / f"f{i}.md").write_text("x")
    monkeypatch.setattr(docs_listing, "MAX_FILES", 5)
    with pytest.raises(ReadyPolicyError, match="more than 5 files"):
        normalize_path(root, IngestOptions(module="m", revision="r", kind="docs"))


def test_docs_refuses_a_json_file_posing_as_a_listing(tmp_path: Path) -> None:
    path = tmp_path / "listing.json"
    path.write_text(json.dumps({"listing": docs_listing.LISTING, "files": [], "skipped": []}))
    with pytest.raises(ReadyPolicyError):
        normalize(path, kind="docs")


# --- operations -------------------------------------------------------------------------------


EXPECTED_TYPES = {
    "killswitch-drill.yaml": "killswitch-drill", "shadow-traffic.yaml": "shadow-traffic", "gdpr.json": "gdpr",
    "audit-logging.yaml": "audit-logging", "dr-drill.yaml": "dr-drill", "canary.yaml": "canary", "load-test.json": "load-test",
}


@pytest.mark.parametrize("name", sorted(EXPECTED_TYPES))
def test_operations_records(name: str) -> None:
    result = normalize(OPERATIONS / name)
    assert result.kind == "operations"
    assert result.data["type"] == result.data["scope"] == EXPECTED_TYPES[name]
    assert result.data["result"] in {"passed", "failed"}
    assert result.collected_at == result.data["performed_at"]


def test_operations_yaml_timestamp_and_metadata() -> None:
    data = normalize(OPERATIONS / "killswitch-drill.yaml").data
    assert data["performed_at"] == "2026-11-20T10:00:00.000000Z"
    assert data["details"] == {"safety_control": "pricing_guard", "fail_closed_ms": 120}
    assert data["name"] == "pricing-guard-drill"


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["details"].pop("fail_closed_ms"), "fail_closed_ms"),
    (lambda d: d.update(result="ok"), "result"),
    (lambda d: d.update(surprise=1), r"does not allow \(allowed: apiVersion, kind, "),  # the key's name is artifact text
    (lambda d: d.update(performed_at="last tuesday"), "performed_at"),
    (lambda d: d["details"].update(fail_closed_ms="fast"), "fail_closed_ms"),
])
def test_operations_records_are_validated(tmp_path: Path, change: Any, message: str) -> None:
    doc = {"apiVersion": "readypolicy.dev/v1", "kind": "KillSwitchDrill", "performed_at": "2026-11-20T10:00:00Z",
           "result": "passed", "details": {"safety_control": "guard", "fail_closed_ms": 100}}
    change(doc)
    path = tmp_path / "record.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ReadyPolicyError, match=message):
        normalize(path)
