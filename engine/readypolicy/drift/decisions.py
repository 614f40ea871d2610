"""Recorded decisions vs lock: decisions made by a policy other than the one approved for their lane.

A decision names the digest of the policy files that made it. Since the lane's current approval
(or since `--since`), every decision of the pack for that lane should carry the approved digest;
one that does not was made from unapproved sources, a stale bundle or another pack build.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from readypolicy.drift.interface import Difference
from readypolicy.policy.lock import LockEntry
from readypolicy.store.interface import Store


@dataclass(frozen=True)
class DecisionScan:
    """What the decision check looked at and found."""

    checked: tuple[str, ...]
    """One line per lane: the window and how many decisions were read."""
    differences: tuple[Difference, ...]
    """One per decision whose policy digest is not the approved one."""


def decision_differences(
    store: Store, pack: str, lanes: Sequence[str], entries: Mapping[str, LockEntry], since: str | None,
) -> DecisionScan:
    """Scan each lane's decisions since `since`, or since the lane's approval when not given."""
    checked: list[str] = []
    found: list[Difference] = []
    for lane in lanes:
        entry = entries.get(lane)
        window = since or (entry.approved_at if entry else None)
        rows = [r for r in store.list_decisions(lane=lane, since=window) if r.record.get("pack") == pack]
        approved = entry.digest if entry else None
        checked.append(f"decisions of {pack}/{lane} since {window or 'the first'}: {len(rows)} read, "
                       + (f"approved digest {approved}" if approved else "no approved bundle"))
        for row in rows:
            if row.policy_digest == approved:
                continue
            policy = row.record.get("policy") or {}
            found.append(Difference(
                "decisions", (lane,), "decision" if approved else "decision-unapproved", f"{row.module}@{row.revision}",
                approved, row.policy_digest,
                f"decided {row.evaluated_at} by {policy.get('source', '?')} {policy.get('revision', '?')}, "
                f"decision {row.decision_id[:19]}",
            ))
    return DecisionScan(tuple(checked), tuple(found))
