"""LCOV tracefile (`coverage lcov`, `lcov --capture`, c8/nyc, cargo-llvm-cov, gcovr --lcov ...).

Per-line records (`DA`, `BRDA`) are authoritative and merged per source file, the way
`lcov --add-tracefile` merges them, so a file traced by two test runs is not counted twice.
A file with any `DA` line takes its line counts from its `DA` lines only, and a file with any
`BRDA` line its branch counts from its `BRDA` lines only: the summary lines (`LF`/`LH`,
`BRF`/`BRH`) of every record for it are then ignored, as lcov itself recomputes them from the
per-line data, because a summary-only record cannot say which lines it counts and adding it on
top would count lines twice or lines that do not exist. Only a file without per-line data falls
back to its records' summaries, summed. Any record whose hit count is above its found count
(`LH` > `LF`, `BRH` > `BRF`, `FNH` > `FNF`) is refused: no tool writes one.
Branch coverage is null when no record mentions branches, so "not measured" is not "0%".
Every record must end with its `end_of_record` line, as every LCOV writer ends it: a tracefile cut
off mid-record (the writer killed, the disk full) holds only the first lines of its last file, and
those lines are the ones counted (29% read as 100%), so a record left open is refused.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from readypolicy.evidence.formats.percent import FileCoverage, coverage_data, report_path
from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer

_RECORD_TAGS = ("TN:", "SF:", "VER:")
_SUMMARIES = (("LH", "LF"), ("BRH", "BRF"), ("FNH", "FNF"))
"""(hit, found) summary pairs; FNF/FNH are read only to refuse a record that contradicts itself."""


@dataclass
class _SourceFile:
    """What the tracefile says about one source file, merged over its records."""

    lines: dict[int, int] = field(default_factory=dict)
    """Line number → execution count (summed over records)."""
    branches: dict[tuple[int, str, str], int] = field(default_factory=dict)
    """(line, block, branch) → times taken (summed; `-` counts as 0)."""
    summary: Counter[str] = field(default_factory=Counter)
    """LF, LH, BRF, BRH (and FNF, FNH) summed over its records; used only where per-line data is absent."""
    has_branches: bool = False
    """Whether any record for the file mentions branches."""


@dataclass
class _Record:
    """One `SF:` ... `end_of_record` block: where it starts, its file, and its own summary lines."""

    start: int
    """Line number of its `SF:` line (how an error names the record without echoing its path)."""
    source: _SourceFile
    summary: Counter[str] = field(default_factory=Counter)


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
        record: _Record | None = None
        for number, raw_line in enumerate(artifact.text.splitlines(), start=1):
            tag, _, value = raw_line.strip().partition(":")
            if tag == "SF":
                self._refuse_open(artifact, record)
                record = _Record(number, files.setdefault(report_path(value), _SourceFile()))
            elif record is None:
                continue
            elif tag == "end_of_record":
                self._close(artifact, record)
                record = None
            else:
                try:
                    _read(record, tag, value)
                except ValueError as exc:
                    raise self.fail(artifact, f"line {number}: bad {tag} record (a number in it is malformed)") from exc
        self._refuse_open(artifact, record)
        if not files:
            raise self.fail(artifact, "no SF: source file records")
        return Normalized(kind=self.kind, format=self.format, producer=Producer("lcov"), data=self._coverage(artifact, files))

    def _refuse_open(self, artifact: Artifact, record: _Record | None) -> None:
        """Refuse a record still open where another starts or the file ends: the tracefile was cut off."""
        if record is not None:
            raise self.fail(
                artifact, f"the record starting at line {record.start} (SF) has no end_of_record: the tracefile is "
                "cut off (its writer stopped mid-record) and would count only the lines written",
            )

    def _close(self, artifact: Artifact, record: _Record | None) -> None:
        """Refuse a record that hits more than it found; otherwise fold its summary into its file's."""
        if record is None:
            return
        for hit, found in _SUMMARIES:
            if record.summary[hit] > record.summary[found]:
                raise self.fail(
                    artifact, f"the record starting at line {record.start} (SF) states {hit}:{record.summary[hit]} "
                    f"above {found}:{record.summary[found]}: more hit than found",
                )
        record.source.summary.update(record.summary)

    def _coverage(self, artifact: Artifact, files: dict[str, _SourceFile]) -> dict[str, object]:
        per_file = [_file_coverage(path, f) for path, f in files.items()]
        lines_covered, lines_total = sum(f.lines_covered for f in per_file), sum(f.lines_total for f in per_file)
        if not any(f.has_branches for f in files.values()):
            return coverage_data(self, artifact, lines_covered, lines_total, None, None, per_file)
        branches_covered = sum(f.branches_covered for f in per_file)
        branches_total = sum(f.branches_total for f in per_file)
        return coverage_data(self, artifact, lines_covered, lines_total, branches_covered, branches_total, per_file)


def _read(record: _Record, tag: str, value: str) -> None:
    """Fold one tracefile line into its record (ValueError when a number in it is malformed)."""
    source = record.source
    if tag == "DA":
        line_no, hits = value.split(",")[:2]
        source.lines[int(line_no)] = source.lines.get(int(line_no), 0) + max(int(hits), 0)
    elif tag == "BRDA":
        line_no, block, branch, taken = value.split(",")[:4]
        key = (int(line_no), block, branch)
        source.branches[key] = source.branches.get(key, 0) + (0 if taken == "-" else max(int(taken), 0))
        source.has_branches = True
    elif tag in ("LF", "LH", "BRF", "BRH", "FNF", "FNH"):
        record.summary[tag] = _count(value)
        source.has_branches = source.has_branches or tag.startswith("BR")


def _count(value: str) -> int:
    count = int(value)
    if count < 0:
        raise ValueError(f"negative count {count}")
    return count


def _file_coverage(path: str, source: _SourceFile) -> FileCoverage:
    """One file's counts: from its per-line data where it has any, else from its records' summaries."""
    lines = (
        (sum(1 for hits in source.lines.values() if hits > 0), len(source.lines)) if source.lines
        else (source.summary["LH"], source.summary["LF"])
    )
    branches = (
        (sum(1 for taken in source.branches.values() if taken > 0), len(source.branches)) if source.branches
        else (source.summary["BRH"], source.summary["BRF"])
    )
    return FileCoverage(path, *lines, *branches)


NORMALIZER = Lcov()
