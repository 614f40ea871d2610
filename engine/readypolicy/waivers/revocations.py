"""Revocations recorded in the store's audit chain: the durable half of `waiver revoke`.

An approval signs the waiver, not its `state` (a signature cannot cover a later revocation), and
the waiver file is editable by anyone with write access to the repository: a revocation that
lived only as `state: revoked` would be undone by writing `approved` back. So `waiver revoke`
first appends a `waiver-revoke` entry to the hash-chained audit log (append-only: the CI writer
role may only INSERT), and every reader of the waiver file — eval, `waiver list`, `waiver approve`
— treats a waiver id with such an entry as revoked, whatever the file says.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from readypolicy.canonical import digest
from readypolicy.store.interface import AuditEntry, Store
from readypolicy.waivers import model

REVOKE_ACTION = "waiver-revoke"
"""The audit action of a revocation."""


@dataclass(frozen=True)
class Revocation:
    """One recorded revocation: which waiver, who, when, why, and where in the chain."""

    waiver_id: str
    by: str
    at: str
    reason: str
    seq: int

    def describe(self) -> str:
        """Why a waiver is ignored, in the words of the gate's warnings."""
        return f"it was revoked by {self.by} at {self.at} ({self.reason}; audit entry {self.seq})"


def _of(entry: AuditEntry) -> Revocation:
    return Revocation(waiver_id=str(entry.details.get("id")), by=entry.actor, at=entry.at,
                      reason=str(entry.details.get("reason", "")), seq=entry.seq)


def record_revocation(store: Store, actor: str, item: Mapping[str, Any], reason: str) -> Revocation:
    """Append the `waiver-revoke` entry for this waiver; its `at` is the revocation time.

    The entry also names the digest of the waiver's signed body when it has one, so an auditor
    can tell which approved content the revocation ended.
    """
    details: dict[str, Any] = {"id": str(item["id"]), "reason": reason}
    if model.problem(item) is None:
        details["waiver_digest"] = digest(model.body(item))
    module = item.get("module")
    return _of(store.append_audit(actor, REVOKE_ACTION, str(module) if module else None, details))


def recorded_revocations(store: Store) -> dict[str, Revocation]:
    """Each waiver id the audit chain records as revoked, with its first revocation.

    Only the chain's `waiver-revoke` entries are read (filtered in the store), so the cost does not
    grow with the ingests and decisions a fleet logs.
    """
    found: dict[str, Revocation] = {}
    for entry in store.audit_entries(action=REVOKE_ACTION):
        if isinstance(entry.details.get("id"), str):
            found.setdefault(entry.details["id"], _of(entry))
    return found


def revocations_of(items: Sequence[Any], store: Store) -> dict[str, Revocation]:
    """`recorded_revocations` for a waiver file's entries; a file without governed waivers needs no query."""
    return recorded_revocations(store) if any(model.is_governed(item) for item in items) else {}
