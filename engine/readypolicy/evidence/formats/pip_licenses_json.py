"""pip-licenses JSON (`pip-licenses --format=json`, also `--format=json-license-finder`).

`--format=json` writes one object per package with `Name`, `Version`, `License` (plus `Author`,
`URL`... with the `--with-*` options); `--format=json-license-finder` writes `name`, `version` and
a `licenses` array. Both are read; several licences of one package are joined with "; ", as the
plain `json` format prints them.

License strings are kept exactly as pip-licenses prints them (trove classifier names such as
`BSD License`, or SPDX ids from newer metadata); mapping them onto SPDX ids would be a guess,
and a license policy should match what the tool showed the reviewer.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from readypolicy.evidence.formats.shape import json_or_none, text
from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer

_JSON_KEYS = frozenset({"Name", "License"})
_LICENSE_FINDER_KEYS = frozenset({"name", "licenses"})


class PipLicensesJson(Normalizer):
    """pip-licenses JSON → `licenses` evidence."""

    kind = "licenses"
    format = "pip-licenses-json"
    description = "pip-licenses JSON (--format=json or --format=json-license-finder)"
    priority = 30

    def detect(self, artifact: Artifact) -> bool:
        if not artifact.looks_like_json() or not artifact.head.startswith("["):
            return False
        doc = json_or_none(artifact)
        if doc == []:
            return "licen" in artifact.path.name.lower()
        return isinstance(doc, list) and bool(doc) and (
            all(isinstance(row, dict) and row.keys() >= _JSON_KEYS for row in doc)
            or all(isinstance(row, dict) and row.keys() >= _LICENSE_FINDER_KEYS for row in doc)
        )

    def normalize(self, artifact: Artifact) -> Normalized:
        doc = artifact.json()
        if not isinstance(doc, list):
            raise self.fail(artifact, "expected a list of packages")
        rows = [self._row(artifact, row) for row in doc]
        return Normalized(kind=self.kind, format=self.format, producer=Producer("pip-licenses"),
                          data=licenses_data(rows))

    def _row(self, artifact: Artifact, row: Any) -> dict[str, Any]:
        if isinstance(row, dict) and "licenses" in row and "Name" not in row:  # json-license-finder
            names = row["licenses"]
            if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
                raise self.fail(artifact, "a package's 'licenses' must be a list of strings")
            return package_row(artifact, self, row.get("name"), row.get("version"), "; ".join(n.strip() for n in names))
        if not isinstance(row, dict):
            raise self.fail(artifact, "a package is not an object")
        return package_row(artifact, self, row.get("Name"), row.get("Version"), text(row.get("License")))


def package_row(artifact: Artifact, normalizer: Normalizer, name: Any, version: Any, license_text: str) -> dict[str, Any]:
    """One `licenses` item; a package without a name is refused, an empty licence is `UNKNOWN` (as pip-licenses says)."""
    if not text(name):
        raise normalizer.fail(artifact, "a package has no name")
    return {"name": text(name), "version": text(version) or None, "license": license_text.strip() or "UNKNOWN"}


def licenses_data(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The `licenses` data of pip-licenses rows, whichever output format they were read from."""
    by_license = Counter(row["license"] for row in rows)
    return {"tool": "pip-licenses", "packages": len(rows), "by_license": dict(sorted(by_license.items())), "items": rows}


NORMALIZER = PipLicensesJson()
