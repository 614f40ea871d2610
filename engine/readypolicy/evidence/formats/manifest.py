"""Lane manifest (`module.lane.yaml` or `lanes/<module>.yml`): who owns a module and what it promises.

The manifest is the only evidence the module's own team writes by hand, so it is read strictly:
unknown top-level keys are refused rather than ignored, because a misspelt `slo:` must not
silently drop every SLO budget.
"""

from __future__ import annotations

from typing import Any

from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer

KNOWN_KEYS = {"module", "owner", "lanes", "lane", "slo", "telemetry", "capacity", "thresholds", "docs", "safety", "waivers"}


class ManifestNormalizer(Normalizer):
    """module.lane.yaml → `manifest` evidence."""

    kind = "manifest"
    format = "lane-manifest-yaml"
    description = "Lane manifest: module, owner, lanes, SLO budgets, telemetry labels, capacity, waivers"

    def detect(self, artifact: Artifact) -> bool:
        name = artifact.path.name
        if name.endswith((".lane.yaml", ".lane.yml")) or artifact.path.parent.name == "lanes":
            return True
        head = artifact.head
        return not artifact.looks_like_json() and "module:" in head and ("lanes:" in head or "slo:" in head)

    def normalize(self, artifact: Artifact) -> Normalized:
        doc = artifact.yaml()
        if not isinstance(doc, dict):
            raise self.fail(artifact, "expected a mapping at the top level")
        unknown = sorted(set(doc) - KNOWN_KEYS)
        if unknown:
            raise self.fail(artifact, f"unknown keys {', '.join(map(str, unknown))}")
        if not doc.get("module"):
            raise self.fail(artifact, "missing 'module'")
        lanes = doc.get("lanes") or doc.get("lane") or {}
        if not isinstance(lanes, dict):
            raise self.fail(artifact, "'lanes' must be a mapping with 'current' and 'target'")
        telemetry = doc.get("telemetry") or {}
        if not isinstance(telemetry, dict):
            raise self.fail(artifact, "'telemetry' must be a mapping")
        data: dict[str, Any] = {
            "module": str(doc["module"]),
            "owner": str(doc.get("owner") or ""),
            "current_lane": lanes.get("current"),
            "target_lane": lanes.get("target"),
            "slo": doc.get("slo") or {},
            "telemetry": {"allowed_labels": telemetry.get("allowed_labels") or {}},
            "capacity": doc.get("capacity") or {},
            "thresholds": doc.get("thresholds") or {},
            "docs": doc.get("docs") or {},
            "safety": doc.get("safety") or {},
            "waivers": doc.get("waivers") or [],
        }
        return Normalized(kind=self.kind, format=self.format, producer=Producer("readypolicy-manifest"), data=data)


NORMALIZER = ManifestNormalizer()
