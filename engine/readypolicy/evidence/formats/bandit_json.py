"""bandit JSON report (`bandit -f json`).

bandit grades severity and confidence separately; the normalized finding keeps both, and the
severity counts use bandit's severity (LOW/MEDIUM/HIGH) so a policy can allow a few LOWs.
Errors bandit hit while scanning are counted: files it could not parse were not scanned.
`metrics` holds one entry per file bandit read plus `_totals`: their number is `files_scanned` and
`_totals.loc` is `lines_scanned`, so a run on a folder without Python source (no file entry), or
holding only empty files (an `__init__.py` left behind, `loc` 0), is not read as a clean scan.
bandit's SARIF keeps the same `metrics` in its run's `properties` (sarif.py reads them with `scanned`).
"""

from __future__ import annotations

from typing import Any

from readypolicy.evidence.formats import stamps
from readypolicy.evidence.formats.findings import sast_data, severity
from readypolicy.evidence.formats.shape import items, line, mapping, message, text
from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer


class BanditJson(Normalizer):
    """bandit JSON → `sast` evidence."""

    kind = "sast"
    format = "bandit-json"
    description = "bandit JSON report (bandit -f json)"

    def detect(self, artifact: Artifact) -> bool:
        text = artifact.text_or_empty
        return (artifact.looks_like_json() and '"results"' in text and '"issue_severity"' in text) or (
            artifact.looks_like_json() and '"metrics"' in text and '"_totals"' in text
        )

    def normalize(self, artifact: Artifact) -> Normalized:
        doc = artifact.json()
        if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
            raise self.fail(artifact, "no 'results' list")
        findings = []
        for item in doc["results"]:
            if not isinstance(item, dict) or not text(item.get("test_id")):
                raise self.fail(artifact, "a result has no test_id")
            findings.append({
                "rule": text(item["test_id"]),
                "severity": severity(item.get("issue_severity")),
                "confidence": text(item.get("issue_confidence")).lower() or None,
                "file": text(item.get("filename")),
                "line": line(item.get("line_number")),
                "tool": "bandit",
                "message": message(item.get("issue_text")),
            })
        files, lines = scanned(doc)
        data = sast_data("bandit", findings, len(items(doc.get("errors"))), files)
        if lines is not None:
            data["lines_scanned"] = lines
        return Normalized(
            kind=self.kind, format=self.format, producer=Producer("bandit"), data=data,
            collected_at=stamps.iso(doc.get("generated_at")),
        )


def scanned(holder: dict[str, Any]) -> tuple[int | None, int | None]:
    """(files, lines of code) bandit read, from the `metrics` its JSON report (or SARIF run's
    `properties`) holds: the entries other than `_totals`, and `_totals.loc`; None where not stated."""
    metrics = holder.get("metrics")
    if not isinstance(metrics, dict):
        return None, None
    loc = mapping(metrics.get("_totals")).get("loc")
    lines = loc if isinstance(loc, int) and not isinstance(loc, bool) and loc >= 0 else None
    return sum(1 for name in metrics if name != "_totals"), lines


NORMALIZER = BanditJson()
