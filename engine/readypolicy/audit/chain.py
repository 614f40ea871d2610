"""Hash chaining of audit entries.

Each entry commits to the previous entry's hash, so editing, deleting or reordering any entry
changes every hash after it; `verify_chain` names the first entry where that shows.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from readypolicy.canonical import digest
from readypolicy.store.interface import AuditEntry

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
