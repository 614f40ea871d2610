"""Cobertura XML (coverage.py `coverage xml`, gcovr, JaCoCo converters, ...).

Rates are recomputed from `lines-valid`/`lines-covered` when present, because some producers round
`line-rate` to one decimal place, which can move a module across a 90% threshold.
"""

from __future__ import annotations

from readypolicy.evidence.formats import stamps
from readypolicy.evidence.formats.percent import coverage_data
from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer


class CoberturaXml(Normalizer):
    """Cobertura XML → `coverage` evidence."""

    kind = "coverage"
    format = "cobertura-xml"
    description = "Cobertura coverage XML (coverage xml, gcovr --xml, ...)"

    def detect(self, artifact: Artifact) -> bool:
        return artifact.looks_like_xml() and "<coverage" in artifact.head and "line-rate" in artifact.head

    def normalize(self, artifact: Artifact) -> Normalized:
        root = artifact.xml()
        if root.tag != "coverage":
            raise self.fail(artifact, f"root element is <{root.tag}>, expected <coverage>")
        try:
            if root.get("lines-valid") is not None:
                lines_total = int(root.get("lines-valid", "0"))
                lines_covered = int(root.get("lines-covered", "0"))
            else:
                lines = [line for line in root.iter("line")]
                lines_total = len(lines)
                lines_covered = sum(1 for line in lines if int(line.get("hits", "0")) > 0)
            branches_total = int(root.get("branches-valid", "0"))
            branches_covered = int(root.get("branches-covered", "0"))
        except ValueError as exc:
            raise self.fail(artifact, f"non-numeric coverage attribute: {exc}") from exc
        has_branches = branches_total > 0
        files = {cls.get("filename") for cls in root.iter("class") if cls.get("filename")}
        version = root.get("version")
        timestamp = root.get("timestamp")
        data = coverage_data(
            lines_covered, lines_total, branches_covered if has_branches else None,
            branches_total if has_branches else None, len(files),
        )
        return Normalized(
            kind=self.kind, format=self.format,
            producer=Producer("coverage.py" if version and version[:1].isdigit() else "cobertura", version),
            data=data, collected_at=_epoch_ms(timestamp),
        )


def _epoch_ms(value: str | None) -> str | None:
    """Cobertura timestamps are epoch milliseconds."""
    if not value or not value.isascii() or not value.isdigit():
        return None
    return stamps.epoch(int(value) / 1000)


NORMALIZER = CoberturaXml()
