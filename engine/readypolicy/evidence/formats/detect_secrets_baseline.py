"""detect-secrets baseline (`detect-secrets scan > .secrets.baseline`).

Each result is one (secret, detector) pair, as `detect-secrets audit` walks them; results a
reviewer marked `is_secret: false` in an audit are dismissed false positives and are counted
apart, not as findings.
"""

from __future__ import annotations

from readypolicy.evidence.formats import stamps
from readypolicy.evidence.formats.secrets import finding, secrets_data
from readypolicy.evidence.formats.shape import line, mapping, optional_text, text
from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer


class DetectSecretsBaseline(Normalizer):
    """detect-secrets baseline → `secrets` evidence."""

    kind = "secrets"
    format = "detect-secrets-baseline"
    description = "detect-secrets baseline (detect-secrets scan)"
    priority = 20

    def detect(self, artifact: Artifact) -> bool:
        body = artifact.text_or_empty
        return artifact.looks_like_json() and '"plugins_used"' in body and '"results"' in body

    def normalize(self, artifact: Artifact) -> Normalized:
        doc = artifact.json()
        if not isinstance(doc, dict) or not isinstance(doc.get("results"), dict):
            raise self.fail(artifact, "no 'results' object")
        findings = []
        dismissed = 0
        for position, (filename, results) in enumerate(doc["results"].items(), start=1):
            if not isinstance(results, list):
                raise self.fail(artifact, f"the results of file entry {position} are not a list")
            for result in map(mapping, results):
                if not text(result.get("type")):
                    raise self.fail(artifact, f"a result of file entry {position} has no type")
                if result.get("is_secret") is False:
                    dismissed += 1
                    continue
                findings.append(finding(text(result["type"]), text(result.get("filename")) or filename,
                                        line(result.get("line_number"))))
        return Normalized(
            kind=self.kind, format=self.format, producer=Producer("detect-secrets", optional_text(doc.get("version"))),
            data=secrets_data("detect-secrets", findings, dismissed), collected_at=stamps.iso(doc.get("generated_at")),
        )


NORMALIZER = DetectSecretsBaseline()
