"""LCOV tracefile (`coverage lcov`, `lcov --capture`, c8/nyc, cargo-llvm-cov, gcovr --lcov ...).

Per-line records (`DA`, `BRDA`) are authoritative and merged per source file, the way
`lcov --add-tracefile` merges them, so a file traced by two test runs is not counted twice.
A record without per-line data falls back to its summary lines (`LF`/`LH`, `BRF`/`BRH`).
Branch coverage is null when no record mentions branches, so "not measured" is not "0%".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from readypolicy.evidence.formats.percent import FileCoverage, coverage_data, report_path
from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer

_RECORD_TAGS = ("TN:", "SF:", "VER:")


@dataclass
class _SourceFile:
    """What the tracefile says about one source file, merged over its records."""

    lines: dict[int, int] = field(default_factory=dict)
    """Line number → execution count (summed over records)."""
    branches: dict[tuple[int, str, str], int] = field(default_factory=dict)
    """(line, block, branch) → times taken (summed; `-` counts as 0)."""
    summary: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    """LF, LH, BRF, BRH summed over records that have no per-line data."""
    has_branches: bool = False
    """Whether any record for the file mentions branches."""


class Lcov(Normalizer):
    """LCOV tracefile → `coverage` evidence."""

    kind = "coverage"
    format = "lcov"
    description = "LCOV tracefile (coverage lcov, lcov --capture, c8, cargo llvm-cov --lcov, ...)"
    priority = 30

    def detect(self, artifact: Artifact) -> bool:
        return artifact.head.startswith(_RECORD_TAGS) and "\nSF:" in "\n" + artifact.head

    def normalize(self, artifact: Artifact) -> Normalized:
        if artifact.text is None:
            raise self.fail(artifact, "not UTF-8 text")
        files: dict[str, _SourceFile] = {}
        current: _SourceFile | None = None
        record_summary = [0, 0, 0, 0]
        record_has = {"DA": False, "BRDA": False}
        for number, raw_line in enumerate(artifact.text.splitlines(), start=1):
            tag, _, value = raw_line.strip().partition(":")
            try:
                if tag == "SF":
                    current = files.setdefault(value, _SourceFile())
                    record_summary, record_has = [0, 0, 0, 0], {"DA": False, "BRDA": False}
                elif current is None or tag in ("TN", "VER", ""):
                    continue
                elif tag == "DA":
                    line_no, hits = value.split(",")[:2]
                    current.lines[int(line_no)] = current.lines.get(int(line_no), 0) + max(int(hits), 0)
                    record_has["DA"] = True
                elif tag == "BRDA":
                    line_no, block, branch, taken = value.split(",")[:4]
                    key = (int(line_no), block, branch)
                    current.branches[key] = current.branches.get(key, 0) + (0 if taken == "-" else max(int(taken), 0))
                    record_has["BRDA"] = current.has_branches = True
                elif tag in ("LF", "LH", "BRF", "BRH"):
                    record_summary[("LF", "LH", "BRF", "BRH").index(tag)] = _count(value)
                    current.has_branches = current.has_branches or tag.startswith("BR")
                elif tag == "end_of_record":
                    _close(current, record_summary, record_has)
                    current = None
            except ValueError as exc:
                raise self.fail(artifact, f"line {number}: bad {tag} record (a number in it is malformed)") from exc
        if current is not None:
            _close(current, record_summary, record_has)
        if not files:
            raise self.fail(artifact, "no SF: source file records")
        return Normalized(kind=self.kind, format=self.format, producer=Producer("lcov"), data=_coverage(files))


def _count(value: str) -> int:
    count = int(value)
    if count < 0:
        raise ValueError(f"negative count {count}")
    return count


def _close(source: _SourceFile, summary: list[int], has: dict[str, bool]) -> None:
    """Fold a record's summary lines in when it had no per-line data for them."""
    if not has["DA"]:
        source.summary[0] += summary[0]
        source.summary[1] += summary[1]
    if not has["BRDA"]:
        source.summary[2] += summary[2]
        source.summary[3] += summary[3]


def _coverage(files: dict[str, _SourceFile]) -> dict[str, object]:
    per_file = [
        FileCoverage(
            report_path(path), sum(1 for hits in f.lines.values() if hits > 0) + f.summary[1], len(f.lines) + f.summary[0],
            sum(1 for taken in f.branches.values() if taken > 0) + f.summary[3], len(f.branches) + f.summary[2],
        )
        for path, f in files.items()
    ]
    lines_covered, lines_total = sum(f.lines_covered for f in per_file), sum(f.lines_total for f in per_file)
    if not any(f.has_branches for f in files.values()):
        return coverage_data(lines_covered, lines_total, None, None, per_file)
    branches_covered, branches_total = sum(f.branches_covered for f in per_file), sum(f.branches_total for f in per_file)
    return coverage_data(lines_covered, lines_total, branches_covered, branches_total, per_file)


NORMALIZER = Lcov()
