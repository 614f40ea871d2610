"""coverage.py JSON report (`coverage json`).

`totals.percent_covered` blends statements and branches when branch coverage is on, so it is not
a line rate; lines and branches are computed separately from the raw counts instead. Each entry of
`files` keeps its own `summary` counts, so the policy can leave the test files out. coverage.py
derives a file's covered counts as its total minus the entries of its `missing_lines` /
`missing_branches` lists, so a summary that disagrees with its own lists is refused.
"""

from __future__ import annotations

from typing import Any

from readypolicy.evidence.formats import stamps
from readypolicy.evidence.formats.percent import FileCoverage, coverage_data, report_path
from readypolicy.evidence.formats.shape import mapping, optional_text
from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer


class CoveragePyJson(Normalizer):
    """coverage.py JSON → `coverage` evidence."""

    kind = "coverage"
    format = "coverage-py-json"
    description = "coverage.py JSON report (coverage json), line and branch rates kept apart"

    def detect(self, artifact: Artifact) -> bool:
        return artifact.looks_like_json() and '"totals"' in artifact.text_or_empty and '"meta"' in artifact.head

    def normalize(self, artifact: Artifact) -> Normalized:
        doc = artifact.json()
        totals = mapping(doc.get("totals")) if isinstance(doc, dict) else {}
        lines_covered, lines_total = _count(totals, "covered_lines"), _count(totals, "num_statements")
        if lines_covered is None or lines_total is None:
            raise self.fail(artifact, "no integer totals.covered_lines / totals.num_statements")
        meta = mapping(doc.get("meta"))
        branches_covered, branches_total = _count(totals, "covered_branches"), _count(totals, "num_branches")
        has_branches = bool(meta.get("branch_coverage")) and branches_covered is not None and branches_total is not None
        if not has_branches:
            branches_covered = branches_total = None
        data = coverage_data(
            self, artifact, lines_covered, lines_total, branches_covered, branches_total, self._files(artifact, doc),
        )
        return Normalized(
            kind=self.kind, format=self.format, producer=Producer("coverage.py", optional_text(meta.get("version"))),
            data=data, collected_at=stamps.iso(meta.get("timestamp")),
        )

    def _files(self, artifact: Artifact, doc: dict[str, Any]) -> list[FileCoverage]:
        """Per-file counts from each file's `summary` (a file without them cannot be told apart).

        Where the file keeps its `missing_lines` / `missing_branches` lists (coverage.py always writes
        them; hand-made summaries may not), its summary must equal total minus missing, as coverage.py
        computed it: otherwise the summary is not that run's.
        """
        files = []
        for number, (path, value) in enumerate(mapping(doc.get("files")).items(), start=1):
            entry = mapping(value)
            summary = mapping(entry.get("summary"))
            covered, total = _count(summary, "covered_lines"), _count(summary, "num_statements")
            if covered is None or total is None:
                raise self.fail(artifact, "a file in 'files' has no integer summary.covered_lines / summary.num_statements")
            branches_covered, branches_total = _count(summary, "covered_branches") or 0, _count(summary, "num_branches") or 0
            for noun, covered_of, total_of, missing in (
                ("lines", covered, total, entry.get("missing_lines")),
                ("branches", branches_covered, branches_total, entry.get("missing_branches")),
            ):
                if isinstance(missing, list) and covered_of != total_of - len(missing):
                    raise self.fail(
                        artifact, f"file {number} in 'files' claims {covered_of} of {total_of} {noun} covered "
                        f"but lists {len(missing)} missing",
                    )
            files.append(FileCoverage(report_path(path), covered, total, branches_covered, branches_total))
        return files


def _count(totals: dict[str, Any], key: str) -> int | None:
    value = totals.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


NORMALIZER = CoveragePyJson()
