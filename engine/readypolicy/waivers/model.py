"""What a governed waiver is: its fields, its state at a moment, and the part an approver signs.

A governed waiver (one with an `id`) names the check, the module (or a `pattern` of module names
with an explicit `owner`: it then covers only matching modules the pack's `waivers.owners` lists under that owner),
the lanes, a reason, a link or ticket, who asked (`requested_by`), who accepted the risk (`approved_by`), and when it runs
(`created` to `expires`). Its state is `requested`, `approved` or `revoked` as written in the file,
and `expired` once `expires` has passed, whatever the file says; a revocation recorded in the
store's audit chain (`revocations`) overrides the file too.

The approval signs `body()`: every field above, canonical JSON, nothing else. So changing the
reason, a lane, the expiry or the approver's name after approval breaks the signature, while the
state and the approval itself (which cannot sign themselves) are outside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from readypolicy.canonical import parse_rfc3339, rfc3339
from readypolicy.identifiers import identifier_problem

SIGNED = ("id", "check", "module", "pattern", "owner", "lanes", "reason", "link", "requested_by", "approved_by",
          "created", "expires")
"""Fields an approval covers, in display order."""
REQUIRED = ("id", "check", "lanes", "reason", "link", "requested_by", "created", "expires")
STATES = ("requested", "approved", "revoked")
"""States written in the file; `expired` is derived from `expires` and the evaluation time."""


def is_governed(item: Any) -> bool:
    """A governed waiver has an `id`; a plain `waivers.yaml` entry (check, module, lane, approver) has none."""
    return isinstance(item, Mapping) and "id" in item


def problem(item: Mapping[str, Any]) -> str | None:
    """Why a governed waiver is malformed, or None; a malformed waiver is never honoured."""
    absent = [key for key in REQUIRED if not item.get(key)]
    if absent:
        return f"missing {', '.join(absent)}"
    if bool(item.get("module")) == bool(item.get("pattern")):
        return "names neither or both of module and pattern (exactly one is needed)"
    if item.get("pattern") and not item.get("owner"):
        return "a pattern waiver needs an explicit owner"
    for key in ("id", "check", "module", "pattern", "owner"):
        if key not in ("id", "check") and not item.get(key):
            continue
        found = identifier_problem(str(item[key]))
        if found is not None:
            return f"{key} {str(item[key])[:80]!r} {found}"
    lanes = item["lanes"]
    if not isinstance(lanes, list) or not all(isinstance(lane, str) and identifier_problem(lane) is None for lane in lanes):
        return "lanes must be a list of lane names"
    state = item.get("state", "requested")
    if state not in STATES:
        return f"state {state!r} is not one of {', '.join(STATES)}"
    if state == "approved" and not item.get("approved_by"):
        return "approved, but names no approved_by"
    for key in ("created", "expires"):
        try:
            parse_rfc3339(str(item[key]))
        except ValueError:
            return f"{key} {str(item[key])[:40]!r} is not an RFC 3339 time"
    if parse_rfc3339(str(item["expires"])) <= parse_rfc3339(str(item["created"])):
        return "expires is not after created"
    return None


def body(item: Mapping[str, Any]) -> dict[str, Any]:
    """The signed part: every field in `SIGNED`, times in UTC RFC 3339, an absent approver as ""."""
    out: dict[str, Any] = {key: item.get(key, "") for key in SIGNED}
    out["lanes"] = [str(lane) for lane in item.get("lanes") or []]
    for key in ("created", "expires"):
        out[key] = rfc3339(parse_rfc3339(str(item[key])))
    return {key: value if isinstance(value, list) else str(value) for key, value in out.items()}


def state_at(item: Mapping[str, Any], now: datetime) -> str:
    """`revoked` and `requested` as written; `approved` unless `expires` has passed, then `expired`."""
    state = str(item.get("state", "requested"))
    if state == "approved" and parse_rfc3339(str(item["expires"])) <= now:
        return "expired"
    return state


def lifetime_problem(item: Mapping[str, Any], lifetimes: Mapping[str, int] | None) -> str | None:
    """Why the span from `created` to `expires` is longer than the policy allows in one of its lanes."""
    if lifetimes is None:
        return None
    span = parse_rfc3339(str(item["expires"])) - parse_rfc3339(str(item["created"]))
    for lane in item["lanes"]:
        if lane not in lifetimes:
            return f"the policy sets no waiver lifetime for lane {lane}, so no waiver applies there"
        if span.total_seconds() > lifetimes[lane] * 86400:
            return (f"it runs {span.total_seconds() / 86400:.1f} days; the policy allows at most "
                    f"{lifetimes[lane]} in lane {lane}")
    return None


def policy_entries(item: Mapping[str, Any], approved_key: str | None) -> list[dict[str, Any]]:
    """The entries the policy input gets: one per lane, in the shape `lib.waiver_for` reads.

    A pattern waiver keeps `pattern` and `owner`: `build_input` gives it to each matching module as
    that module's waiver, and the policy applies it only where the pack's `waivers.owners` lists the module
    under that owner (never the module's own manifest).

    `approved_key` names the key whose signature vouched for the approval (None when approvals
    are not configured), so the signed decision says who accepted the risk and how that is known.
    """
    signed = body(item)
    base = {
        "id": signed["id"], "check": signed["check"], "module": signed["module"] or signed["pattern"],
        "reason": signed["reason"],
        "link": signed["link"], "requested_by": signed["requested_by"], "approver": signed["approved_by"],
        "created": signed["created"], "expires": signed["expires"],
    }
    if signed["pattern"]:
        base.update(pattern=signed["pattern"], owner=signed["owner"])
    if approved_key is not None:
        base["approved_key"] = approved_key
    return [{**base, "lane": lane} for lane in signed["lanes"]]
