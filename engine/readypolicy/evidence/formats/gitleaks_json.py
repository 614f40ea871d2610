"""gitleaks JSON report (`gitleaks detect|dir|git --report-format json`).

The report holds the secret and the matched line (unless run with `--redact`); neither is
kept, only the rule, file and line. A clean scan is an empty list, which only names its format
through the file name (`gitleaks*.json`) or `--format gitleaks-json`.
"""

from __future__ import annotations

from readypolicy.evidence.formats.secrets import finding, secrets_data
from readypolicy.evidence.formats.shape import json_or_none, line, text
from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer


class GitleaksJson(Normalizer):
    """gitleaks JSON → `secrets` evidence."""

    kind = "secrets"
    format = "gitleaks-json"
    description = "gitleaks JSON report (gitleaks detect --report-format json)"
    priority = 20

    def detect(self, artifact: Artifact) -> bool:
        if not artifact.looks_like_json() or not artifact.head.startswith("["):
            return False
        if '"RuleID"' in artifact.head:
            return True
        return json_or_none(artifact) == [] and "gitleaks" in artifact.path.name.lower()

    def normalize(self, artifact: Artifact) -> Normalized:
        doc = artifact.json()
        if not isinstance(doc, list):
            raise self.fail(artifact, "expected a list of leaks")
        findings = []
        for leak in doc:
            if not isinstance(leak, dict) or not text(leak.get("RuleID")):
                raise self.fail(artifact, "a leak has no RuleID")
            findings.append(finding(text(leak["RuleID"]), text(leak.get("File")), line(leak.get("StartLine"))))
        return Normalized(kind=self.kind, format=self.format, producer=Producer("gitleaks"),
                          data=secrets_data("gitleaks", findings))


NORMALIZER = GitleaksJson()
