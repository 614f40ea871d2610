"""The waiver file as a book of governed waivers: request, approve, revoke, list.

Each command reads the whole file, changes one waiver and writes the file back atomically, keeping
plain entries as they were. A request is bounded at once by the lifetime the policy allows in each
of its lanes, so nobody approves a waiver the gate would ignore. Approval signs the canonical
waiver (`approval.sign_approval`); revocation only marks it, which the gate honours whatever the
signature says.
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
from readypolicy.waivers import model
from readypolicy.waivers.approval import sign_approval


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
    """The governed waiver with this id."""
    for item in items:
        if model.is_governed(item) and item["id"] == waiver_id:
            return item  # type: ignore[no-any-return]
    raise WaiverBookError(f"{path}: no waiver with id {waiver_id}")


def approve(
    path: Path, waiver_id: str, approved_by: str, signer: Signer, now: datetime, lifetimes: Mapping[str, int] | None,
) -> dict[str, Any]:
    """Approve a requested waiver: set `approved_by`, sign the canonical waiver, mark it `approved`.

    The requester cannot approve their own waiver (four eyes), and an expired or revoked one stays so.
    """
    items = read_book(path)
    item = find(items, waiver_id, path)
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


def revoke(path: Path, waiver_id: str, revoked_by: str, reason: str, now: datetime) -> dict[str, Any]:
    """Mark a waiver revoked (from any state): the gate ignores it from then on."""
    items = read_book(path)
    item = find(items, waiver_id, path)
    if item.get("state") == "revoked":
        raise WaiverBookError(f"{path}: waiver {waiver_id} is already revoked")
    item.update({"state": "revoked", "revoked_by": revoked_by, "revoked_at": rfc3339(now), "revoke_reason": reason})
    write_book(path, items)
    return item


def listing(path: Path, now: datetime) -> list[dict[str, Any]]:
    """One row per governed waiver: id, check, module, lanes, state at `now`, people and times."""
    rows = []
    for item in read_book(path):
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
        })
    return rows
