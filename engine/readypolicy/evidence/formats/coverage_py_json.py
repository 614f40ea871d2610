"""coverage.py JSON report (`coverage json`).

`totals.percent_covered` blends statements and branches when branch coverage is on, so it is not
a line rate; lines and branches are computed separately from the raw counts instead.
"""

from __future__ import annotations

from readypolicy.evidence.formats.percent import percent
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
        totals = doc.get("totals") if isinstance(doc, dict) else None
        if not isinstance(totals, dict) or "covered_lines" not in totals or "num_statements" not in totals:
            raise self.fail(artifact, "no totals.covered_lines / totals.num_statements")
        meta = doc.get("meta") or {}
        lines_covered, lines_total = int(totals["covered_lines"]), int(totals["num_statements"])
        has_branches = bool(meta.get("branch_coverage")) and "num_branches" in totals
        branches_covered = int(totals["covered_branches"]) if has_branches else None
        branches_total = int(totals["num_branches"]) if has_branches else None
        data = {
            "line_percent": percent(lines_covered, lines_total),
            "lines_covered": lines_covered,
            "lines_total": lines_total,
            "branch_percent": percent(branches_covered, branches_total) if has_branches else None,
            "branches_covered": branches_covered,
            "branches_total": branches_total,
            "files": len(doc.get("files") or {}),
        }
        timestamp = meta.get("timestamp")
        return Normalized(
            kind=self.kind, format=self.format, producer=Producer("coverage.py", meta.get("version")),
            data=data, collected_at=timestamp if isinstance(timestamp, str) else None,
        )


NORMALIZER = CoveragePyJson()
