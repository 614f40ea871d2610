"""Hash chaining of audit entries: the invariant every store keeps when it appends one.

Each entry commits to the previous entry's hash, so editing, deleting or reordering any entry
changes every hash after it; `verify_chain` names the first entry where that shows. It lives in
`store/` because a store computes `entry_hash` inside the write an entry describes, and copying a
store re-checks both chains; `audit/` reads, exports and checkpoints the chain on top of this.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from readypolicy.canonical import digest
from readypolicy.store.interface import AuditEntry, Store, evidence_problem

GENESIS = "sha256:" + "0" * 64


def entry_hash(
    seq: int, prev_hash: str, at: str, actor: str, action: str, module: str | None, details: dict[str, Any]
) -> str:
    """The hash an entry with these fields must carry."""
    return digest(
        {
            "seq": seq,
            "prev_hash": prev_hash,
            "at": at,
            "actor": actor,
            "action": action,
            "module": module,
            "details": details,
        }
    )


def verify_chain(entries: Iterable[AuditEntry]) -> tuple[int, str | None]:
    """Check the chain; returns (entries checked, first problem or None)."""
    expected_prev = GENESIS
    expected_seq = 1
    count = 0
    for entry in entries:
        count += 1
        if entry.seq != expected_seq:
            return count, f"entry {entry.seq}: expected sequence number {expected_seq} (deleted or reordered)"
        if entry.prev_hash != expected_prev:
            return count, f"entry {entry.seq}: previous-hash link broken (an earlier entry was changed or removed)"
        recomputed = entry_hash(
            entry.seq, entry.prev_hash, entry.at, entry.actor, entry.action, entry.module, entry.details
        )
        if recomputed != entry.entry_hash:
            return count, f"entry {entry.seq}: content does not match its hash (entry was edited)"
        expected_prev = entry.entry_hash
        expected_seq += 1
    return count, None


def evidence_problems(store: Store, entries: list[AuditEntry]) -> list[str]:
    """Stored evidence the chain cannot vouch for: rows edited since ingest, or never logged as ingested.

    The chain hashes its own entries, not the evidence table, so an intact chain alone says nothing
    about an evidence row changed in the database; each row is checked against its content address
    and against the `ingest` entries of the chain.
    """
    logged = {entry.details.get("digest") for entry in entries if entry.action == "ingest"}
    problems: list[str] = []
    for module in store.modules():
        for record in store.list_evidence(module):
            problem = evidence_problem(record)
            if problem is not None:
                problems.append(f"evidence {record.digest} no longer matches its content address ({problem})")
            elif record.digest not in logged:
                problems.append(f"evidence {record.digest} has no ingest entry in the audit chain")
    return problems
