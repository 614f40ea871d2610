"""Reading and extending the audit trail: chain checks and waiver entries.

The store appends `ingest`, `decision` and `prune` entries itself, inside the write they describe.
What lives here is what the store cannot know on its own: which decisions leaned on a waiver (an
auditor asks "who let this through, and until when?"), and the one-call chain check the CLI, the
checkpoint and the archive commands share.
"""

from __future__ import annotations

from typing import Any

from readypolicy.errors import ReadyPolicyError
from readypolicy.records import DecisionRecord
from readypolicy.store.chain import verify_chain
from readypolicy.store.interface import AuditEntry, Store


class AuditError(ReadyPolicyError):
    """The audit chain is broken, a checkpoint or archive does not verify, or an audit option is invalid."""


def checked_chain(store: Store) -> list[AuditEntry]:
    """The whole chain, or `AuditError` naming the first entry where it breaks."""
    entries = list(store.audit_entries())
    _, problem = verify_chain(entries)
    if problem is not None:
        raise AuditError(f"{store.url}: audit chain broken at {problem}")
    return entries


def waiver_details(record: DecisionRecord) -> list[dict[str, Any]]:
    """One audit `waiver` entry's details per waived check of a decision."""
    details: list[dict[str, Any]] = []
    for check in record.get("checks") or []:
        if check.get("status") != "waived":
            continue
        waiver = check.get("waiver") or {}
        details.append({
            "check": check.get("id"),
            "lane": record.get("lane"),
            "approver": waiver.get("approver"),
            "expires": waiver.get("expires"),
            "reason": waiver.get("reason"),
            "decision_id": record.get("decision_id"),
            # A governed waiver's id, ticket, requester and the key its approval verified with.
            **{key: waiver[key] for key in ("id", "link", "requested_by", "approved_key") if key in waiver},
        })
    return details


def log_waivers(store: Store, record: DecisionRecord, actor: str) -> list[AuditEntry]:
    """Append a `waiver` entry for each waived check of a stored decision."""
    module = (record.get("subject") or {}).get("module")
    return [store.append_audit(actor, "waiver", module, item) for item in waiver_details(record)]
