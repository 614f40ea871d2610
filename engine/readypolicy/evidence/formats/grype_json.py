"""Grype JSON report (`grype <target> -o json`).

Grype reports one match per (vulnerability, package); that is the count its table shows, so
matches are not merged. It lists only matched packages, so `audited` is a lower bound
(`audited_complete: false`). Grype's `Negligible` is `info`; `Unknown` is unrated (`high`).
"""

from __future__ import annotations

from readypolicy.evidence.formats import stamps
from readypolicy.evidence.formats.shape import items, mapping, optional_text, strings, text
from readypolicy.evidence.formats.vulnerabilities import dependencies_data, vulnerability
from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer


class GrypeJson(Normalizer):
    """Grype JSON → `dependencies` evidence."""

    kind = "dependencies"
    format = "grype-json"
    description = "Grype JSON (grype -o json): one vulnerability per match"
    priority = 20

    def detect(self, artifact: Artifact) -> bool:
        body = artifact.text_or_empty
        return artifact.looks_like_json() and '"matches"' in body and '"descriptor"' in body

    def normalize(self, artifact: Artifact) -> Normalized:
        doc = artifact.json()
        if not isinstance(doc, dict) or not isinstance(doc.get("matches"), list):
            raise self.fail(artifact, "no 'matches' list")
        vulns = []
        for match in map(mapping, doc["matches"]):
            vuln, package = mapping(match.get("vulnerability")), mapping(match.get("artifact"))
            vuln_id, name = text(vuln.get("id")), text(package.get("name"))
            if not vuln_id or not name:
                raise self.fail(artifact, "a match has no vulnerability.id or artifact.name")
            vulns.append(vulnerability(
                vuln_id, name, optional_text(package.get("version")), word=vuln.get("severity"),
                fix_versions=strings(mapping(vuln.get("fix")).get("versions")),
                aliases=[text(mapping(related).get("id")) for related in items(match.get("relatedVulnerabilities"))],
            ))
        descriptor = mapping(doc.get("descriptor"))
        version = text(descriptor.get("version"))
        audited = len({(v["package"], v["version"]) for v in vulns})
        return Normalized(
            kind=self.kind, format=self.format,
            producer=Producer("grype", version if version[:1].isdigit() else None),
            data=dependencies_data("grype", audited, vulns, audited_complete=False),
            collected_at=stamps.iso(descriptor.get("timestamp")),
            warnings=("grype lists only vulnerable packages; 'audited' counts only those",),
        )


NORMALIZER = GrypeJson()
