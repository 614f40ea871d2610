"""The bootstrap interval drawn once per sample size gives the very numbers of the textbook procedure.

`stats.bootstrap_percentile_ci` now keeps only the drawn positions (they depend on the sample size,
the percentile, the resample count, the seed and the confidence, never on the values) and caches them
per process. The oracle here is the original value-sorting procedure written out independently: every
interval must be identical to it, float for float, including samples with ties, a second sample of
the same size (the cache must not hand one artifact's bounds to another) and other seeds and levels.
"""

from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest

from readypolicy.evidence import stats


def textbook_interval(ordered: list[float], q: float, resamples: int, seed: int, confidence: float) -> tuple[float, float]:
    """Nearest-rank percentile of each resample's estimate, the estimates sorted by value."""
    n = len(ordered)
    rank = max(1, math.ceil(Fraction(q) * n / 100))
    rng = random.Random(seed)
    estimates = sorted(ordered[min(int(rng.betavariate(rank, n - rank + 1) * n), n - 1)] for _ in range(resamples))
    tail = (1 - Fraction(confidence).limit_denominator(10**6)) / 2 * 100

    def at(p: float | Fraction) -> float:
        return estimates[max(1, math.ceil(Fraction(p) * resamples / 100)) - 1]

    return at(tail), at(100.0 - tail)


def _samples(rng: random.Random, n: int, digits: int) -> list[float]:
    return sorted(round(rng.lognormvariate(0, 0.6) * 40, digits) for _ in range(n))


@pytest.mark.parametrize("n", [2, 20, 21, 400, 1000])
@pytest.mark.parametrize(("q", "confidence"), [(95.0, 0.95), (99.0, 0.9), (50.0, 0.99), (100.0, 0.95)])
def test_interval_is_identical_to_the_textbook_procedure(n: int, q: float, confidence: float) -> None:
    rng = random.Random(n * 1000 + int(q))
    for digits in (0, 3):  # 0 digits: many ties, where sorting positions and sorting values must still agree
        ordered = _samples(rng, n, digits)
        got = stats.bootstrap_percentile_ci(ordered, q, 500, stats.DEFAULT_SEED, confidence)
        assert (got.lower, got.upper) == textbook_interval(ordered, q, 500, stats.DEFAULT_SEED, confidence)


def test_default_interval_of_a_load_test_is_identical_and_per_sample() -> None:
    """Two load tests of 400 requests: the second reuses the draw, and still gets its own bounds."""
    rng = random.Random(7)
    first, second = _samples(rng, 400, 3), [value * 3 + 1 for value in _samples(rng, 400, 3)]
    for ordered in (first, second, first):
        summary = stats.summarize(ordered, "latency")
        assert summary.ci95 is not None
        expected = textbook_interval(ordered, 95.0, stats.DEFAULT_RESAMPLES, stats.DEFAULT_SEED, stats.DEFAULT_CONFIDENCE)
        assert (summary.ci95.lower, summary.ci95.upper) == expected
    other_seed = stats.bootstrap_percentile_ci(first, seed=stats.DEFAULT_SEED + 1)
    assert (other_seed.lower, other_seed.upper) == textbook_interval(first, 95.0, 2000, stats.DEFAULT_SEED + 1, 0.95)
