"""The `perf` metric shape shared by every normalizer that reads raw latency samples.

pytest-benchmark, hyperfine and plain sample lists all end up as one metric entry built here, so
the percentile method, the interval and the field names cannot drift between formats.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
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


def order_problem(metric: Mapping[str, Any]) -> str | None:
    """What is out of order among a metric's stated figures, or None when they are consistent.

    A metric computed from samples is ordered by construction; one whose figures a report states
    (the protocol's perf JSON, pytest-benchmark's summary) can state anything. Budgets are judged on
    the CI95 upper bound of p95, so a bound below its own p95 (`p95 150, ci95 [10, 20]`) would pass a
    100 ms budget: figures that contradict each other are refused, never judged.
    """
    p50, p95, p99 = metric["p50_ms"], metric["p95_ms"], metric["p99_ms"]
    if not p50 <= p95 <= p99:
        return f"percentiles out of order: p50 {p50} ms, p95 {p95} ms, p99 {p99} ms (p50 <= p95 <= p99 is required)"
    maximum, mean = metric.get("max_ms"), metric.get("mean_ms")
    if maximum is not None and maximum < p99:
        return f"max {maximum} ms is below p99 {p99} ms"
    if maximum is not None and mean is not None and mean > maximum:
        return f"mean {mean} ms is above max {maximum} ms"
    interval = metric.get("ci95")
    if interval is not None and not interval["lower_ms"] <= p95 <= interval["upper_ms"]:
        return (f"CI95 of p95 [{interval['lower_ms']}, {interval['upper_ms']}] ms does not contain p95 {p95} ms"
                " (ci95 lower <= p95 <= ci95 upper is required)")
    return None


def summary_problem(samples: Sequence[float], stated: Mapping[str, Any], count_key: str | None = None) -> str | None:
    """What a report's own summary of its samples (`min`, `max`, `median`, `mean`, a count) says that the samples do not.

    pytest-benchmark and hyperfine write both every run and their summary of those runs. The figures
    are computed from the runs, so a summary that disagrees says the runs are not all there (a file
    cut down to its fast rounds: rounds 40, max 150 ms, but 20 rounds of 2 ms kept) and a p95 and its
    interval from them would describe a subset. Figures the report leaves out are not compared;
    the comparison allows for the rounding of a mean summed in another order.
    """
    if not samples:
        return None  # nothing to compare: summarize refuses an empty sample
    count = stated.get(count_key) if count_key else None
    if is_number(count) and count != len(samples):
        return f"it states {count} {count_key} but holds {len(samples)} sample(s): a p95 of part of a run is no p95 of it"
    computed = {"min": min(samples), "max": max(samples), "median": statistics.median(samples), "mean": statistics.fmean(samples)}
    for key, value in computed.items():
        claim = stated.get(key)
        if is_number(claim) and not math.isclose(claim, value, rel_tol=1e-9):
            return (f"its stated {key} {claim} is not the {key} of its {len(samples)} sample(s) ({value}): "
                    "the samples are not the run the summary describes")
    return None


def is_number(value: Any) -> TypeGuard[int | float]:
    """True for JSON numbers (bool is an int subclass in Python but not a number in JSON)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def all_numbers(values: list[Any]) -> bool:
    """Whether `is_number` holds for every value: one pass over their types when they are all plain int or float."""
    return set(map(type, values)) <= {int, float} or all(is_number(value) for value in values)
