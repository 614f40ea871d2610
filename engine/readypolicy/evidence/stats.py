"""Latency statistics for perf evidence: percentiles and a bootstrap confidence interval of a percentile.

Perf formats that carry raw samples (latency lists, hyperfine runs, pytest-benchmark rounds) are
summarised here, so every format reports the same p95 for the same samples and a policy can judge
them alike.

Percentiles use linear interpolation between closest ranks: numpy's default method ("linear",
Hyndman & Fan type 7). The value at q percent sits at virtual index h = q/100 * (n - 1) of the
sorted samples and interpolates between the two neighbours.

The confidence interval is a percentile bootstrap: resample the samples with replacement, compute
the percentile of each resample, and take the 2.5th and 97.5th percentiles of those estimates.
Drawing and sorting n values per resample would cost O(n log n) each (2000 resamples of 10,000
samples is seconds of pure Python), so each resample's two order statistics that the percentile
needs are drawn directly instead, which is exact, not an approximation: resampling n values with
replacement from the sorted sample is the same as drawing n uniform indices floor(n * U_i), and
since floor is monotone the k-th smallest index is floor(n * U_(k)), where the k-th order statistic
of n uniforms is Beta(k, n - k + 1) distributed. Given U_(k) = u, the next one is u plus (1 - u)
times the minimum of the n - k remaining uniforms, which is Beta(1, n - k). Each resample therefore
costs two random draws regardless of n, and the result has the same distribution as the textbook
procedure; a fixed seed makes it reproducible, and both seed and resample count are recorded.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from readypolicy.errors import ReadyPolicyError

PERCENTILE_METHOD = "linear"
"""Name of the percentile definition (numpy's `method="linear"`), recorded with every metric."""
CI_METHOD = "percentile-bootstrap"
"""Name of the interval construction, recorded with every interval."""
DEFAULT_RESAMPLES = 2000
"""Bootstrap resamples when the caller does not choose."""
DEFAULT_SEED = 20260101
"""Fixed seed so the same samples always give the same interval."""
DEFAULT_CONFIDENCE = 0.95
"""Two-sided confidence level of the interval."""
MIN_SAMPLES_FOR_CI = 20
"""Below this a p95 interval is meaningless: fewer than one sample would lie above the 95th percentile."""


class StatisticsError(ReadyPolicyError):
    """Samples cannot be summarised (empty, negative, not finite) or a parameter is out of range."""


@dataclass(frozen=True)
class ConfidenceInterval:
    """A bootstrap confidence interval of one percentile."""

    percentile: float
    """Which percentile the interval is for (95.0 for p95)."""
    lower: float
    """Lower bound, in the samples' unit."""
    upper: float
    """Upper bound, in the samples' unit."""
    confidence: float
    """Two-sided confidence level (0.95)."""
    resamples: int
    """Number of bootstrap resamples drawn."""
    seed: int
    """Seed of `random.Random` that drew them."""


@dataclass(frozen=True)
class LatencySummary:
    """p50/p95/p99 of a sample and the bootstrap interval of its p95."""

    sample_size: int
    """Number of samples summarised."""
    p50: float
    """Median (linear interpolation)."""
    p95: float
    """95th percentile (linear interpolation)."""
    p99: float
    """99th percentile (linear interpolation)."""
    ci95: ConfidenceInterval | None
    """Bootstrap 95% interval of p95, or None when there are fewer than MIN_SAMPLES_FOR_CI samples."""


def checked_samples(values: Iterable[float], what: str) -> list[float]:
    """The values as floats, refusing an empty sample and negative or non-finite values (not latencies)."""
    result: list[float] = []
    for value in values:
        number = float(value)
        if not math.isfinite(number) or number < 0:
            raise StatisticsError(f"{what}: sample {value!r} is not a finite non-negative number")
        result.append(number)
    if not result:
        raise StatisticsError(f"{what}: no samples")
    return result


def _lerp(low: float, high: float, fraction: float) -> float:
    """Interpolate like numpy does, from the nearer end, so results match it to the last bit."""
    difference = high - low
    return high - difference * (1.0 - fraction) if fraction >= 0.5 else low + difference * fraction


def percentile(ordered: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) of already sorted values by linear interpolation (numpy's default)."""
    if not ordered:
        raise StatisticsError("percentile of an empty sample")
    if not 0.0 <= q <= 100.0:
        raise StatisticsError(f"percentile {q} is outside 0..100")
    position = q / 100.0 * (len(ordered) - 1)
    index = math.floor(position)
    fraction = position - index
    if index + 1 >= len(ordered):
        return ordered[-1]
    return _lerp(ordered[index], ordered[index + 1], fraction)


def bootstrap_percentile_ci(
    ordered: Sequence[float],
    q: float = 95.0,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = DEFAULT_CONFIDENCE,
) -> ConfidenceInterval:
    """Percentile-bootstrap interval of the q-th percentile of already sorted samples (see module doc)."""
    n = len(ordered)
    if n < 2:
        raise StatisticsError("a bootstrap interval needs at least 2 samples")
    if resamples < 1 or not 0.0 < confidence < 1.0 or not 0.0 <= q <= 100.0:
        raise StatisticsError(f"bad bootstrap parameters: resamples={resamples} confidence={confidence} q={q}")
    rng = random.Random(seed)
    position = q / 100.0 * (n - 1)
    index = math.floor(position)
    fraction = position - index
    needs_next = fraction > 0.0 and index + 1 < n
    remaining = n - index - 1  # uniforms above the (index+1)-th smallest
    estimates: list[float] = []
    for _ in range(resamples):
        u = rng.betavariate(index + 1, n - index)
        low = ordered[min(int(u * n), n - 1)]
        if needs_next:
            v = u + (1.0 - u) * (1.0 - rng.random() ** (1.0 / remaining))
            estimates.append(_lerp(low, ordered[min(int(v * n), n - 1)], fraction))
        else:
            estimates.append(low)
    estimates.sort()
    tail = (1.0 - confidence) / 2.0 * 100.0
    return ConfidenceInterval(
        percentile=q, lower=percentile(estimates, tail), upper=percentile(estimates, 100.0 - tail),
        confidence=confidence, resamples=resamples, seed=seed,
    )


def summarize(
    samples: Iterable[float], what: str, resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED
) -> LatencySummary:
    """p50/p95/p99 and the p95 bootstrap interval of a latency sample (`what` names it in errors)."""
    ordered = sorted(checked_samples(samples, what))
    interval = bootstrap_percentile_ci(ordered, 95.0, resamples, seed) if len(ordered) >= MIN_SAMPLES_FOR_CI else None
    return LatencySummary(
        sample_size=len(ordered), p50=percentile(ordered, 50.0), p95=percentile(ordered, 95.0),
        p99=percentile(ordered, 99.0), ci95=interval,
    )
