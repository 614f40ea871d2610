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
from readypolicy.store.interface import AuditEntry, IngestEvent, Store, evidence_problem

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
    """Stored evidence the chain cannot vouch for: rows edited or never logged, and unlogged ingest events.

    The chain hashes its own entries, not the evidence and ingest tables, so an intact chain alone
    says nothing about a row changed in the database; each evidence row is checked against its
    content address and against the `ingest` entries of the chain, and so is each ingest event.
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
    return problems + event_problems(store.ingest_events(), entries)


def removed_here(entry: AuditEntry) -> set[str]:
    """The evidence digests an entry says were removed from this store: a `prune` entry's, unless copied.

    `store copy` replays another store's `prune` entries (with `copied_from`) but deletes nothing
    here; taken as a removal, a copied prune would excuse this store's rows and events of the same
    documents being deleted, and would report their still-stored events as unlogged.
    """
    if entry.action != "prune" or "copied_from" in entry.details:
        return set()
    return {str(item) for item in entry.details.get("digests") or []}


def event_problems(events: list[IngestEvent], entries: list[AuditEntry]) -> list[str]:
    """Ingest events (oldest first, as the store orders them) that the chain's `ingest` entries do not vouch for.

    The newest event of a slot names its current document, so one deleted or inserted `ingests` row
    makes another document current; the chain must show it. Each `ingest` entry names its event id,
    a hash over the event's document, time, source and actor (`IngestEvent.of`): every event must be
    named by one entry and hash to its id, every entry's event must be stored unless a later `prune`
    removed its document, and events of equal time must stand in the chain's order (the store breaks
    such ties by arrival, a column no hash covers).

    Entries written before entries named their event (an old chain) carry no id: each such entry
    vouches for one event of its document, so deleting or inserting an event of an old document
    still shows as a count that differs; when such an event happened, or its place among equal
    times, is what an old chain cannot say.
    """
    named: dict[str, AuditEntry] = {}
    unnamed: dict[str, list[AuditEntry]] = {}
    pruned: set[str] = set()
    problems: list[str] = []
    for entry in reversed(entries):  # a prune removes the events of documents ingested before it
        pruned.update(removed_here(entry))
        if entry.action != "ingest" or str(entry.details.get("digest")) in pruned:
            continue
        event_id = entry.details.get("event_id")
        if event_id is None:
            unnamed.setdefault(str(entry.details.get("digest")), []).append(entry)
        elif str(event_id) in named:
            problems.append(f"entry {entry.seq} logs ingest event {event_id}, which a later entry logs again")
        else:
            named[str(event_id)] = entry
    previous: tuple[str, int] | None = None
    for event in events:
        logged = named.pop(event.event_id, None)
        if logged is None:
            if unnamed.get(event.digest):
                unnamed[event.digest].pop()
            else:
                problems.append(f"ingest event {event.event_id} of evidence {event.digest} ({_slot(event)}) has no "
                                "ingest entry in the audit chain (inserted unlogged)")
            continue
        problem = _event_problem(event, logged)
        if problem is None and previous is not None and previous > (event.ingested_at, logged.seq):
            problem = "it stands after an event of the same time that the chain logs later (events reordered)"
        if problem is not None:
            problems.append(f"ingest event {event.event_id} ({_slot(event)}) does not match entry {logged.seq}: {problem}")
        previous = (event.ingested_at, logged.seq)
    gone = [*named.values(), *(entry for left in unnamed.values() for entry in left)]
    problems.extend(
        f"entry {entry.seq} logs an ingest of evidence {entry.details.get('digest')} whose ingest event is not in the "
        "store and no later prune entry removed it (a deleted ingest event)"
        for entry in sorted(gone, key=lambda item: item.seq)
    )
    return problems


def _event_problem(event: IngestEvent, entry: AuditEntry) -> str | None:
    """What in an event row says something else than the entry naming it, or None."""
    recomputed = IngestEvent.id_of(event.digest, event.ingested_at, event.source_path, event.actor)
    if recomputed != event.event_id:
        return f"its columns now hash to {recomputed}"
    details = entry.details
    said = {"module": entry.module, "digest": details.get("digest"), "revision": details.get("revision"),
            "kind": details.get("kind"), "scope": details.get("scope"), "source_path": details.get("source"),
            "actor": details.get("ingested_by", entry.actor)}
    for column, value in said.items():
        if getattr(event, column) != value:
            return f"its {column} column says {getattr(event, column)!r} but the entry says {value!r}"
    return None


def _slot(event: IngestEvent) -> str:
    return f"{event.module}@{event.revision} {event.kind}/{event.scope}"
