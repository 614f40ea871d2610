"""Build the policy input for one module revision and lane.

The input holds everything a policy may depend on — evidence, manifest, waivers, and the
evaluation time — so that replaying it later, with the same policy, must give the same answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any

from readypolicy.records import InputEvidence, PolicyInput
from readypolicy.store.interface import EvidenceRecord


def evidence_entry(record: EvidenceRecord) -> InputEvidence:
    """What a policy sees of one evidence document."""
    doc = record.document
    return {
        "digest": record.digest,
        "scope": record.scope,
        "format": doc["format"],
        "producer": doc["producer"],
        "collected_at": doc["collected_at"],
        "data": doc["data"],
    }


def build_input(
    module: str,
    revision: str,
    lane: str,
    records: Sequence[EvidenceRecord],
    now: str,
    waivers: Sequence[dict[str, Any]],
) -> PolicyInput:
    """The `input` document for a lane decision."""
    evidence: dict[str, list[InputEvidence]] = {}
    for record in sorted(records, key=lambda r: (r.kind, r.scope)):
        evidence.setdefault(record.kind, []).append(evidence_entry(record))
    manifests = evidence.get("manifest", [])
    return {
        "module": module,
        "revision": revision,
        "lane": lane,
        "now": now,
        "manifest": manifests[0]["data"] if manifests else None,
        "evidence": evidence,
        "waivers": [waiver_for_module(w, module) for w in waivers if covers(w, module)],
    }


def covers(waiver: Mapping[str, Any], module: str) -> bool:
    """A waiver names the module, or carries a `pattern` (shell-style, case-sensitive) the module matches."""
    pattern = waiver.get("pattern")
    if isinstance(pattern, str) and pattern:
        return fnmatchcase(module, pattern)
    return waiver.get("module") == module


def waiver_for_module(waiver: Mapping[str, Any], module: str) -> dict[str, Any]:
    """The waiver as the module's own: a pattern waiver names the module (and keeps pattern and owner,
    which the policy checks against the pack's `waivers.owners`, never the manifest)."""
    return {**waiver, "module": module}
