"""Cobertura XML (coverage.py `coverage xml`, gcovr, JaCoCo converters, ...).

Rates are recomputed from `lines-valid`/`lines-covered` when present, because some producers round
`line-rate` to one decimal place, which can move a module across a 90% threshold. Per-file counts
come from each `<class>`'s own `<lines>` (not the copies under `<methods>`), merged by `filename`
because JVM reports give inner classes their own `<class>` in the same file; branches per file from
`condition-coverage="50% (1/2)"` (a pair with more taken than exist is refused by `coverage_data`).
"""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element

from readypolicy.evidence.formats import stamps
from readypolicy.evidence.formats.percent import FileCoverage, coverage_data, report_path
from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer

_CONDITIONS = re.compile(r"\((\d+)/(\d+)\)")
"""The covered/total branch pair in `condition-coverage="50% (1/2)"`."""


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
            raise self.fail(artifact, "the root element is not <coverage>")
        try:
            per_file = self._per_file(artifact, root)
            if root.get("lines-valid") is not None:
                lines_total = int(root.get("lines-valid", "0"))
                lines_covered = int(root.get("lines-covered", "0"))
            else:
                lines_total = sum(f.lines_total for f in per_file)
                lines_covered = sum(f.lines_covered for f in per_file)
            branches_total = int(root.get("branches-valid", "0"))
            branches_covered = int(root.get("branches-covered", "0"))
        except ValueError as exc:
            raise self.fail(artifact, "a line or branch count attribute is not an integer") from exc
        has_branches = branches_total > 0
        version = root.get("version")
        timestamp = root.get("timestamp")
        data = coverage_data(
            self, artifact, lines_covered, lines_total, branches_covered if has_branches else None,
            branches_total if has_branches else None, per_file,
        )
        return Normalized(
            kind=self.kind, format=self.format,
            producer=Producer("coverage.py" if version and version[:1].isdigit() else "cobertura", version),
            data=data, collected_at=_epoch_ms(timestamp),
        )

    def _per_file(self, artifact: Artifact, root: Element) -> list[FileCoverage]:
        """Counts per `filename`: a line is covered when any class covering it says so.

        A line whose `condition-coverage` has more branches taken than it has is refused: summed
        with the file's other lines it would hide inside a plausible per-file total.
        """
        hits: dict[str, dict[int, int]] = {}
        branches: dict[str, dict[int, tuple[int, int]]] = {}
        for cls in root.iter("class"):
            filename = cls.get("filename")
            if not filename:
                continue
            path = report_path(filename)
            file_hits, file_branches = hits.setdefault(path, {}), branches.setdefault(path, {})
            for line in cls.findall("./lines/line"):
                number = int(line.get("number", ""))
                file_hits[number] = max(file_hits.get(number, 0), int(line.get("hits", "0")))
                conditions = _CONDITIONS.search(line.get("condition-coverage", ""))
                if line.get("branch") == "true" and conditions:
                    taken, total = int(conditions.group(1)), int(conditions.group(2))
                    if taken > total:
                        raise self.fail(artifact, f'a <line number="{number}"> has condition-coverage {taken}/{total}: '
                                                  "more branches taken than it has")
                    file_branches[number] = max(file_branches.get(number, (0, 0)), (taken, total))
        return [
            FileCoverage(
                path, sum(1 for count in hits[path].values() if count > 0), len(hits[path]),
                sum(taken for taken, _ in branches[path].values()), sum(total for _, total in branches[path].values()),
            )
            for path in hits
        ]


def _epoch_ms(value: str | None) -> str | None:
    """Cobertura timestamps are epoch milliseconds."""
    if not value or not value.isascii() or not value.isdigit():
        return None
    return stamps.epoch(int(value) / 1000)


NORMALIZER = CoberturaXml()
