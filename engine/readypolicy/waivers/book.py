"""The waiver file as a book of governed waivers: request, approve, revoke, list.

Each command reads the whole file, changes one waiver and writes the file back atomically, keeping
plain entries as they were. A request is bounded at once by the lifetime the policy allows in each
of its lanes, so nobody approves a waiver the gate would ignore. Approval signs the canonical
waiver (`approval.sign_approval`). Revocation is first recorded in the store's audit chain
(`revocations`), then marked in the file: the file's `state` is not signed and anyone with write
access can edit it, so approve, list and the gate read revocations from the chain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from readypolicy.canonical import digest, parse_rfc3339, rfc3339
from readypolicy.policy.interface import PolicyError
from readypolicy.policy.waivers import read_waiver_items
from readypolicy.safeio import write_atomic
from readypolicy.signing import Signer
from readypolicy.store.interface import Store
from readypolicy.waivers import model
from readypolicy.waivers.approval import sign_approval
from readypolicy.waivers.revocations import Revocation, record_revocation, recorded_revocations, revocations_of


class WaiverBookError(PolicyError):
    """A waiver cannot be requested, approved or revoked as asked."""


@dataclass(frozen=True)
class Request:
    """What `waiver request` asks for."""

    check: str
    module: str | None
    """The module; None for a pattern waiver."""
    lanes: tuple[str, ...]
    reason: str
    link: str
    requested_by: str
    created: datetime
    expires: datetime
    id: str | None = None
    pattern: str | None = None
    """Shell-style pattern of module names (instead of `module`), with an explicit `owner`."""
    owner: str | None = None


def read_book(path: Path) -> list[Any]:
    """Every entry of the file (plain and governed), in order."""
    return list(read_waiver_items(path))


def write_book(path: Path, items: Sequence[Any]) -> None:
    """Write the entries back as `waivers:` YAML, atomically (a reader never sees half a file)."""
    write_atomic(path, yaml.safe_dump({"waivers": list(items)}, sort_keys=False, allow_unicode=True, width=120))


def request(path: Path, asked: Request, lifetimes: Mapping[str, int] | None) -> dict[str, Any]:
    """Add a waiver in state `requested`; refused when malformed, too long for a lane, or its id is taken."""
    items = read_book(path)
    named = {"module": asked.module} if asked.module else {"pattern": asked.pattern, "owner": asked.owner}
    item: dict[str, Any] = {
        "id": "", "check": asked.check, **named, "lanes": list(asked.lanes), "reason": asked.reason,
        "link": asked.link, "requested_by": asked.requested_by, "approved_by": "",
        "created": rfc3339(asked.created), "expires": rfc3339(asked.expires), "state": "requested",
    }
    item["id"] = asked.id or "W-" + digest(model.body(item)).removeprefix("sha256:")[:10]
    problem = model.problem(item) or model.lifetime_problem(item, lifetimes)
    if problem:
        raise WaiverBookError(f"{path}: waiver for {asked.check} on {asked.module or asked.pattern} refused: {problem}")
    if any(model.is_governed(other) and other["id"] == item["id"] for other in items):
        raise WaiverBookError(f"{path}: a waiver with id {item['id']} already exists")
    write_book(path, [*items, item])
    return item


def find(items: Sequence[Any], waiver_id: str, path: Path) -> dict[str, Any]:
    """The governed waiver with this id (compared as text, as the approval signs it and the gate reads it)."""
    for item in items:
        if model.is_governed(item) and str(item["id"]) == waiver_id:
            return item  # type: ignore[no-any-return]
    raise WaiverBookError(f"{path}: no waiver with id {waiver_id}")


def approve(
    path: Path, waiver_id: str, approved_by: str, signer: Signer, now: datetime, lifetimes: Mapping[str, int] | None,
    store: Store,
) -> dict[str, Any]:
    """Approve a requested waiver: set `approved_by`, sign the canonical waiver, mark it `approved`.

    The requester cannot approve their own waiver (four eyes), and an expired or revoked one stays
    so: revoked in the file or in `store`'s audit chain (an id once revoked is never approved again,
    since the gate would ignore it).
    """
    items = read_book(path)
    item = find(items, waiver_id, path)
    revocation = recorded_revocations(store).get(waiver_id)
    if revocation is not None:
        raise WaiverBookError(f"{path}: waiver {waiver_id} cannot be approved: {revocation.describe()}; "
                              "request a new waiver with a new id")
    state = model.state_at(item, now) if model.problem(item) is None else None
    if state != "requested":
        raise WaiverBookError(f"{path}: waiver {waiver_id} is {state or 'malformed: ' + str(model.problem(item))}; "
                              "only a requested waiver can be approved")
    if approved_by == item["requested_by"]:
        raise WaiverBookError(f"{path}: waiver {waiver_id} was requested by {approved_by}, who cannot also approve it")
    if parse_rfc3339(str(item["expires"])) <= now:
        raise WaiverBookError(f"{path}: waiver {waiver_id} expired {item['expires']}; request a new one")
    problem = model.lifetime_problem(item, lifetimes)
    if problem:
        raise WaiverBookError(f"{path}: waiver {waiver_id} cannot be approved: {problem}")
    item["approved_by"] = approved_by
    item["approval"] = sign_approval(item, signer)
    item["state"] = "approved"
    write_book(path, items)
    return item


def revoke(path: Path, waiver_id: str, revoked_by: str, reason: str, store: Store) -> dict[str, Any]:
    """Revoke a waiver (from any state): record it in `store`'s audit chain, then mark it in the file.

    The chain entry comes first, so a failure in between leaves the waiver revoked for the gate.
    A waiver the file alone says is revoked (by hand, or before revocations were recorded) is
    recorded now; one the chain already records is refused.
    """
    items = read_book(path)
    item = find(items, waiver_id, path)
    earlier = recorded_revocations(store).get(waiver_id)
    if earlier is not None:
        raise WaiverBookError(f"{path}: waiver {waiver_id} is already revoked: {earlier.describe()}")
    revocation = record_revocation(store, revoked_by, item, reason)
    item.update({"state": "revoked", "revoked_by": revocation.by, "revoked_at": revocation.at, "revoke_reason": reason})
    write_book(path, items)
    return item


def listing(path: Path, now: datetime, store: Store) -> list[dict[str, Any]]:
    """One row per governed waiver: id, check, module, lanes, state at `now`, people and times.

    A waiver `store` records as revoked is listed `revoked` with who, when and why from the audit
    chain, whatever the file says; `file_state` then shows what the file claims.
    """
    items = read_book(path)
    revoked = revocations_of(items, store)
    rows = []
    for item in items:
        if not model.is_governed(item):
            continue
        problem = model.problem(item)
        rows.append({
            "id": str(item["id"]), "check": item.get("check"), "module": item.get("module") or item.get("pattern"),
            "owner": item.get("owner"), "lanes": item.get("lanes"),
            "state": f"malformed ({problem})" if problem else model.state_at(item, now),
            "requested_by": item.get("requested_by"), "approved_by": item.get("approved_by") or None,
            "created": item.get("created"), "expires": item.get("expires"), "reason": item.get("reason"),
            "link": item.get("link"),
            **_revocation_columns(item, revoked.get(str(item["id"]))),
        })
    return rows


def _revocation_columns(item: Mapping[str, Any], revocation: Revocation | None) -> dict[str, Any]:
    """Who revoked a waiver, when and why: from the audit chain when recorded there, else from the file."""
    if revocation is not None:
        return {"state": "revoked", "file_state": item.get("state"), "revoked_by": revocation.by,
                "revoked_at": revocation.at, "revoke_reason": revocation.reason, "revocation": f"audit entry {revocation.seq}"}
    if item.get("state") != "revoked":
        return {}
    return {"revoked_by": item.get("revoked_by"), "revoked_at": item.get("revoked_at"),
            "revoke_reason": item.get("revoke_reason"), "revocation": "the waiver file only (not in the audit chain)"}
