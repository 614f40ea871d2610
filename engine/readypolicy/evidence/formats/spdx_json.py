"""SPDX 2.2/2.3 JSON SBOM (syft, trivy, spdx-sbom-generator, GitHub dependency graph export ...).

Every package is a component. The document names what it describes in `documentDescribes` or by a
`DESCRIBES` (or reverse `DESCRIBED_BY`) relationship with the document. When that is one package
(syft, `sbom4python -m MODULE`), it is the root and the other packages are the inventory. When it is
several (`sbom4python --system` or `-r requirements.txt` describe every package they list), the
document describes a set, not a module: there is no root and every package is inventory, so an
environment SBOM is not read as "one root, 0 components". A package's license is
`licenseConcluded`, else `licenseDeclared`; `NOASSERTION` and `NONE` are no license.
"""

from __future__ import annotations

from typing import Any

from readypolicy.evidence.formats import stamps
from readypolicy.evidence.formats.sbom import sbom_data
from readypolicy.evidence.formats.shape import items, mapping, optional_text, strings, text
from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer

NO_LICENSE = {"", "NOASSERTION", "NONE"}


class SpdxJson(Normalizer):
    """SPDX JSON → `sbom` evidence."""

    kind = "sbom"
    format = "spdx-json"
    description = "SPDX 2.2/2.3 JSON SBOM (root = the one package the document describes; all others are components)"
    priority = 20

    def detect(self, artifact: Artifact) -> bool:
        return artifact.looks_like_json() and '"spdxVersion"' in artifact.text_or_empty

    def normalize(self, artifact: Artifact) -> Normalized:
        doc = artifact.json()
        if not isinstance(doc, dict) or not text(doc.get("spdxVersion")).startswith("SPDX-"):
            raise self.fail(artifact, "no 'spdxVersion' of the form SPDX-2.x")
        document_id = text(doc.get("SPDXID"), "SPDXRef-DOCUMENT")
        packages = [mapping(p) for p in items(doc.get("packages"))]
        described = _described(doc, document_id)
        described_packages = [p for p in packages if text(p.get("SPDXID")) in described]
        root_package = described_packages[0] if len(described_packages) == 1 else None
        root = None
        if root_package is not None:
            root = {"name": text(root_package.get("name")), "version": optional_text(root_package.get("versionInfo"))}
        inventory = [p for p in packages if p is not root_package]
        info = mapping(doc.get("creationInfo"))
        return Normalized(
            kind=self.kind, format=self.format, producer=_producer(strings(info.get("creators"))),
            data=sbom_data("spdx", text(doc["spdxVersion"]).removeprefix("SPDX-"), root, map(_license, inventory)),
            collected_at=stamps.iso(info.get("created")),
        )


def _described(doc: dict[str, Any], document_id: str) -> set[str]:
    """SPDX ids of the elements the document describes."""
    described = set(strings(doc.get("documentDescribes")))
    for rel in map(mapping, items(doc.get("relationships"))):
        kind = text(rel.get("relationshipType"))
        source, target = text(rel.get("spdxElementId")), text(rel.get("relatedSpdxElement"))
        if kind == "DESCRIBES" and source == document_id:
            described.add(target)
        elif kind == "DESCRIBED_BY" and target == document_id:
            described.add(source)
    return described


def _license(package: dict[str, Any]) -> list[str]:
    for field in ("licenseConcluded", "licenseDeclared"):
        value = text(package.get(field)).strip()
        if value not in NO_LICENSE:
            return [value]
    return []


def _producer(creators: list[str]) -> Producer:
    """The first `Tool: name-version` creator (SPDX joins name and version with a hyphen)."""
    for creator in creators:
        if creator.startswith("Tool:"):
            name, _, version = creator.removeprefix("Tool:").strip().rpartition("-")
            if name and version[:1].isdigit():
                return Producer(name, version)
            return Producer(creator.removeprefix("Tool:").strip() or "spdx")
    return Producer("spdx")


NORMALIZER = SpdxJson()
