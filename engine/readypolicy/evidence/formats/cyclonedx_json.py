"""CycloneDX JSON SBOM, spec versions 1.2 to 1.7 (cyclonedx-py, syft, cdxgen, trivy ...).

The root component is `metadata.component` (what the BOM describes); tools that scan a
requirements file omit it, which `has_root_component` makes visible. Nested components
(`components[].components`) are part of the inventory and are counted; `file` components (the
manifests a scanner read, e.g. syft's pom.xml) are not, just as SPDX keeps files apart from
packages, so the same scan gives the same count in both formats.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from readypolicy.evidence.formats import stamps
from readypolicy.evidence.formats.sbom import sbom_data
from readypolicy.evidence.formats.shape import items, mapping, optional_text, text
from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer


class CycloneDxJson(Normalizer):
    """CycloneDX JSON → `sbom` evidence."""

    kind = "sbom"
    format = "cyclonedx-json"
    description = "CycloneDX JSON SBOM (spec 1.2-1.7)"
    priority = 20

    def detect(self, artifact: Artifact) -> bool:
        return artifact.looks_like_json() and '"bomFormat"' in artifact.text_or_empty and "CycloneDX" in artifact.text_or_empty

    def normalize(self, artifact: Artifact) -> Normalized:
        doc = artifact.json()
        if not isinstance(doc, dict) or doc.get("bomFormat") != "CycloneDX":
            raise self.fail(artifact, "bomFormat is not 'CycloneDX'")
        spec_version = text(doc.get("specVersion"))
        if not spec_version:
            raise self.fail(artifact, "no specVersion")
        metadata = mapping(doc.get("metadata"))
        root_in = metadata.get("component")
        root = None
        if isinstance(root_in, dict):
            root = {"name": text(root_in.get("name")), "version": optional_text(root_in.get("version"))}
        return Normalized(
            kind=self.kind, format=self.format, producer=_producer(metadata.get("tools")),
            data=sbom_data("cyclonedx", spec_version, root, (
                _licenses(c) for c in _walk(items(doc.get("components"))) if c.get("type") != "file"
            )),
            collected_at=stamps.iso(metadata.get("timestamp")),
        )


def _walk(components: list[Any]) -> Iterator[dict[str, Any]]:
    """Every component, nested ones included, in document order."""
    stack = list(reversed(components))
    while stack:
        component = mapping(stack.pop())
        yield component
        stack.extend(reversed(items(component.get("components"))))


def _licenses(component: dict[str, Any]) -> list[str]:
    """License ids, names and SPDX expressions a component declares."""
    found = []
    for choice in map(mapping, items(component.get("licenses"))):
        license_ = mapping(choice.get("license"))
        name = text(choice.get("expression")) or text(license_.get("id")) or text(license_.get("name"))
        if name:
            found.append(name)
    return found


def _producer(tools: Any) -> Producer:
    """First tool in metadata.tools: a list before spec 1.5, `{components: [...]}` since."""
    listed = items(mapping(tools).get("components")) if isinstance(tools, dict) else items(tools)
    for tool in map(mapping, listed):
        if text(tool.get("name")):
            return Producer(text(tool["name"]), optional_text(tool.get("version")))
    return Producer("cyclonedx")


NORMALIZER = CycloneDxJson()
