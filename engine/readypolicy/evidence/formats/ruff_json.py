"""ruff JSON (`ruff check --output-format json`): lint findings, kind `lint`.

Ruff is a linter: its findings are style and correctness problems, even the `S` (flake8-bandit)
rules, and ruff's SARIF marks every one of them `error`. Read as `sast` they would count as
high-severity security findings, so they land in their own kind, `lint`, which no security check
reads; a lane gates on them with its own lint check, not by accident through `security.sast`.

Each entry is one finding: `code` (e.g. `E501`; `invalid-syntax`, or null before ruff 0.12, for a
file ruff could not parse: such a file was not linted and is counted in `syntax_errors`),
`filename`, `location.row/column`, `message` and `fix` (null when ruff offers none).

A clean run prints `[]`, which by content is just an empty JSON array: it is recognised only when
the file name says ruff (`ruff.json`), or with `--format ruff-json`.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from readypolicy.evidence.formats.shape import json_or_none, line, mapping, message, optional_text, text
from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer

MAX_FINDINGS = 500
SYNTAX_ERROR = "invalid-syntax"
_FINDING_KEYS = frozenset({"code", "filename", "location", "message"})


class RuffJson(Normalizer):
    """ruff check --output-format json → `lint` evidence."""

    kind = "lint"
    format = "ruff-json"
    description = "ruff check --output-format json (an empty [] only when the file name says ruff)"
    priority = 30

    def detect(self, artifact: Artifact) -> bool:
        if not artifact.head.startswith("["):
            return False
        doc = json_or_none(artifact)
        if doc == []:
            return "ruff" in artifact.path.name.lower()
        return isinstance(doc, list) and all(isinstance(item, dict) and item.keys() >= _FINDING_KEYS for item in doc)

    def normalize(self, artifact: Artifact) -> Normalized:
        doc = artifact.json()
        if not isinstance(doc, list):
            raise self.fail(artifact, "expected a JSON array of findings")
        findings: list[dict[str, Any]] = []
        for number, item in enumerate(doc, start=1):
            if not isinstance(item, dict) or not item.keys() >= _FINDING_KEYS:
                raise self.fail(artifact, f"finding {number} lacks code/filename/location/message")
            file = text(item.get("filename"))
            if not file:
                raise self.fail(artifact, f"finding {number} has no filename")
            location = mapping(item.get("location"))
            findings.append({
                "rule": text(item.get("code")) or SYNTAX_ERROR, "name": optional_text(item.get("name")),
                "file": file, "line": line(location.get("row")), "column": line(location.get("column")),
                "message": message(item.get("message")), "fixable": isinstance(item.get("fix"), dict),
            })
        by_rule = Counter(finding["rule"] for finding in findings)
        data = {
            "scope": "ruff", "tool": "ruff", "total": len(findings),
            "files_with_findings": len({finding["file"] for finding in findings}),
            "by_rule": dict(sorted(by_rule.items())),
            "fixable": sum(1 for finding in findings if finding["fixable"]),
            "syntax_errors": by_rule.get(SYNTAX_ERROR, 0),
            "findings": sorted(findings, key=lambda f: (f["file"], f["line"] or 0, f["column"] or 0, f["rule"]))[:MAX_FINDINGS],
        }
        return Normalized(kind=self.kind, format=self.format, producer=Producer("ruff"), data=data)


NORMALIZER = RuffJson()
