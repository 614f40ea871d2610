"""Decision records: check what the policy returned, then write the reproducible record.

A policy's answer is untrusted until checked: it must match the result schema, list each check
once, and its `allow` must agree with its checks. A record then binds the outcome to the exact
policy digest, evidence digests, engine version, evaluation time and input digest, and is
identified by the digest of its own canonical JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from readypolicy.canonical import digest
from readypolicy.decision.result_check import result_problem
from readypolicy.engines.interface import EngineError, EngineInfo
from readypolicy.policy.interface import PolicySet
from readypolicy.store.interface import DecisionRow, EvidenceRecord

RECORD_SCHEMA = "https://readypolicy.dev/decision/v1"
BLOCKING = frozenset({"fail", "missing"})


def check_policy_result(result: Any, query: str) -> dict[str, Any]:
    """Validate a lane policy's `decision`; a malformed or self-contradicting one is an EngineError."""
    problem = result_problem(result)
    if problem is not None:
        where, what = problem
        raise EngineError(f"{query} returned a malformed decision at {where}: {what}")
    ids = [check["id"] for check in result["checks"]]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise EngineError(f"{query} returned duplicate check ids: {', '.join(duplicates)}")
    blocked = any(check["status"] in BLOCKING for check in result["checks"])
    if result["allow"] and blocked:
        raise EngineError(f"{query} says allow while some checks fail or are missing; refusing the decision")
    return result


def build_record(
    *,
    module: str,
    revision: str,
    lane: str,
    policy: PolicySet,
    engine: EngineInfo,
    records: Sequence[EvidenceRecord],
    policy_input: dict[str, Any],
    result: dict[str, Any],
    evaluated_at: str,
) -> dict[str, Any]:
    """The decision record, with `decision_id` = digest of everything else."""
    record: dict[str, Any] = {
        "schema": RECORD_SCHEMA,
        "subject": {"module": module, "revision": revision},
        "lane": lane,
        "pack": policy.pack,
        "allow": bool(result["allow"]),
        "checks": result["checks"],
        "policy": {
            "source": policy.source,
            "pack": policy.pack,
            "revision": policy.revision,
            "digest": policy.digest,
            "bundle_sha256": policy.bundle_sha256,
            "files": policy.file_digests,
        },
        "evidence": [
            {"kind": r.kind, "scope": r.scope, "digest": r.digest, "raw_sha256": r.raw_sha256}
            for r in sorted(records, key=lambda r: (r.kind, r.scope))
        ],
        "waivers": policy_input["waivers"],
        "engine": {"name": engine.name, "version": engine.version},
        "evaluated_at": evaluated_at,
        "input_digest": digest(policy_input),
    }
    return {"decision_id": digest(record), **record}


def record_id(record: dict[str, Any]) -> str:
    """Recompute a record's id from its content (to detect edits)."""
    return digest({k: v for k, v in record.items() if k != "decision_id"})


def to_row(record: dict[str, Any]) -> DecisionRow:
    """The store row of a record."""
    return DecisionRow(
        decision_id=record["decision_id"], module=record["subject"]["module"], revision=record["subject"]["revision"],
        lane=record["lane"], allow=record["allow"], policy_digest=record["policy"]["digest"],
        evaluated_at=record["evaluated_at"], record=record,
    )
