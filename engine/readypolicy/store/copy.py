"""Copy one store into another (SQLite to PostgreSQL when a team outgrows a file, or back).

An audit chain cannot be transplanted: its hashes commit to positions and to the entries before
them, and the destination may already have a chain of its own. So the copy goes through the
ordinary write methods, and the destination's chain records it: an `ingest` entry per copied
ingest event (replayed in the source's order, so every slot's current document is the same in the
copy), a `decision` entry per new decision, a replay of every other source entry (locks,
waivers, prunes...) with `copied_from` naming the source entry, and one closing `copy` entry that
commits to the source chain's head. Everything is keyed by content digests, so running the copy
again, or after an interrupted run, adds only what is missing.

Copying into a store that already holds evidence merges: events keep their original ingest times
and "latest" follows those times (store/sql.py), so older evidence from the source never becomes
current over newer evidence of the destination. A replayed entry is known by the entry it was
first copied from, so copying A to B and B back to A never logs a fact twice. The destination's
chain is verified before anything is written and again after the copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from readypolicy.store.chain import GENESIS, evidence_problems, verify_chain
from readypolicy.store.interface import AuditEntry, EvidenceRecord, IngestEvent, Store, StoreError, checked_evidence

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


def origin(entry: AuditEntry) -> dict[str, Any]:
    """The entry a fact was first logged as: its `copied_from` if it is a replay, else itself."""
    copied = entry.details.get("copied_from")
    if isinstance(copied, dict) and isinstance(copied.get("entry_hash"), str):
        return copied
    return {"seq": entry.seq, "entry_hash": entry.entry_hash, "at": entry.at, "actor": entry.actor}


def verified_chain(store: Store, role: str) -> list[AuditEntry]:
    """The store's chain, or `StoreError` when it or an evidence row it vouches for is broken."""
    chain = list(store.audit_entries())
    _count, problem = verify_chain(chain)
    problems = [problem] if problem is not None else evidence_problems(store, chain)
    if problems:
        raise StoreError(f"{store.url}: {role} audit chain is broken: {problems[0]}")
    return chain


def copy_store(src: Store, dst: Store, actor: str) -> CopyResult:
    """Copy all evidence, decisions and audit facts of `src` into `dst`; idempotent.

    A failure part-way raises `StoreError` saying what was already stored; running the copy
    again adds the rest.
    """
    done = {"evidence": 0, "decisions": 0, "audit entries": 0}
    try:
        return _copy(src, dst, actor, done)
    except StoreError as exc:
        stored = ", ".join(f"{count} {what}" for what, count in done.items() if count)
        if not stored:
            raise
        raise StoreError(
            f"{exc}; the copy stopped after storing {stored} in {dst.url}: run it again to add the rest"
        ) from exc


def _copy(src: Store, dst: Store, actor: str, done: dict[str, int]) -> CopyResult:
    source_chain = verified_chain(src, "source")
    checked = len(source_chain)
    verified_chain(dst, "destination")

    documents: dict[str, EvidenceRecord] = {}
    items: list[tuple[IngestEvent, EvidenceRecord]] = []
    for event in src.ingest_events():
        if event.digest not in documents:
            stored = src.get_evidence(event.digest)
            if stored is None:
                raise StoreError(f"{src.url}: ingest event {event.event_id} names evidence {event.digest} it does not hold")
            documents[event.digest] = checked_evidence(stored, src.url)
        items.append((event, documents[event.digest]))
    evidence_new = sum(dst.put_ingests(items, actor)) if items else 0
    done["evidence"] = evidence_new
    evidence_total = len(documents)

    decisions = src.list_decisions()
    known = {row.decision_id for row in dst.list_decisions()}
    decisions_new = 0
    for row in decisions:
        if row.decision_id not in known:
            dst.put_decision(row, actor)
            decisions_new += 1
            done["decisions"] = decisions_new

    present = {origin(entry)["entry_hash"] for entry in dst.audit_entries()}
    audit_replayed = 0
    for entry in source_chain:
        first = origin(entry)
        if entry.action in REPLAYED_BY_WRITES or first["entry_hash"] in present:
            continue
        details = {**entry.details, "copied_from": first if first["entry_hash"] != entry.entry_hash
                   else {"store": src.url, **first}}
        dst.append_audit(actor, entry.action, entry.module, details)
        present.add(first["entry_hash"])
        audit_replayed += 1
        done["audit entries"] = audit_replayed

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
    verified_chain(dst, "destination")
    return result
