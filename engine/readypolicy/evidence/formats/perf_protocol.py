"""The readiness protocol's own perf artifact: percentiles and a CI95 per metric, plus SLO compliance.

The protocol records the CI bounds as `ci95_lower`/`ci95_upper` around p95; they are kept as a
structured `ci95` so policies judge every perf format the same way (on the upper bound). These
figures are stated, not computed here, so a metric whose percentiles or interval contradict each
other is refused (`order_problem`): an upper bound below its own p95 would pass any budget. So is
an interval stated without a `sample_size` of at least MIN_SAMPLES_FOR_CI, the least readypolicy
computes one from.

The report names its module (`"module": "payments"`); ingest refuses it for any other module, so a
copied or misfiled report of a fast module cannot pass a slow one's SLO.
"""

from __future__ import annotations

from typing import Any

from readypolicy.evidence.formats.latency import order_problem
from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer
from readypolicy.evidence.stats import MIN_SAMPLES_FOR_CI


class PerfProtocol(Normalizer):
    """Readiness-protocol perf JSON → `perf` evidence."""

    kind = "perf"
    format = "readiness-perf-json"
    description = "Readiness protocol perf document (performance_metrics with p50/p95/p99 and ci95 bounds)"

    def detect(self, artifact: Artifact) -> bool:
        return artifact.looks_like_json() and '"performance_metrics"' in artifact.text_or_empty

    def normalize(self, artifact: Artifact) -> Normalized:
        doc = artifact.json()
        metrics_in = doc.get("performance_metrics") if isinstance(doc, dict) else None
        if not isinstance(metrics_in, dict) or not metrics_in:
            raise self.fail(artifact, "'performance_metrics' must be a non-empty object")
        metrics: dict[str, Any] = {}
        for position, (name, item) in enumerate(metrics_in.items(), start=1):
            if not isinstance(item, dict):
                raise self.fail(artifact, f"metric {position} is not an object")
            missing = [key for key in ("p50_ms", "p95_ms", "p99_ms") if not isinstance(item.get(key), int | float)]
            if missing:
                raise self.fail(artifact, f"metric {position} lacks {', '.join(missing)}")
            has_ci = isinstance(item.get("ci95_lower"), int | float) and isinstance(item.get("ci95_upper"), int | float)
            if has_ci and (problem := _too_few_for_an_interval(item.get("sample_size"))):
                raise self.fail(artifact, f"metric {position}: {problem}")
            metrics[name] = {
                "sample_size": item.get("sample_size"),
                "p50_ms": item["p50_ms"], "p95_ms": item["p95_ms"], "p99_ms": item["p99_ms"],
                "ci95": {"statistic": "p95", "lower_ms": item["ci95_lower"], "upper_ms": item["ci95_upper"],
                         "resamples": item.get("bootstrap_resamples"), "seed": item.get("seed")} if has_ci else None,
                "load_multiplier": item.get("load_multiplier"),
                "throughput_rps": item.get("throughput_rps"),
            }
            problem = order_problem(metrics[name])
            if problem is not None:
                raise self.fail(artifact, f"metric {position}: {problem}")
        data: dict[str, Any] = {"metrics": metrics}
        if isinstance(doc.get("slo_compliance"), dict):
            data["slo_compliance"] = doc["slo_compliance"]
        stamp = doc.get("validation_timestamp")
        module = doc.get("module")
        if module is not None and (not isinstance(module, str) or not module):
            raise self.fail(artifact, "'module' must be a non-empty string")
        return Normalized(
            kind=self.kind, format=self.format, producer=Producer("readiness-protocol"), data=data,
            collected_at=stamp if isinstance(stamp, str) else None, module=module,
        )


def _too_few_for_an_interval(sample_size: Any) -> str | None:
    """Why a stated CI95 of p95 cannot come from `sample_size` samples, or None when it can.

    readypolicy computes no p95 interval below MIN_SAMPLES_FOR_CI samples (fewer than one sample lies
    above the 95th percentile); a report stating one from 5 samples, or without saying from how many,
    would be judged on a bound no such sample supports.
    """
    if not isinstance(sample_size, int) or isinstance(sample_size, bool):
        return "states a CI95 of p95 but no integer sample_size: the interval's sample cannot be told"
    if sample_size < MIN_SAMPLES_FOR_CI:
        return (f"states a CI95 of p95 from {sample_size} sample(s); a p95 interval needs at least "
                f"{MIN_SAMPLES_FOR_CI} (below that fewer than one sample lies above p95)")
    return None


NORMALIZER = PerfProtocol()
