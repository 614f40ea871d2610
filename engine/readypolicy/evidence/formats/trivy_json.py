"""Trivy JSON report (`trivy fs|image|repo --format json`, schema version 2).

Vulnerabilities sit under each scanned target (`Results[].Vulnerabilities`). Trivy lists every
package only with `--list-all-pkgs`; without it `audited` can only count the vulnerable packages
(`audited_complete: false`). A report from a run that did not scan for vulnerabilities at all
(`--scanners secret,misconfig`) is refused: it says nothing about dependencies, and storing it as
"0 vulnerabilities" would read as a clean audit.
"""

from __future__ import annotations

from typing import Any

from readypolicy.evidence.formats import stamps
from readypolicy.evidence.formats.shape import items, mapping, optional_text, strings, text
from readypolicy.evidence.formats.vulnerabilities import dependencies_data, vulnerability
from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer

PACKAGE_CLASSES = {"os-pkgs", "lang-pkgs"}
"""Result classes produced by Trivy's vulnerability scanner (others: secret, config, license...)."""


class TrivyJson(Normalizer):
    """Trivy JSON → `dependencies` evidence."""

    kind = "dependencies"
    format = "trivy-json"
    description = "Trivy JSON (trivy fs/image --format json): vulnerabilities per target"
    priority = 20

    def detect(self, artifact: Artifact) -> bool:
        head = artifact.head
        return artifact.looks_like_json() and '"SchemaVersion"' in head and (
            '"ArtifactName"' in head or '"Results"' in artifact.text_or_empty
        )

    def normalize(self, artifact: Artifact) -> Normalized:
        doc = artifact.json()
        if not isinstance(doc, dict) or "SchemaVersion" not in doc:
            raise self.fail(artifact, "no 'SchemaVersion'")
        results = [mapping(result) for result in items(doc.get("Results"))]
        scanned = [r for r in results if text(r.get("Class")) in PACKAGE_CLASSES or isinstance(r.get("Vulnerabilities"), list)]
        if results and not scanned:
            raise self.fail(artifact, "no vulnerability scan results (only other result classes); run trivy with --scanners vuln")
        vulns: list[dict[str, Any]] = []
        packages: set[tuple[str, str]] = set()
        listed_all = any(isinstance(r.get("Packages"), list) for r in scanned)
        for result in scanned:
            target = text(result.get("Target"))
            for package in map(mapping, items(result.get("Packages"))):
                packages.add((target, text(package.get("ID")) or f"{text(package.get('Name'))}@{text(package.get('Version'))}"))
            for item in items(result.get("Vulnerabilities")):
                vulns.append(self._vulnerability(artifact, mapping(item)))
                if not listed_all:
                    packages.add((target, f"{vulns[-1]['package']}@{vulns[-1]['version']}"))
        version = mapping(doc.get("Trivy")).get("Version")
        warnings = () if listed_all else (
            "trivy ran without --list-all-pkgs; 'audited' counts only the vulnerable packages",)
        return Normalized(
            kind=self.kind, format=self.format, producer=Producer("trivy", optional_text(version)),
            data=dependencies_data("trivy", len(packages), vulns, audited_complete=listed_all),
            collected_at=stamps.iso(doc.get("CreatedAt")), warnings=warnings,
        )

    def _vulnerability(self, artifact: Artifact, item: dict[str, Any]) -> dict[str, Any]:
        vuln_id, package = text(item.get("VulnerabilityID")), text(item.get("PkgName"))
        if not vuln_id or not package:
            raise self.fail(artifact, "a vulnerability has no VulnerabilityID or PkgName")
        fixed = [part.strip() for part in text(item.get("FixedVersion")).split(",") if part.strip()]
        return vulnerability(
            vuln_id, package, optional_text(item.get("InstalledVersion")), word=item.get("Severity"),
            fix_versions=fixed, aliases=strings(item.get("VendorIDs")),
        )


NORMALIZER = TrivyJson()
