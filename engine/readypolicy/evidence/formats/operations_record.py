"""readypolicy's own record format for operational evidence no standard tool emits.

Kill-switch drills, shadow-traffic runs, GDPR controls, audit logging, disaster-recovery drills,
canary simulations and load tests are recorded by people or runbooks as small YAML/JSON documents:

    apiVersion: readypolicy.dev/v1
    kind: KillSwitchDrill
    metadata: {name: pricing-kill-switch}
    performed_at: "2026-11-20T10:00:00Z"
    result: passed
    details: {safety_control: pricing_guard, fail_closed_ms: 120}

The raw record is validated against `record_schemas/operations-record.v1.json`, which refers to
the per-kind details defined once in the `operations` evidence schema. The record's timestamp
becomes the evidence's collection time, so a drill dated in the future is refused at ingest.

A load test's `multiplier_of_expected` is a derived figure, a claim: policies recompute it as
achieved_rps / the manifest's capacity.expected_rps. A record that also carries its own
`expected_rps` is checked here, and refused when the claim disagrees with its own measurements.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from functools import cache
from importlib import resources
from typing import Any

from readypolicy.canonical import rfc3339
from readypolicy.evidence import schemas
from readypolicy.evidence.formats.stamps import iso
from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer

API_VERSION = "readypolicy.dev/v1"
TYPES = {
    "KillSwitchDrill": "killswitch-drill",
    "ShadowTraffic": "shadow-traffic",
    "GdprEvidence": "gdpr",
    "AuditLogging": "audit-logging",
    "DisasterRecoveryDrill": "dr-drill",
    "CanarySimulation": "canary",
    "LoadTest": "load-test",
    "HealthEndpoints": "health-endpoints",
    "RollbackDrill": "rollback-drill",
    "ArtifactSigning": "artifact-signing",
    "Fuzzing": "fuzzing",
    "BackupRestore": "backup-restore",
}
"""Record `kind` → evidence `type` (also the evidence scope)."""
CLAIM_TOLERANCE = 0.01
"""How far (relative) a claimed load multiplier may be from achieved / expected rps: rounding, not more."""


@cache
def record_checker() -> schemas.Checker:
    """Checker of raw records, resolving the details definitions from the operations evidence schema.

    Formats are not asserted: the record schema names none, and the interpreted validator it replaces
    had no format checker.
    """
    text = (resources.files("readypolicy.evidence") / "record_schemas" / "operations-record.v1.json").read_text("utf-8")
    return schemas.Checker(json.loads(text), (schemas.load_schema("operations", 1),), formats=False)


class OperationsRecord(Normalizer):
    """readypolicy.dev/v1 operations record (YAML or JSON) → `operations` evidence."""

    kind = "operations"
    format = "readypolicy-operations"
    description = "readypolicy operations record: KillSwitchDrill, ShadowTraffic, GdprEvidence, AuditLogging, ..."
    priority = 10

    def detect(self, artifact: Artifact) -> bool:
        head = artifact.head
        return API_VERSION in head and any(kind in head for kind in TYPES)

    def normalize(self, artifact: Artifact) -> Normalized:
        doc = artifact.json() if artifact.looks_like_json() else artifact.yaml()
        if isinstance(doc, dict) and isinstance(doc.get("performed_at"), datetime | date):
            doc = {**doc, "performed_at": _stamp(doc["performed_at"])}
        problem = record_checker().problem(doc)
        if problem is not None:
            raise self.fail(artifact, problem)
        performed_at = iso(doc["performed_at"])
        if performed_at is None:
            raise self.fail(artifact, "performed_at is not an RFC 3339 timestamp")
        record_type = TYPES[doc["kind"]]
        if record_type == "load-test":
            self._check_claimed_multiplier(artifact, doc["details"])
        metadata = doc.get("metadata") or {}
        data: dict[str, Any] = {"type": record_type, "scope": record_type, "result": doc["result"],
                                "performed_at": performed_at, "details": doc["details"]}
        data.update({key: metadata[key] for key in ("name", "notes") if key in metadata})
        return Normalized(kind=self.kind, format=self.format, producer=Producer("readypolicy-record"),
                          data=data, collected_at=performed_at)

    def _check_claimed_multiplier(self, artifact: Artifact, details: dict[str, Any]) -> None:
        """Refuse a load test whose claimed multiplier is not its own achieved / expected rps."""
        expected = details.get("expected_rps")
        if expected is None:
            return  # the policy recomputes it against the manifest's capacity.expected_rps
        measured = details["achieved_rps"] / expected
        claimed = details["multiplier_of_expected"]
        if abs(claimed - measured) > CLAIM_TOLERANCE * measured:
            raise self.fail(
                artifact,
                f"details.multiplier_of_expected claims {claimed:g}x, but achieved_rps / expected_rps is "
                f"{measured:.4g}x; a derived figure must agree with the measurements it comes from",
            )


def _stamp(value: date) -> str:
    """YAML turns unquoted timestamps into datetimes; a bare date is not precise enough and stays a date string."""
    if isinstance(value, datetime):
        return rfc3339(value if value.tzinfo else value.replace(tzinfo=UTC))
    return value.isoformat()


NORMALIZER = OperationsRecord()
