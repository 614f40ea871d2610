"""Rounding shared by coverage normalizers, so every format reports the same number for the same counts."""

from __future__ import annotations


def percent(covered: int | None, total: int | None) -> float:
    """Percentage 0-100 rounded to 2 decimals; a report that measured nothing is credited nothing."""
    if not total or covered is None:
        return 0.0
    return round(100.0 * covered / total, 2)


def coverage_data(
    lines_covered: int, lines_total: int, branches_covered: int | None, branches_total: int | None, files: int
) -> dict[str, object]:
    """`coverage` evidence data; branch fields are null when the report did not measure branches."""
    measured = branches_covered is not None and branches_total is not None
    return {
        "line_percent": percent(lines_covered, lines_total),
        "lines_covered": lines_covered,
        "lines_total": lines_total,
        "branch_percent": percent(branches_covered, branches_total) if measured else None,
        "branches_covered": branches_covered if measured else None,
        "branches_total": branches_total if measured else None,
        "files": files,
    }
