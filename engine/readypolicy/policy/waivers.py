"""Waivers: time-boxed, approved exceptions that turn a failing check into `waived`.

The file is read leniently on purpose: a malformed or expired entry is dropped with a warning
rather than failing the run, because the safe outcome of a bad waiver is the check failing.

A waiver is time-boxed by the pack, not by its author: it runs from `created` to `expires`, and
the pack's data (`waivers.lifetime_days_max`, per lane) bounds that span, so a waiver expiring
in 2199 is never in force. The policy enforces all of it against `input.now` (so replays agree);
this loader applies the same numbers, read from the same data document, to warn about the
waivers the policy will ignore. Which checks may be waived at all is the catalog's to say, in the
policy only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from readypolicy.canonical import parse_rfc3339, rfc3339
from readypolicy.decision.catalog import pack_lifetimes
from readypolicy.identifiers import identifier_problem
from readypolicy.policy.interface import PolicyError, PolicySet
from readypolicy.safeio import UnsafeInputError, loads_yaml, read_limited

REQUIRED = ("check", "module", "lane", "reason", "approver", "created", "expires")
CARRIED = ("id", "link", "requested_by", "approved_key", "pattern", "owner")
"""Optional fields a governed waiver (readypolicy.waivers) passes on to the policy input and the decision."""
TIMES = ("created", "expires")
LATEST_EXPIRY_YEAR = 2200
"""Rego's nanosecond timestamps overflow in 2262; a waiver dated past this would silently never apply."""


@dataclass(frozen=True)
class Waivers:
    """The usable waivers and the warnings about the rest."""

    entries: tuple[dict[str, Any], ...]
    """Well-formed waivers in force at the evaluation time (created and expires in UTC RFC 3339)."""
    warnings: tuple[str, ...]
    """One line per ignored entry."""


def lane_lifetimes(policies: Mapping[str, PolicySet]) -> dict[str, int] | None:
    """Waiver lifetimes for a run that decides each lane with the given policy (`eval --locked` may use several).

    A decided lane takes its number from the policy deciding it, or has none (so its waivers are
    dropped, as that policy would ignore them); other lanes' waivers cannot apply in this run but
    are still checked, against what the run's policies say. None when no policy has a table.
    """
    tables = {policy.digest: pack_lifetimes(policy) for policy in policies.values()}
    if all(table is None for table in tables.values()):
        return None
    merged = {lane: days for table in tables.values() for lane, days in (table or {}).items()}
    for lane, policy in policies.items():
        own = tables[policy.digest] or {}
        if lane in own:
            merged[lane] = own[lane]
        else:
            merged.pop(lane, None)
    return merged


def load_waivers(path: Path | None, now: str, lifetimes: Mapping[str, int] | None) -> Waivers:
    """Read `waivers.yaml` (a list, or a mapping with `waivers:`); a missing file means no waivers.

    `lifetimes` (lane → days, from `pack_lifetimes` / `lane_lifetimes`) drops the waivers the
    policy would ignore as too long; None leaves that to the policy (`policy diff`, which judges
    the same waivers under two policies).
    """
    items = read_waiver_items(path)
    return check_entries(((f"{path}: waiver #{index}", item) for index, item in enumerate(items, start=1)), now, lifetimes)


def read_waiver_items(path: Path | None) -> list[Any]:
    """The raw entries of a waiver file; a missing file or an empty list means none."""
    if path is None or not path.is_file():
        return []
    try:
        doc = loads_yaml(read_limited(path, 4 * 1024 * 1024), str(path))
    except UnsafeInputError as exc:
        raise PolicyError(str(exc)) from exc
    items = doc.get("waivers") if isinstance(doc, dict) else doc
    if items is None:
        return []
    if not isinstance(items, list):
        raise PolicyError(f"{path}: expected a list of waivers")
    return items


def check_entries(labelled: Iterable[tuple[str, Any]], now: str, lifetimes: Mapping[str, int] | None) -> Waivers:
    """Keep the well-formed entries in force at `now`; one warning, starting with its label, per other entry."""
    entries: list[dict[str, Any]] = []
    warnings: list[str] = []
    moment = parse_rfc3339(now)
    for label, item in labelled:
        problem, entry = _check(item)
        if problem:
            warnings.append(f"{label} ignored: {problem}")
            continue
        timing = _timing_problem(entry, moment, lifetimes)
        if timing:
            warnings.append(f"{label} for {entry['check']} on {entry['module']} {timing}")
        else:
            entries.append(entry)
    return Waivers(tuple(entries), tuple(warnings))


def _check(item: Any) -> tuple[str | None, dict[str, Any]]:
    if not isinstance(item, dict):
        return "not a mapping", {}
    absent = [key for key in REQUIRED if not item.get(key)]
    if absent:
        return f"missing {', '.join(absent)}", {}
    entry = {key: str(item[key]) for key in (*REQUIRED, *CARRIED) if key in item}
    for key in ("check", "module", "lane"):
        problem = identifier_problem(entry[key])
        if problem is not None:
            return f"{key} {entry[key][:80]!r} {problem}", {}
    for key in TIMES:
        try:
            moment = parse_rfc3339(str(item[key]))
        except ValueError:
            return f"{key} {item[key]!r} is not an RFC 3339 time", {}
        if moment.year > LATEST_EXPIRY_YEAR:
            return f"{key} {item[key]!r} is beyond {LATEST_EXPIRY_YEAR}: a waiver must be time-boxed", {}
        entry[key] = rfc3339(moment)
    return None, entry


def _timing_problem(entry: dict[str, Any], now: datetime, lifetimes: Mapping[str, int] | None) -> str | None:
    """Why the policy will not honour a well-formed waiver at `now`, as the policy judges it; None if it will."""
    created, expires = (parse_rfc3339(entry[key]) for key in TIMES)
    if expires <= now:
        return f"expired {entry['expires']}"
    if created > now:
        return f"ignored: created {entry['created']} is after the evaluation time {rfc3339(now)}"
    if lifetimes is None:
        return None
    lane = entry["lane"]
    if lane not in lifetimes:
        return f"ignored: the policy sets no waiver lifetime for lane {lane}, so no waiver applies there"
    span = expires - created
    if span > timedelta(days=lifetimes[lane]):
        days = f"{span / timedelta(days=1):.1f}".removesuffix(".0")
        return (f"ignored: it runs {days} days from created {entry['created']} to expires {entry['expires']}; "
                f"the policy allows at most {lifetimes[lane]} in lane {lane}")
    return None
