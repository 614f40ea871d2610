"""The `perf` metric shape shared by every normalizer that reads raw latency samples.

pytest-benchmark, hyperfine and plain sample lists all end up as one metric entry built here, so
the percentile method, the interval and the field names cannot drift between formats.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeGuard

from readypolicy.evidence.stats import CI_METHOD, PERCENTILE_METHOD, summarize


def metric_from_samples(
    samples_ms: Iterable[float], what: str, load_multiplier: float | None = None, throughput_rps: float | None = None
) -> dict[str, Any]:
    """A `perf` metric (p50/p95/p99, the bootstrap CI of p95, mean/max/stddev) from latency samples in milliseconds."""
    summary = summarize(samples_ms, what)
    interval = summary.ci95
    return {
        "sample_size": summary.sample_size,
        "p50_ms": summary.p50,
        "p95_ms": summary.p95,
        "p99_ms": summary.p99,
        "ci95": None if interval is None else {
            "statistic": "p95", "lower_ms": interval.lower, "upper_ms": interval.upper,
            "resamples": interval.resamples, "seed": interval.seed, "method": CI_METHOD,
            "confidence": interval.confidence,
        },
        "load_multiplier": load_multiplier,
        "throughput_rps": throughput_rps,
        "basis": "samples",
        "percentile_method": PERCENTILE_METHOD,
        "mean_ms": summary.mean,
        "max_ms": summary.maximum,
        "stddev_ms": summary.stddev,
    }


def is_number(value: Any) -> TypeGuard[int | float]:
    """True for JSON numbers (bool is an int subclass in Python but not a number in JSON)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def all_numbers(values: list[Any]) -> bool:
    """Whether `is_number` holds for every value: one pass over their types when they are all plain int or float."""
    return set(map(type, values)) <= {int, float} or all(is_number(value) for value in values)
