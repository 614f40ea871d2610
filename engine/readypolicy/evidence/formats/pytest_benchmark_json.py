"""pytest-benchmark JSON (`pytest --benchmark-json FILE`).

Each benchmark's `stats.data` holds one time per round (seconds; each the mean of `iterations`
calls). When present, percentiles and the bootstrap interval come from those rounds. Older files
or stripped ones carry only summary statistics: then p50 is the median, p95 and p99 cannot be
computed and are reported as the observed maximum (an upper bound, so a budget check stays
conservative), the interval is null and `basis` says "summary". Mean, max and standard deviation are
kept in both cases (`mean_ms`, `max_ms`, `stddev_ms`): computed from the rounds when there are
rounds, so they agree with the percentiles, else the tool's own summary values.

The metric is named by `extra_info["operation"]` when the benchmark sets it (so it can match a
manifest budget like `tick_p95_ms`), else by the test name without its `test_` prefix.
"""

from __future__ import annotations

from typing import Any

from readypolicy.evidence.formats.latency import all_numbers, is_number, metric_from_samples, order_problem, summary_problem
from readypolicy.evidence.formats.stamps import iso
from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer
from readypolicy.evidence.stats import PERCENTILE_METHOD


class PytestBenchmarkJson(Normalizer):
    """pytest-benchmark JSON → `perf` evidence."""

    kind = "perf"
    format = "pytest-benchmark-json"
    description = "pytest-benchmark --benchmark-json (per-round data when present, else summary stats)"
    priority = 30

    def detect(self, artifact: Artifact) -> bool:
        head = artifact.head
        return head[:1] == "{" and '"machine_info"' in head and '"benchmarks"' in artifact.text_or_empty

    def normalize(self, artifact: Artifact) -> Normalized:
        doc = artifact.json()
        benchmarks = doc.get("benchmarks") if isinstance(doc, dict) else None
        if not isinstance(benchmarks, list) or not benchmarks:
            raise self.fail(artifact, "'benchmarks' must be a non-empty array")
        metrics: dict[str, Any] = {}
        warnings: list[str] = []
        for index, bench in enumerate(benchmarks):
            where = f"benchmarks[{index}]"  # errors name the position, never the benchmark's text
            name = _metric_name(bench)
            if name is None:
                raise self.fail(artifact, "a benchmark has no name")
            if name in metrics:
                raise self.fail(artifact, f"{where}: its metric name appears twice (set extra_info.operation to tell them apart)")
            stats = bench.get("stats")
            if not isinstance(stats, dict):
                raise self.fail(artifact, f"{where} has no stats")
            data = stats.get("data")
            if isinstance(data, list) and data:
                if not all_numbers(data):
                    raise self.fail(artifact, f"{where}: stats.data must be numbers (seconds)")
                if problem := summary_problem(data, stats, count_key="rounds"):
                    raise self.fail(artifact, f"{where}: {problem}")
                metrics[name] = metric_from_samples((v * 1000.0 for v in data), f"{artifact.path}: {where}")
            else:
                metrics[name] = self._from_summary(artifact, where, stats)
                warnings.append(f"benchmark {name!r} has no per-round data; p95/p99 are the maximum, no CI")
        version = doc.get("version")
        return Normalized(
            kind=self.kind, format=self.format,
            producer=Producer("pytest-benchmark", version if isinstance(version, str) else None),
            data={"metrics": metrics}, collected_at=iso(doc.get("datetime")), warnings=tuple(warnings),
        )

    def _from_summary(self, artifact: Artifact, where: str, stats: dict[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {key: stats.get(key) for key in ("median", "max", "mean", "rounds")}
        if not all(is_number(value) and value >= 0 for value in values.values()):
            raise self.fail(artifact, f"{where}: stats lacks median/max/mean/rounds")
        worst = values["max"] * 1000.0
        stddev = stats.get("stddev")
        metric: dict[str, Any] = {
            "sample_size": int(values["rounds"]), "p50_ms": values["median"] * 1000.0,
            "p95_ms": worst, "p99_ms": worst, "ci95": None, "load_multiplier": None, "throughput_rps": None,
            "basis": "summary", "percentile_method": PERCENTILE_METHOD,
            "mean_ms": values["mean"] * 1000.0, "max_ms": worst,
            "stddev_ms": stddev * 1000.0 if is_number(stddev) and stddev >= 0 else None,
        }
        problem = order_problem(metric)  # stated figures, not computed: a median above the max is refused
        if problem is not None:
            raise self.fail(artifact, f"{where}: {problem}")
        return metric


def _metric_name(bench: Any) -> str | None:
    if not isinstance(bench, dict):
        return None
    extra = bench.get("extra_info")
    operation = extra.get("operation") if isinstance(extra, dict) else None
    if isinstance(operation, str) and operation:
        return operation
    name = bench.get("name")
    if not isinstance(name, str) or not name:
        return None
    return name.removeprefix("test_") or name


NORMALIZER = PytestBenchmarkJson()
