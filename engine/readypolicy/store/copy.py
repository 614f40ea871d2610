"""Copy one store into another (SQLite to PostgreSQL when a team outgrows a file, or back).

An audit chain cannot be transplanted: its hashes commit to positions and to the entries before
them, and the destination may already have a chain of its own. So the copy goes through the
ordinary write methods, and the destination's chain records it: an `ingest` entry per new evidence
document, a `decision` entry per new decision, a replay of every other source entry (locks,
waivers, prunes...) with `copied_from` naming the source entry, and one closing `copy` entry that
commits to the source chain's head. Everything is keyed by content digests, so running the copy
again, or after an interrupted run, adds only what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass

from readypolicy.audit.chain import GENESIS, verify_chain
from readypolicy.store.interface import Store, StoreError

REPLAYED_BY_WRITES = frozenset({"ingest", "decision", "copy"})
"""Source audit actions the copy reproduces through its own writes (or that describe earlier copies)."""


@dataclass(frozen=True)
class CopyResult:
    """What a copy added to the destination."""

    evidence_new: int
    """Evidence documents the destination did not have."""
    evidence_total: int
    """Evidence documents in the source."""
    decisions_new: int
    """Decision records the destination did not have."""
    decisions_total: int
    """Decision records in the source."""
    audit_replayed: int
    """Source audit entries (other than ingest/decision) newly replayed into the destination chain."""


def copy_store(src: Store, dst: Store, actor: str) -> CopyResult:
    """Copy all evidence, decisions and audit facts of `src` into `dst`; idempotent."""
    source_chain = list(src.audit_entries())
    checked, problem = verify_chain(source_chain)
    if problem is not None:
        raise StoreError(f"{src.url}: audit chain is broken, refusing to copy: {problem}")

    evidence_new = evidence_total = 0
    for module in src.modules():
        records = src.list_evidence(module)
        evidence_total += len(records)
        evidence_new += sum(dst.put_evidence(records, actor))

    decisions = src.list_decisions()
    known = {row.decision_id for row in dst.list_decisions()}
    for row in decisions:
        if row.decision_id not in known:
            dst.put_decision(row, actor)
    decisions_new = sum(1 for row in decisions if row.decision_id not in known)

    replayed = {
        entry.details["copied_from"]["entry_hash"]
        for entry in dst.audit_entries()
        if isinstance(entry.details.get("copied_from"), dict)
    }
    audit_replayed = 0
    for entry in source_chain:
        if entry.action in REPLAYED_BY_WRITES or entry.entry_hash in replayed:
            continue
        origin = {"store": src.url, "seq": entry.seq, "entry_hash": entry.entry_hash,
                  "at": entry.at, "actor": entry.actor}
        dst.append_audit(actor, entry.action, entry.module, {**entry.details, "copied_from": origin})
        audit_replayed += 1

    result = CopyResult(
        evidence_new=evidence_new, evidence_total=evidence_total, decisions_new=decisions_new,
        decisions_total=len(decisions), audit_replayed=audit_replayed,
    )
    if evidence_new or decisions_new or audit_replayed:
        dst.append_audit(
            actor, "copy", None,
            {"from": src.url, "source_chain_length": checked,
             "source_chain_head": source_chain[-1].entry_hash if source_chain else GENESIS,
             "evidence_new": evidence_new, "decisions_new": decisions_new, "audit_replayed": audit_replayed},
        )
    return result
