"""Latency statistics for perf evidence: percentiles and a bootstrap confidence interval of a percentile.

Perf formats that carry raw samples (latency lists, hyperfine runs, pytest-benchmark rounds) are
summarised here, so every format reports the same p95 for the same samples and a policy can judge
them alike.

Percentiles use the nearest-rank method, as the readiness protocol and docs/evidence/perf.md say:
the q-th percentile of n sorted samples is the sample of 1-based rank ceil(q/100 * n) (rank 1 for
q = 0). It is always a latency that was really observed, never a value between two of them.

The confidence interval is a percentile bootstrap on the same method: resample the samples with
replacement, take the nearest-rank percentile of each resample, and take the nearest-rank 2.5th and
97.5th percentiles of those estimates. Drawing and sorting n values per resample would cost
O(n log n) each (2000 resamples of 10,000 samples is seconds of pure Python), so the one order
statistic each resample needs is drawn directly instead, which is exact, not an approximation:
resampling n values with replacement from the sorted sample is the same as drawing n uniform indices
floor(n * U_i), and since floor is monotone the k-th smallest index is floor(n * U_(k)), where the
k-th order statistic of n uniforms is Beta(k, n - k + 1) distributed. Each resample therefore costs
one random draw regardless of n, and the result has the same distribution as the textbook procedure;
a fixed seed makes it reproducible, and both seed and resample count are recorded.
"""

from __future__ import annotations

import math
import operator
import random
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from readypolicy.errors import ReadyPolicyError

PERCENTILE_METHOD = "nearest-rank"
"""Name of the percentile definition (numpy's `method="inverted_cdf"`), recorded with every metric."""
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
    """p50/p95/p99 of a sample, the bootstrap interval of its p95, and mean/max/stddev."""

    sample_size: int
    """Number of samples summarised."""
    p50: float
    """Median (nearest rank)."""
    p95: float
    """95th percentile (nearest rank)."""
    p99: float
    """99th percentile (nearest rank)."""
    ci95: ConfidenceInterval | None
    """Bootstrap 95% interval of p95, or None when there are fewer than MIN_SAMPLES_FOR_CI samples."""
    mean: float
    """Arithmetic mean (users gate on it next to the percentiles; it is what tools print first)."""
    maximum: float
    """The slowest sample."""
    stddev: float | None
    """Sample standard deviation (n - 1 denominator, as hyperfine and pytest-benchmark print it); None for n = 1."""


def checked_samples(values: Iterable[float], what: str) -> list[float]:
    """The values as floats, refusing an empty sample and negative or non-finite values (not latencies).

    Most samples are fine: converted in one pass and accepted when their sum is finite (so none is
    NaN or infinite) and the smallest is not negative; anything else is read one value at a time below,
    which finds the first bad value and words the refusal.
    """
    values = list(values)
    try:
        converted = list(map(float, values))
    except (TypeError, ValueError, OverflowError):
        converted = []
    if converted and math.isfinite(sum(converted)) and min(converted) >= 0:
        return converted
    result: list[float] = []
    for value in values:
        number = float(value)
        if not math.isfinite(number) or number < 0:
            raise StatisticsError(f"{what}: sample {value!r} is not a finite non-negative number")
        result.append(number)
    if not result:
        raise StatisticsError(f"{what}: no samples")
    return result


def nearest_rank(n: int, q: float | Fraction) -> int:
    """The 1-based rank ceil(q/100 * n) of the q-th percentile among n samples (at least 1).

    Computed in exact rational arithmetic: q/100 * n in floating point can land just above an
    integer (0.07 * 100 = 7.000000000000001) and ceil would then pick the next sample.
    """
    if n < 1:
        raise StatisticsError("percentile of an empty sample")
    if not 0.0 <= q <= 100.0:
        raise StatisticsError(f"percentile {q} is outside 0..100")
    return max(1, math.ceil(Fraction(q) * n / 100))


def percentile(ordered: Sequence[float], q: float | Fraction) -> float:
    """The q-th percentile (0-100) of already sorted values by the nearest-rank method."""
    return ordered[nearest_rank(len(ordered), q) - 1]


def bootstrap_percentile_ci(
    ordered: Sequence[float],
    q: float = 95.0,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = DEFAULT_CONFIDENCE,
) -> ConfidenceInterval:
    """Percentile-bootstrap interval of the q-th nearest-rank percentile of sorted samples (see module doc)."""
    n = len(ordered)
    if n < 2:
        raise StatisticsError("a bootstrap interval needs at least 2 samples")
    if resamples < 1 or not 0.0 < confidence < 1.0 or not 0.0 <= q <= 100.0:
        raise StatisticsError(f"bad bootstrap parameters: resamples={resamples} confidence={confidence} q={q}")
    lower, upper = _interval_ranks(n, nearest_rank(n, q), resamples, seed, confidence)
    return ConfidenceInterval(
        percentile=q, lower=ordered[lower], upper=ordered[upper], confidence=confidence, resamples=resamples, seed=seed,
    )


@lru_cache(maxsize=256)
def _interval_ranks(n: int, rank: int, resamples: int, seed: int, confidence: float) -> tuple[int, int]:
    """0-based positions in the sorted samples of the interval's lower and upper bound.

    Each resample's estimate is the sample at a drawn position, and the samples are sorted, so sorting
    the positions sorts the estimates: the bounds are the samples at the nearest-rank tail positions.
    They depend on the sample size, never on the values, so a process that summarises many samples of
    one size (a load test's fixed request count) draws them once; the numbers are the same either way.
    """
    rng = random.Random(seed)
    positions = sorted(min(int(rng.betavariate(rank, n - rank + 1) * n), n - 1) for _ in range(resamples))
    # Exact: in floats (1 - 0.95) / 2 * 100 is 2.5000000000000027, whose rank in 2000 estimates is 51, not 50.
    tail = (1 - Fraction(confidence).limit_denominator(10**6)) / 2 * 100
    return positions[nearest_rank(resamples, tail) - 1], positions[nearest_rank(resamples, 100.0 - tail) - 1]


def summarize(
    samples: Iterable[float], what: str, resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED
) -> LatencySummary:
    """p50/p95/p99, the p95 bootstrap interval, mean, max and stddev of a latency sample (`what` names it in errors)."""
    ordered = sorted(checked_samples(samples, what))
    interval = bootstrap_percentile_ci(ordered, 95.0, resamples, seed) if len(ordered) >= MIN_SAMPLES_FOR_CI else None
    return LatencySummary(
        sample_size=len(ordered), p50=percentile(ordered, 50.0), p95=percentile(ordered, 95.0),
        p99=percentile(ordered, 99.0), ci95=interval, mean=statistics.fmean(ordered), maximum=ordered[-1],
        stddev=sample_stdev(ordered) if len(ordered) > 1 else None,
    )


def sample_stdev(samples: Sequence[float]) -> float:
    """`statistics.stdev(samples)`, the same float, three to four times faster (finite floats, at least two).

    `statistics.stdev` sums the samples exactly as Fractions, one object per sample, and takes a
    correctly rounded square root of the exact variance. Here the exact sums are plain integers (each
    float is an integer over a power of two, so all share one denominator: `_common_integers`), and the exact
    variance goes to the same correctly rounded square root; where this Python has none under that
    name, `statistics.stdev` itself answers. tests/test_ingest_speed_reading.py holds the two equal.
    """
    sqrt_of_fraction = getattr(statistics, "_float_sqrt_of_frac", None)
    if sqrt_of_fraction is None:
        return statistics.stdev(samples)
    scaled, common = _common_integers(samples)
    count = len(scaled)
    total = sum(scaled)
    squares = sum(map(operator.mul, scaled, scaled))
    variance = Fraction(count * squares - total * total, count * (count - 1) * common * common)
    root: float = sqrt_of_fraction(variance.numerator, variance.denominator)
    return root


def _common_integers(samples: Sequence[float]) -> tuple[list[int], int]:
    """Integers and one power of two `common` with `integers[i] / common == samples[i]` exactly.

    Any such `common` gives `sample_stdev` the same exact variance (it cancels in the Fraction). A
    float m * 2**e (m in [0.5, 1), 53 bits) times 2**(53 - e) is an integer, and so is every float of
    a larger magnitude; multiplying by a power of two is exact in floating point while the product
    stays finite and normal. So the scale set by the smallest magnitude turns every sample into its
    integer with one multiplication; where it cannot (subnormals, or a span past the float range),
    each float's own integer ratio is taken instead.
    """
    smallest = min(filter(None, map(abs, samples)), default=1.0)
    shift = max(0, 53 - math.frexp(smallest)[1])
    if shift <= 1023 and math.frexp(max(map(abs, samples)))[1] + shift <= 1024:
        scale = math.ldexp(1.0, shift)
        return list(map(int, map(scale.__mul__, samples))), 1 << shift
    ratios = list(map(float.as_integer_ratio, samples))
    common = max(denominator for _numerator, denominator in ratios)  # powers of two: each divides the largest
    return [numerator * (common // denominator) for numerator, denominator in ratios], common
