"""Rounding shared by coverage normalizers, so every format reports the same number for the same counts."""

from __future__ import annotations


def percent(covered: int | None, total: int | None) -> float:
    """Percentage 0-100 rounded to 2 decimals; a report that measured nothing is credited nothing."""
    if not total or covered is None:
        return 0.0
    return round(100.0 * covered / total, 2)
