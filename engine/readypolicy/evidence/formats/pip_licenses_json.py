"""pip-licenses JSON (`pip-licenses --format=json`).

License strings are kept exactly as pip-licenses prints them (trove classifier names such as
`BSD License`, or SPDX ids from newer metadata); mapping them onto SPDX ids would be a guess,
and a license policy should match what the tool showed the reviewer.
"""

from __future__ import annotations

from collections import Counter

from readypolicy.evidence.formats.shape import json_or_none, text
from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer


class PipLicensesJson(Normalizer):
    """pip-licenses JSON → `licenses` evidence."""

    kind = "licenses"
    format = "pip-licenses-json"
    description = "pip-licenses JSON (pip-licenses --format=json)"
    priority = 30

    def detect(self, artifact: Artifact) -> bool:
        if not artifact.looks_like_json() or not artifact.head.startswith("["):
            return False
        doc = json_or_none(artifact)
        if doc == []:
            return "licen" in artifact.path.name.lower()
        return isinstance(doc, list) and all(isinstance(row, dict) and {"Name", "License"} <= row.keys() for row in doc)

    def normalize(self, artifact: Artifact) -> Normalized:
        doc = artifact.json()
        if not isinstance(doc, list):
            raise self.fail(artifact, "expected a list of packages")
        rows = []
        for row in doc:
            if not isinstance(row, dict) or not text(row.get("Name")):
                raise self.fail(artifact, "a package has no Name")
            rows.append({"name": text(row["Name"]), "version": text(row.get("Version")) or None,
                         "license": text(row.get("License")).strip() or "UNKNOWN"})
        by_license = Counter(row["license"] for row in rows)
        return Normalized(
            kind=self.kind, format=self.format, producer=Producer("pip-licenses"),
            data={"tool": "pip-licenses", "packages": len(rows), "by_license": dict(sorted(by_license.items())),
                  "items": rows},
        )


NORMALIZER = PipLicensesJson()
