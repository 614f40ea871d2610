"""radon raw metrics JSON (`radon raw -j`): lines of code per file, kind `complexity` (scope `raw`).

`radon raw -j` maps each file to its line counts (`loc`, `lloc`, `sloc`, `comments`, `multi`,
`blank`, `single_comments`) or to `{"error": ...}` when radon could not parse it; such files were
not measured and are counted in `errors`. Raw metrics rank nothing, so `average`/`max` are null,
`worst` is empty and every rank count is 0; `blocks` is the number of files measured and `raw`
holds the totals over them, which is what users gate on (source lines, comment density).
"""

from __future__ import annotations

from typing import Any

from readypolicy.evidence.formats.radon_json import RANKS
from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer

FIELDS = ("loc", "lloc", "sloc", "comments", "multi", "blank", "single_comments")


class RadonRawJson(Normalizer):
    """radon raw -j → `complexity` evidence (scope raw)."""

    kind = "complexity"
    format = "radon-raw-json"
    description = "radon raw -j (lines of code, logical lines, comments, blanks per file)"
    priority = 40

    def detect(self, artifact: Artifact) -> bool:
        head = artifact.head
        return head[:1] == "{" and '"lloc"' in head and '"sloc"' in head and '"single_comments"' in head

    def normalize(self, artifact: Artifact) -> Normalized:
        doc = artifact.json()
        if not isinstance(doc, dict) or not doc:
            raise self.fail(artifact, "expected a non-empty object keyed by file")
        totals = dict.fromkeys(FIELDS, 0)
        files = errors = 0
        for position, entry in enumerate(doc.values(), start=1):
            if isinstance(entry, dict) and "error" in entry:
                errors += 1
                continue
            if not isinstance(entry, dict) or not all(_count(entry.get(key)) for key in FIELDS):
                raise self.fail(artifact, f"file entry {position}: lacks one of {', '.join(FIELDS)} as a non-negative integer")
            files += 1
            for key in FIELDS:
                totals[key] += entry[key]
        data: dict[str, Any] = {
            "tool": "radon", "metric": "raw", "scope": "raw", "blocks": files, "average": None, "max": None,
            "worst": [], "ranks": dict.fromkeys(RANKS, 0), "errors": errors, "raw": totals,
        }
        return Normalized(kind=self.kind, format=self.format, producer=Producer("radon"), data=data)


def _count(value: Any) -> bool:
    """A line count: a JSON integer (not a bool, not a float) of at least 0."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


NORMALIZER = RadonRawJson()
