"""Red-team round 3: latency samples that are not the run, or not the unit, their own file states.

perf.slo judges the CI95 upper bound of p95 computed from a report's raw samples. Two shapes let a
slow operation pass a 100 ms budget. pytest-benchmark and hyperfine write every run beside their
own summary of the runs (`rounds`, `min`, `max`, `median`, `mean`); only the runs were read, so a
file cut down to its fast rounds (the summary still saying 40 rounds, max 153 ms) was judged on
the subset. And the latency-samples object ignored every key but its four: `{"unit": "s",
"samples_ms": [0.08, ...]}` stored 80 ms samples as 0.08 ms. Expected figures are computed here
from the raw files with json and numpy, never from the normalizer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from policy_project import ARTIFACTS, REPO, Project, make_project
from support import FIXTURES
from test_governance import _check
from test_redteam_ingest import EVAL, INGEST, _protocol_perf, _refused

VARIANTS = FIXTURES / "audit-perf-variants"
BUDGET_MS = 100.0
"""The `tick_p95_ms` budget of policy_project's manifest (and the integration lane's ceiling)."""


def _p95_ms(samples_ms: list[float]) -> float:
    """The nearest-rank p95 (numpy's inverted_cdf), as docs/evidence/perf.md defines it."""
    return float(np.percentile(samples_ms, 95, method="inverted_cdf"))


def _slo(project: Project) -> dict[str, Any]:
    """The project's perf.slo result in the integration lane."""
    [record] = project.eval_records(*EVAL)
    return _check(record, "perf.slo")


def _benchmark() -> dict[str, Any]:
    """pytest-benchmark's real report of the slow tick (see the fixture's SOURCES.md)."""
    doc: dict[str, Any] = json.loads((VARIANTS / "benchmark-tick.json").read_text(encoding="utf-8"))
    return doc


def test_the_real_benchmark_of_a_slow_tick_fails_the_slo(tmp_path: Path) -> None:
    """Control: pytest-benchmark's unmodified report, 6 of 40 rounds at 150 ms, fails the 100 ms budget."""
    stats = _benchmark()["benchmarks"][0]["stats"]
    assert stats["rounds"] == len(stats["data"]) == 40
    assert _p95_ms([v * 1000 for v in stats["data"]]) > BUDGET_MS
    project = make_project(tmp_path)
    assert project.run(*INGEST, str(VARIANTS / "benchmark-tick.json")).exit_code == 0
    assert _slo(project)["status"] == "fail"


def test_a_benchmark_cut_to_its_fast_rounds_does_not_pass_the_slo(tmp_path: Path) -> None:
    """The same report with `stats.data` cut to its first 20 rounds, the summary untouched (rounds 40,
    max 153 ms). Before: ingested, p95 CI95 upper 3.29 ms, perf.slo passed. Now refused at ingest."""
    doc = _benchmark()
    stats = doc["benchmarks"][0]["stats"]
    stats["data"] = stats["data"][:20]
    assert stats["max"] * 1000 > BUDGET_MS and max(stats["data"]) * 1000 < BUDGET_MS / 10
    cut = tmp_path / "benchmark-cut.json"
    cut.write_text(json.dumps(doc), encoding="utf-8")
    project = make_project(tmp_path)
    line = _refused(project, cut)
    assert line.endswith("benchmarks[0]: it states 40 rounds but holds 20 sample(s): a p95 of part of a run is "
                         "no p95 of it"), line
    assert _slo(project)["status"] != "pass"


def _cut_benchmark(tmp_path: Path) -> Path:
    """The benchmark cut to its 20 fast rounds with `rounds` edited to match: only the max and mean still say 40."""
    doc = _benchmark()
    stats = doc["benchmarks"][0]["stats"]
    stats["data"], stats["rounds"] = stats["data"][:20], 20
    path = tmp_path / "benchmark.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _cut_hyperfine(tmp_path: Path) -> Path:
    """hyperfine's real report of `sleep 0.01` and `true` with the slowest run of `sleep 0.01` left out."""
    doc = json.loads((ARTIFACTS / "hyperfine-json" / "hyperfine-sleep-vs-true.json").read_text(encoding="utf-8"))
    result = doc["results"][0]
    slowest = result["times"].index(max(result["times"]))
    for key in ("times", "exit_codes"):
        del result[key][slowest]
    path = tmp_path / "hyperfine.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


@pytest.mark.parametrize(("cut", "problem"), [
    (_cut_benchmark, "benchmarks[0]: its stated max"),
    (_cut_hyperfine, "results[0]: its stated max"),
])
def test_samples_that_are_not_the_run_their_summary_describes_are_refused(tmp_path: Path, cut: Any, problem: str) -> None:
    """A count edited to match, or a format that states no count: the stated max still tells."""
    path = cut(tmp_path)
    assert problem in _refused(make_project(tmp_path), path)


def test_a_samples_file_that_says_its_unit_is_seconds_does_not_pass_the_slo(tmp_path: Path) -> None:
    """`{"name": "tick", "unit": "s", "samples_ms": [...]}`: 200 samples in seconds, p95 181 ms.
    Before: stored as p95 0.181 ms and perf.slo passed. Now the key outside the format is refused."""
    report = VARIANTS / "latency-tick-seconds.json"
    doc = json.loads(report.read_text(encoding="utf-8"))
    assert doc["unit"] == "s" and _p95_ms([v * 1000 for v in doc["samples_ms"]]) > BUDGET_MS
    project = make_project(tmp_path)
    line = _refused(project, report)
    assert "holds 1 key(s) besides name, samples_ms, load_multiplier and throughput_rps" in line, line
    assert _slo(project)["status"] != "pass"


def test_the_samples_object_in_its_documented_shape_is_still_read(tmp_path: Path) -> None:
    """Control: the four documented keys, and the shipped samples that use two of them, are stored."""
    full = tmp_path / "tick.json"
    full.write_text(json.dumps({"name": "tick", "samples_ms": [float(v) for v in range(1, 41)],
                                "load_multiplier": 2, "throughput_rps": 450}), encoding="utf-8")
    project = make_project(tmp_path)
    for path in (full, REPO / "evidence_samples" / "payments" / "perf" / "latency-tick.json"):
        assert project.run(*INGEST, str(path)).exit_code == 0, path


FIGURES = {"p50_ms": 40.0, "p95_ms": 90.0, "p99_ms": 120.0, "ci95_lower": 85.0, "ci95_upper": 95.0}
"""A protocol perf metric whose stated CI95 upper bound (95 ms) is within the 100 ms budget."""


def test_a_ci95_stated_from_five_samples_does_not_pass_the_slo(tmp_path: Path) -> None:
    """The protocol report states `sample_size: 5` beside a CI95 of p95. readypolicy computes no p95
    interval below 20 samples; before, the stated one was judged and perf.slo passed. Now refused."""
    project = make_project(tmp_path)
    report = _protocol_perf(tmp_path / "perf.json", **FIGURES, sample_size=5)
    assert json.loads(report.read_text(encoding="utf-8"))["performance_metrics"]["tick"]["sample_size"] == 5
    line = _refused(project, report)
    assert line.endswith("metric 1: states a CI95 of p95 from 5 sample(s); a p95 interval needs at least 20 "
                         "(below that fewer than one sample lies above p95)"), line
    assert _slo(project)["status"] != "pass"


@pytest.mark.parametrize("sample_size", [None, "10000", True, 19.5, 19])
def test_a_ci95_without_a_sample_size_that_supports_it_is_refused(tmp_path: Path, sample_size: Any) -> None:
    """No sample_size (key left out), one that is no integer, or one below 20: the interval is refused."""
    metric: dict[str, Any] = {**FIGURES, "bootstrap_resamples": 2000}
    if sample_size is not None:
        metric["sample_size"] = sample_size
    report = tmp_path / "perf.json"
    report.write_text(json.dumps({"module": "payments", "performance_metrics": {"tick": metric}}), encoding="utf-8")
    assert "metric 1: states a CI95 of p95" in _refused(make_project(tmp_path), report)


def test_a_ci95_from_twenty_samples_or_no_ci95_at_all_is_still_read(tmp_path: Path) -> None:
    """Control: 20 samples support an interval; a metric without one needs no sample size (perf.slo then
    says it has no CI95 to judge p95 on)."""
    project = make_project(tmp_path)
    assert project.run(*INGEST, str(_protocol_perf(tmp_path / "twenty.json", **FIGURES, sample_size=20))).exit_code == 0
    assert _slo(project)["status"] == "pass"
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps({"module": "payments", "performance_metrics": {
        "tick": {"p50_ms": 40.0, "p95_ms": 90.0, "p99_ms": 120.0}}}), encoding="utf-8")
    assert project.run(*INGEST, str(bare)).exit_code == 0
