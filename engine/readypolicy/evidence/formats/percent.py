"""The `coverage` data shape shared by every coverage normalizer, so one run gives one reading in every format.

Reports total every file they measured, and a bare `coverage run -m pytest` measures the tests too:
well-covered test files lift the figure above what the library earns. So each normalizer keeps the
per-file counts as well, and the lane policy judges only the module's source files (the manifest's
`coverage.source`, tests excluded); the totals stay as the report states them (the schema bounds them).
Since the policy sums `per_file`, one file claiming more covered than it has would lift the module, so
the builder refuses such a file whatever the format.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from readypolicy.evidence.interface import Artifact, Normalizer


def percent(covered: int | None, total: int | None) -> float:
    """Percentage 0-100 rounded to 2 decimals; a report that measured nothing is credited nothing."""
    if not total or covered is None:
        return 0.0
    return round(100.0 * covered / total, 2)


@dataclass(frozen=True)
class FileCoverage:
    """One source file's counts as the report gives them."""

    path: str
    """The file as the report names it (see `report_path`)."""
    lines_covered: int
    lines_total: int
    branches_covered: int = 0
    branches_total: int = 0


def report_path(raw: str) -> str:
    """A reported file path as policies match it: forward slashes, without a leading `./`."""
    path = raw.replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    return path


def coverage_data(
    normalizer: Normalizer, artifact: Artifact,
    lines_covered: int, lines_total: int, branches_covered: int | None, branches_total: int | None,
    per_file: Iterable[FileCoverage],
) -> dict[str, object]:
    """`coverage` evidence data; branch fields (totals and per file) are null when the report did not measure branches.

    A file whose covered count is above its total, or negative, is refused (NormalizeError naming the
    artifact): no tool writes one, and summed into the module it would lift it past a floor the raw
    lines do not reach. The file is named by its place in the report, not its path (the path is
    artifact text, which error messages never echo).
    """
    listed = list(per_file)
    for number, file in enumerate(listed, start=1):
        for noun, covered, total in (
            ("lines", file.lines_covered, file.lines_total), ("branches", file.branches_covered, file.branches_total),
        ):
            if not 0 <= covered <= total:
                raise normalizer.fail(
                    artifact, f"file {number} of the {len(listed)} it lists (in report order) has {covered} {noun} "
                    f"covered of {total}: {'more covered than it has' if covered > total else 'a negative count'}",
                )
    measured = branches_covered is not None and branches_total is not None
    files = sorted(listed, key=lambda f: f.path)
    return {
        "line_percent": percent(lines_covered, lines_total),
        "lines_covered": lines_covered,
        "lines_total": lines_total,
        "branch_percent": percent(branches_covered, branches_total) if measured else None,
        "branches_covered": branches_covered if measured else None,
        "branches_total": branches_total if measured else None,
        "files": len(files),
        "per_file": [
            {
                "path": f.path, "lines_covered": f.lines_covered, "lines_total": f.lines_total,
                "branches_covered": f.branches_covered if measured else None,
                "branches_total": f.branches_total if measured else None,
            }
            for f in files
        ],
    }
