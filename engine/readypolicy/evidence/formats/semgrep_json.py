"""semgrep JSON report (`semgrep scan --json`).

semgrep grades rules ERROR/WARNING/INFO (and CRITICAL/HIGH/MEDIUM/LOW for newer rule sets); the
normalized scale maps ERROR/WARNING/INFO to high/medium/low, the grades its SARIF output's
error/warning/note levels get. Only errors
semgrep itself rates `error` count as scan errors, matching the `error` notifications its SARIF
output carries, so the two formats of one scan give one verdict.
`paths.scanned` lists the files semgrep read: its length is `files_scanned`, so a run on a folder
holding no file its rules target (`"scanned": []`) is not read as a clean scan.
"""

from __future__ import annotations

from typing import Any

from readypolicy.evidence.formats.findings import sast_data, severity
from readypolicy.evidence.formats.shape import items, line, mapping, message, optional_text, strings, text
from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer

_LEVELS = {"ERROR": "high", "WARNING": "medium", "INFO": "low"}


class SemgrepJson(Normalizer):
    """semgrep JSON → `sast` evidence."""

    kind = "sast"
    format = "semgrep-json"
    description = "semgrep JSON report (semgrep scan --json)"
    priority = 20

    def detect(self, artifact: Artifact) -> bool:
        body = artifact.text_or_empty
        return artifact.looks_like_json() and '"results"' in body and (
            '"check_id"' in body or ('"paths"' in body and '"scanned"' in body)
        )

    def normalize(self, artifact: Artifact) -> Normalized:
        doc = artifact.json()
        if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
            raise self.fail(artifact, "no 'results' list")
        findings = []
        for result in doc["results"]:
            if not isinstance(result, dict) or not text(result.get("check_id")):
                raise self.fail(artifact, "a result has no check_id")
            extra = mapping(result.get("extra"))
            if extra.get("is_ignored") is True:
                continue
            findings.append(_finding(result, extra))
        scan_errors = sum(1 for error in map(mapping, items(doc.get("errors"))) if error.get("level") == "error")
        return Normalized(
            kind=self.kind, format=self.format, producer=Producer("semgrep", optional_text(doc.get("version"))),
            data=sast_data("semgrep", findings, scan_errors, _files_scanned(doc)),
        )


def _finding(result: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "rule": text(result["check_id"]),
        "severity": _LEVELS.get(text(extra.get("severity")).upper()) or severity(extra.get("severity")),
        "confidence": text(mapping(extra.get("metadata")).get("confidence")).lower() or None,
        "file": text(result.get("path")),
        "line": line(mapping(result.get("start")).get("line")),
        "tool": "semgrep",
        "message": message(extra.get("message")),
    }


def _files_scanned(doc: dict[str, Any]) -> int | None:
    """How many distinct files `paths.scanned` lists, or None when the report has no such list."""
    scanned = mapping(doc.get("paths")).get("scanned")
    return len(set(strings(scanned))) if isinstance(scanned, list) else None


NORMALIZER = SemgrepJson()
