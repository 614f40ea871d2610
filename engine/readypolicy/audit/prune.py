"""Retention: remove old evidence that no decision needs.

Decisions are append-only and every one must stay replayable, so evidence named by any decision is
kept forever; only documents that no decision references and that were last ingested before the
cut-off go. Removing a slot's current document while an older one of the same slot stays would make
that older one current, so a current document goes only together with its whole slot. The store
logs the removal (`prune`) in the same transaction as the delete.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from readypolicy.audit.trail import AuditError
from readypolicy.canonical import parse_rfc3339, rfc3339
from readypolicy.store.interface import Store

_AGE = re.compile(r"^(\d+)([hdw])$")
_UNIT_HOURS = {"h": 1, "d": 24, "w": 24 * 7}


@dataclass(frozen=True)
class PruneResult:
    """What a retention run found and did."""

    cutoff: str
    """Evidence ingested before this UTC RFC 3339 time was eligible."""
    examined: int
    """Evidence documents in the store."""
    referenced: int
    """Documents kept because a decision names them."""
    recent: int
    """Unreferenced documents kept because they were ingested after the cut-off, or are still a slot's current document."""
    digests: tuple[str, ...]
    """Documents removed (or, in a dry run, that would be)."""
    removed: int
    """Documents actually deleted (0 in a dry run)."""


def parse_age(text: str) -> timedelta:
    """`90d`, `12h` or `4w` as a duration."""
    match = _AGE.match(text.strip())
    if match is None:
        raise AuditError(f"--older-than {text!r}: expected a number and a unit, e.g. 90d, 12h or 4w")
    return timedelta(hours=int(match.group(1)) * _UNIT_HOURS[match.group(2)])


def prune_evidence(store: Store, now: datetime, older_than: timedelta, actor: str, dry_run: bool) -> PruneResult:
    """Delete unreferenced evidence ingested before `now - older_than` (nothing, with `dry_run`)."""
    cutoff = now - older_than
    referenced = {
        item["digest"] for row in store.list_decisions() for item in row.record.get("evidence") or []
    }
    evidence = [record for module in store.modules() for record in store.list_evidence(module)]
    last_ingested = {record.digest: record.ingested_at for record in evidence}
    slots: dict[tuple[str, str, str, str], list[str]] = {}
    for event in store.ingest_events():  # oldest first: the last event of a document decides its place
        last_ingested[event.digest] = event.ingested_at
        order = slots.setdefault((event.module, event.revision, event.kind, event.scope), [])
        if event.digest in order:
            order.remove(event.digest)
        order.append(event.digest)
    unreferenced = [record for record in evidence if record.digest not in referenced]
    eligible = {r.digest for r in unreferenced if parse_rfc3339(last_ingested[r.digest]) < cutoff}
    for order in slots.values():
        if order and order[-1] in eligible and not eligible.issuperset(order):
            eligible.discard(order[-1])  # keep the current document: an older one must not become current
    expired = tuple(sorted(eligible))
    removed = 0
    if expired and not dry_run:
        removed = store.delete_evidence(
            expired, actor, f"retention: unreferenced evidence ingested before {rfc3339(cutoff)}"
        )
    return PruneResult(
        cutoff=rfc3339(cutoff), examined=len(evidence), referenced=len(evidence) - len(unreferenced),
        recent=len(unreferenced) - len(expired), digests=expired, removed=removed,
    )
