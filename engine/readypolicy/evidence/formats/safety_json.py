"""safety JSON: the 1.x list format (`safety check --json`) and the 2.x/3.x report object.

safety 1.x writes one row per vulnerability, `[package, spec, version, advisory, id, cvssv2, cvssv3]`,
and nothing about the packages it checked, so `audited` is then only the vulnerable packages
(`audited_complete: false`). 2.x/3.x report `packages_found` and CVSS ratings; vulnerabilities the
user ignored are listed by safety under `ignored_vulnerabilities` and are not counted here either.
"""

from __future__ import annotations

from typing import Any

from readypolicy.evidence.formats import stamps
from readypolicy.evidence.formats.findings import score
from readypolicy.evidence.formats.shape import items, json_or_none, mapping, optional_text, strings, text
from readypolicy.evidence.formats.vulnerabilities import dependencies_data, vulnerability
from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer


class SafetyJson(Normalizer):
    """safety JSON (1.x list or 2.x/3.x object) → `dependencies` evidence."""

    kind = "dependencies"
    format = "safety-json"
    description = "safety JSON (safety check --json: 1.x list or 2.x/3.x report object)"
    priority = 20

    def detect(self, artifact: Artifact) -> bool:
        if not artifact.looks_like_json():
            return False
        if artifact.head.startswith("{"):
            return '"report_meta"' in artifact.head and '"safety_version"' in artifact.text_or_empty
        doc = json_or_none(artifact)
        if doc == []:
            return "safety" in artifact.path.name.lower()
        return isinstance(doc, list) and all(_is_v1_row(row) for row in doc)

    def normalize(self, artifact: Artifact) -> Normalized:
        doc = artifact.json()
        if isinstance(doc, list):
            return self._v1(artifact, doc)
        if isinstance(doc, dict) and isinstance(doc.get("report_meta"), dict):
            return self._v2(artifact, doc)
        raise self.fail(artifact, "neither a 1.x vulnerability list nor a report with 'report_meta'")

    def _v1(self, artifact: Artifact, rows: list[Any]) -> Normalized:
        vulns = []
        for row in rows:
            if not _is_v1_row(row):
                raise self.fail(artifact, "a row is not [package, spec, version, advisory, id, ...]")
            cvss = _best_cvss(row[6] if len(row) > 6 else None, row[5] if len(row) > 5 else None)
            vulns.append(vulnerability(text(row[4]), text(row[0]), optional_text(row[2]), word=cvss[1], cvss=cvss[0]))
        packages = {row["package"] for row in vulns}
        return Normalized(
            kind=self.kind, format=self.format, producer=Producer("safety"),
            data=dependencies_data("safety", len(packages), vulns, audited_complete=False),
            warnings=("safety 1.x does not report how many packages it checked; 'audited' counts only vulnerable ones",),
        )

    def _v2(self, artifact: Artifact, doc: dict[str, Any]) -> Normalized:
        meta = doc["report_meta"]
        vulns = []
        for item in items(doc.get("vulnerabilities")):
            if not isinstance(item, dict) or not text(item.get("vulnerability_id")) or not text(item.get("package_name")):
                raise self.fail(artifact, "a vulnerability has no vulnerability_id or package_name")
            if item.get("ignored") is True:
                continue
            rating = mapping(item.get("severity"))
            cvss = _best_cvss(rating.get("cvssv3"), rating.get("cvssv2"))
            vulns.append(vulnerability(
                text(item["vulnerability_id"]), text(item["package_name"]), optional_text(item.get("analyzed_version")),
                word=cvss[1], cvss=cvss[0], fix_versions=strings(item.get("fixed_versions")),
                aliases=strings([item.get("CVE")]),
            ))
        found = meta.get("packages_found")
        audited = found if isinstance(found, int) and not isinstance(found, bool) and found >= 0 else len(
            mapping(doc.get("scanned_packages")))
        return Normalized(
            kind=self.kind, format=self.format, producer=Producer("safety", optional_text(meta.get("safety_version"))),
            data=dependencies_data("safety", audited, vulns), collected_at=stamps.iso(meta.get("timestamp")),
        )


def _is_v1_row(row: Any) -> bool:
    return isinstance(row, list) and 5 <= len(row) <= 7 and all(isinstance(cell, str | None) for cell in row[:5]) and bool(
        row[0]) and bool(row[4])


def _best_cvss(v3: Any, v2: Any) -> tuple[float | None, str | None]:
    """(base score, base severity word) of safety's CVSS v3 object, else its v2 one; (None, None) when neither rates."""
    for value in (v3, v2):
        rating = mapping(value)
        graded = score(rating.get("base_score")), optional_text(rating.get("base_severity"))
        if graded != (None, None):
            return graded
    return None, None


NORMALIZER = SafetyJson()
