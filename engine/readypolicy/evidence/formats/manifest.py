"""Lane manifest (`module.lane.yaml` or `lanes/<module>.yml`): who owns a module and what it promises.

The manifest is the only evidence the module's own team writes by hand, so it is read strictly:
unknown top-level keys are refused rather than ignored, because a misspelt `slo:` must not
silently drop every SLO budget.

`evidence:` is the module's evidence contract: the reports it promises, as paths or globs relative
to the manifest's directory (`readypolicy ingest --contract` ingests exactly those). A path may not
leave that directory, so a contract cannot pull in files from elsewhere on the runner.

`coverage:` says which files are the module's source for the coverage check: `source` (paths, a
directory counts everything below it) and `omit` (glob patterns, `*` also crossing `/`). Without
it every measured file counts except tests; tests never count.
"""

from __future__ import annotations

from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer

KNOWN_KEYS = {"module", "owner", "lanes", "lane", "slo", "telemetry", "capacity", "thresholds", "docs", "safety", "waivers",
              "evidence", "coverage"}
COVERAGE_KEYS = ("source", "omit")
EVIDENCE_KEYS = ("path", "kind", "format", "scope")


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
            raise self.fail(artifact, f"{len(unknown)} unknown top-level key(s) (known: {', '.join(sorted(KNOWN_KEYS))})")
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
        if "evidence" in doc:
            data["evidence"] = self._contract(artifact, doc["evidence"])
        if "coverage" in doc:
            data["coverage"] = self._coverage(artifact, doc["coverage"])
        return Normalized(kind=self.kind, format=self.format, producer=Producer("readypolicy-manifest"), data=data,
                          module=data["module"])

    def _contract(self, artifact: Artifact, entries: Any) -> list[dict[str, str]]:
        """The declared evidence, each entry checked: known keys, string values, a path inside the folder."""
        if not isinstance(entries, list) or not entries:
            raise self.fail(artifact, "'evidence' must be a non-empty list of {path, kind, format, scope}")
        out: list[dict[str, str]] = []
        for number, entry in enumerate(entries, 1):
            where = f"evidence entry {number}"
            if not isinstance(entry, dict):
                raise self.fail(artifact, f"{where} must be a mapping with a 'path'")
            unknown = sorted(map(str, set(entry) - set(EVIDENCE_KEYS)))
            if unknown:
                raise self.fail(artifact, f"{where} has unknown keys {', '.join(unknown)} (known: {', '.join(EVIDENCE_KEYS)})")
            if not all(isinstance(value, str) and value.strip() for value in entry.values()):
                raise self.fail(artifact, f"{where}: every value must be a non-empty string")
            path = entry.get("path")
            if path is None:
                raise self.fail(artifact, f"{where} has no 'path'")
            pure = PurePosixPath(path.replace("\\", "/"))
            if pure.is_absolute() or ".." in pure.parts or PureWindowsPath(path).drive:
                raise self.fail(artifact, f"{where}: the path must stay inside the manifest's directory")
            out.append({key: entry[key] for key in EVIDENCE_KEYS if key in entry})
        return out

    def _coverage(self, artifact: Artifact, value: Any) -> dict[str, list[str]]:
        """Source paths (relative, normalized to `a/b` so policies can compare them) and omit patterns."""
        if not isinstance(value, dict) or not value or set(value) - set(COVERAGE_KEYS):
            raise self.fail(artifact, "'coverage' must be a mapping with 'source' and/or 'omit' lists")
        out: dict[str, list[str]] = {}
        for key in COVERAGE_KEYS:
            if key not in value:
                continue
            entries = value[key]
            if not isinstance(entries, list) or not entries or not all(isinstance(e, str) and e.strip() for e in entries):
                raise self.fail(artifact, f"'coverage.{key}' must be a non-empty list of non-empty strings")
            out[key] = [e.strip() for e in entries]
        for number, path in enumerate(out.get("source", []), 1):
            pure = PurePosixPath(path.replace("\\", "/"))
            if pure.is_absolute() or ".." in pure.parts or PureWindowsPath(path).drive or not pure.parts:
                raise self.fail(artifact, f"coverage.source entry {number} must be a relative path inside the project")
            out["source"][number - 1] = pure.as_posix()
        return out


NORMALIZER = ManifestNormalizer()
