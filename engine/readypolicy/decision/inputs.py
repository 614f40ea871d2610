"""Build the policy input for one module revision and lane.

The input holds everything a policy may depend on — evidence, manifest, waivers, and the
evaluation time — so that replaying it later, with the same policy, must give the same answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from readypolicy.store.interface import EvidenceRecord


def evidence_entry(record: EvidenceRecord) -> dict[str, Any]:
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
) -> dict[str, Any]:
    """The `input` document for a lane decision."""
    evidence: dict[str, list[dict[str, Any]]] = {}
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
        "waivers": [dict(w) for w in waivers if w.get("module") == module],
    }
