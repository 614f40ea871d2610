"""Cross-check the audit chain against the rows it describes: decisions and ingests.

The chain only hashes its own entries. Someone with write access to the database can insert a
decision row without logging it, or append an entry (with correctly recomputed hashes) that
describes a decision or an ingest that never happened, or says something else than the row does.
Each `decision` row must have its content address and a `decision` entry that says what the row
says; each `decision` entry must name a stored decision (decisions are never deleted); each
`ingest` entry must describe a stored evidence row (or one a later `prune` entry removed).
"""

from __future__ import annotations

from readypolicy.decision.record import record_id
from readypolicy.store.chain import removed_here
from readypolicy.store.interface import AuditEntry, DecisionRow, Store

_DECISION_FIELDS = ("lane", "allow", "policy_digest", "revision")
"""Details of a `decision` entry, each equal to the decision row's column of the same name."""
_INGEST_FIELDS = ("raw_sha256", "kind", "scope", "revision")
"""Details of an `ingest` entry, each equal to the evidence row's column of the same name."""


def _row_problem(row: DecisionRow) -> str | None:
    """What is wrong with a decision row on its own: content address and columns against its record."""
    actual = record_id(row.record)
    if actual != row.decision_id or row.record.get("decision_id") != row.decision_id:
        return f"its record now hashes to {actual}"
    subject = row.record.get("subject") or {}
    said = {"module": subject.get("module"), "revision": subject.get("revision"), "lane": row.record.get("lane"),
            "allow": row.record.get("allow"), "policy_digest": (row.record.get("policy") or {}).get("digest"),
            "evaluated_at": row.record.get("evaluated_at")}
    for column, value in said.items():
        if getattr(row, column) != value:
            return f"its {column} column says {getattr(row, column)!r} but its record says {value!r}"
    return None


def decision_problems(store: Store, entries: list[AuditEntry]) -> list[str]:
    """Decision rows the chain does not vouch for, and `decision` entries no row stands behind."""
    logged: dict[str, AuditEntry] = {}
    for item in entries:
        if item.action == "decision":
            logged.setdefault(str(item.details.get("decision_id")), item)
    rows = {row.decision_id: row for row in store.list_decisions()}
    problems: list[str] = []
    for decision_id, row in rows.items():
        problem = _row_problem(row)
        entry = logged.get(decision_id)
        if problem is not None:
            problems.append(f"decision {decision_id} no longer matches its content address ({problem})")
        elif entry is None:
            problems.append(f"decision {decision_id} has no decision entry in the audit chain (inserted unlogged)")
        else:
            problems.extend(_disagreement(entry, f"decision {decision_id}", row.module,
                                          {field: getattr(row, field) for field in _DECISION_FIELDS}))
    for decision_id, entry in logged.items():
        if decision_id not in rows:
            problems.append(f"entry {entry.seq} logs decision {decision_id}, which is not in the store "
                            "(an entry appended for a decision that was never stored, or a deleted decision)")
    return problems


def ingest_problems(store: Store, entries: list[AuditEntry]) -> list[str]:
    """`ingest` entries that describe evidence the store does not hold as they say (and no prune removed)."""
    pruned: set[str] = set()
    stored = {record.digest: record for module in store.modules() for record in store.list_evidence(module)}
    problems: list[str] = []
    for entry in reversed(entries):  # a prune removes what was ingested before it
        pruned.update(removed_here(entry))
        if entry.action != "ingest":
            continue
        evidence_digest = str(entry.details.get("digest"))
        record = stored.get(evidence_digest)
        if record is None:
            if evidence_digest not in pruned:
                problems.append(f"entry {entry.seq} logs ingest of evidence {evidence_digest}, which is not in the "
                                "store and no later prune entry removed it")
            continue
        problems.extend(_disagreement(entry, f"evidence {evidence_digest}", record.module,
                                      {field: getattr(record, field) for field in _INGEST_FIELDS}))
    return problems


def _disagreement(entry: AuditEntry, what: str, module: str, row: dict[str, object]) -> list[str]:
    """Where an entry's module and details say something else than the row it logs."""
    said = {"module": entry.module, **{field: entry.details.get(field) for field in row}}
    actual = {"module": module, **row}
    return [
        f"entry {entry.seq} says {field} {said[field]!r} of {what}, but the store row says {actual[field]!r}"
        for field in actual if said[field] != actual[field]
    ]
