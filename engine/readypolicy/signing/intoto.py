"""in-toto Statements for decisions: the full decision attestation and a SLSA VSA summary.

The decision attestation carries the whole decision as its predicate, so the signature covers every
check, evidence digest and policy digest an auditor may later question. The VSA (SLSA Verification
Summary v1) is the compact form that admission controllers and SLSA tooling already understand.
Both are derived only from the decision, so a verifier can rebuild them and compare field by field.

A summary alone leaves most of the record (check messages, `input_digest`, waivers) unbound, so the
VSA also names the decision record it summarises by its content digest, in a URI-named extension
field (`DECISION_BINDING`), the extension form SLSA VSA v1 allows. `inputAttestations` is not the
place: the record is the verifier's output, and that list must hold the inputs and only them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from readypolicy.canonical import digest
from readypolicy.signing.dsse import STATEMENT_TYPE
from readypolicy.signing.interface import SigningError

DECISION_PREDICATE_TYPE = "https://readypolicy.dev/attestation/decision/v1"
VSA_PREDICATE_TYPE = "https://slsa.dev/verification_summary/v1"
VERIFIER_ID = "https://readypolicy.dev/verifier/v1"
DECISION_BINDING = "https://readypolicy.dev/verification_summary/decision/v1"
"""VSA predicate extension field: the decision record the summary vouches for (a ResourceDescriptor)."""
_SHA256 = re.compile(r"^sha256:([0-9a-f]{64})$")


def sha256_hex(value: Any, what: str) -> str:
    """The hex part of a `sha256:<hex>` digest string, or a `SigningError` naming `what`."""
    match = _SHA256.match(value) if isinstance(value, str) else None
    if match is None:
        raise SigningError(f"{what}: expected a digest of the form sha256:<64 hex>, found {value!r}")
    return match.group(1)


def _field(decision: Mapping[str, Any], *path: str) -> Any:
    value: Any = decision
    for key in path:
        if not isinstance(value, dict) or key not in value:
            raise SigningError(f"decision: missing field {'.'.join(path)}")
        value = value[key]
    return value


def subjects(decision: Mapping[str, Any], subject_digest: str | None) -> list[dict[str, Any]]:
    """The statement subject: the module artifact when its digest is known, else the decision itself."""
    if subject_digest is not None:
        module = _field(decision, "subject", "module")
        return [{"name": module, "digest": {"sha256": sha256_hex(subject_digest, "subject digest")}}]
    return [decision_descriptor(decision)]


def decision_descriptor(decision: Mapping[str, Any]) -> dict[str, Any]:
    """The decision record as an in-toto ResourceDescriptor: `<module>.decision.json` and its canonical sha256."""
    module = _field(decision, "subject", "module")
    return {"name": f"{module}.decision.json", "digest": {"sha256": sha256_hex(digest(decision), "decision")}}


def vouched_decision(decision: Mapping[str, Any]) -> dict[str, Any]:
    """What a VSA says it vouches for: the record's descriptor and, when recorded, its `decision_id`.

    The digest binds every byte of the record (a verifier recomputes it from the file); the id is
    there so that someone holding only the VSA can find the record (`audit export --decision ID`).
    """
    descriptor = decision_descriptor(decision)
    if decision.get("decision_id") is not None:
        descriptor["annotations"] = {"decision_id": decision["decision_id"]}
    return descriptor


def decision_statement(decision: Mapping[str, Any], subject_digest: str | None = None) -> dict[str, Any]:
    """in-toto Statement v1 whose predicate is the complete decision record."""
    return {
        "_type": STATEMENT_TYPE,
        "subject": subjects(decision, subject_digest),
        "predicateType": DECISION_PREDICATE_TYPE,
        "predicate": decision,
    }


def lane_level(lane: str) -> str:
    """The VSA verifiedLevels entry for a lane, e.g. READYPOLICY_LANE_PRODUCTION."""
    return "READYPOLICY_LANE_" + re.sub(r"[^A-Z0-9]+", "_", lane.upper())


def vsa_predicate(decision: Mapping[str, Any]) -> dict[str, Any]:
    """SLSA VSA v1 predicate summarising the decision; deterministic in the decision alone."""
    subject = _field(decision, "subject")
    policy = _field(decision, "policy")
    engine = _field(decision, "engine")
    allow = _field(decision, "allow")
    evidence = decision.get("evidence") or []
    return {
        "verifier": {"id": VERIFIER_ID, "version": {str(engine["name"]): str(engine["version"])}},
        "timeVerified": _field(decision, "evaluated_at"),
        "resourceUri": f"urn:readypolicy:module:{subject['module']}@{subject['revision']}",
        "policy": {
            "uri": f"urn:readypolicy:pack:{_field(decision, 'pack')}@{policy['revision']}",
            "digest": {"sha256": sha256_hex(policy["digest"], "decision policy.digest")},
        },
        "inputAttestations": [
            {
                "uri": f"urn:readypolicy:evidence:{item['kind']}:{item.get('scope') or 'default'}",
                "digest": {"sha256": sha256_hex(item["digest"], f"decision evidence {item['kind']}")},
            }
            for item in evidence
        ],
        "verificationResult": "PASSED" if allow is True else "FAILED",
        # SLSA VSA v1: the levels verified, or the single value FAILED when the policy failed.
        "verifiedLevels": [lane_level(_field(decision, "lane"))] if allow is True else ["FAILED"],
        "slsaVersion": "1.0",
        DECISION_BINDING: vouched_decision(decision),
        **_exceptions(decision),
    }


def _exceptions(decision: Mapping[str, Any]) -> dict[str, Any]:
    """What passed only by exception, counted apart from what passed outright: waived checks (with
    their waiver and approver) and advisory checks that warned. Only for records with a `summary`
    (older records are verified against the predicate they were signed with)."""
    if "summary" not in decision:
        return {}
    checks = decision.get("checks") or []
    return {"readypolicy": {
        "summary": decision["summary"],
        "waived": [
            {"check": c.get("id"), "waiver": (c.get("waiver") or {}).get("id"),
             "approver": (c.get("waiver") or {}).get("approver"), "expires": (c.get("waiver") or {}).get("expires")}
            for c in checks if c.get("status") == "waived"
        ],
        "warned": [{"check": c.get("id"), "enforce_from": c.get("enforce_from")} for c in checks if c.get("status") == "warn"],
    }}


def vsa_statement(decision: Mapping[str, Any], subject_digest: str | None = None) -> dict[str, Any]:
    """in-toto Statement v1 carrying the SLSA Verification Summary of the decision."""
    return {
        "_type": STATEMENT_TYPE,
        "subject": subjects(decision, subject_digest),
        "predicateType": VSA_PREDICATE_TYPE,
        "predicate": vsa_predicate(decision),
    }


def expected_predicate(decision: Mapping[str, Any], predicate_type: str) -> Any:
    """What the predicate of a statement of `predicate_type` must be for this decision."""
    if predicate_type == DECISION_PREDICATE_TYPE:
        return decision
    if predicate_type == VSA_PREDICATE_TYPE:
        return vsa_predicate(decision)
    raise SigningError(
        f"statement predicateType {predicate_type!r} is not a readypolicy decision or VSA attestation"
    )
