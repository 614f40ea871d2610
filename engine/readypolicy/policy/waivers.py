"""Waivers: time-boxed, approved exceptions that turn a failing check into `waived`.

The file is read leniently on purpose: a malformed or expired entry is dropped with a warning
rather than failing the run, because the safe outcome of a bad waiver is the check failing.
Expiry is also enforced inside the policy against `input.now`, so replays agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from readypolicy.canonical import parse_rfc3339, rfc3339
from readypolicy.policy.interface import PolicyError
from readypolicy.safeio import UnsafeInputError, loads_yaml, read_limited

REQUIRED = ("check", "module", "lane", "reason", "approver", "expires")
LATEST_EXPIRY_YEAR = 2200
"""Rego's nanosecond timestamps overflow in 2262; a waiver dated past this would silently never apply."""


@dataclass(frozen=True)
class Waivers:
    """The usable waivers and the warnings about the rest."""

    entries: tuple[dict[str, Any], ...]
    """Well-formed, unexpired waivers (expires normalized to UTC RFC 3339)."""
    warnings: tuple[str, ...]
    """One line per ignored entry."""


def load_waivers(path: Path | None, now: str) -> Waivers:
    """Read `waivers.yaml` (a list, or a mapping with `waivers:`); a missing file means no waivers."""
    if path is None or not path.is_file():
        return Waivers((), ())
    try:
        doc = loads_yaml(read_limited(path, 4 * 1024 * 1024), str(path))
    except UnsafeInputError as exc:
        raise PolicyError(str(exc)) from exc
    items = doc.get("waivers") if isinstance(doc, dict) else doc
    if items is None:
        return Waivers((), ())
    if not isinstance(items, list):
        raise PolicyError(f"{path}: expected a list of waivers")
    entries: list[dict[str, Any]] = []
    warnings: list[str] = []
    moment = parse_rfc3339(now)
    for index, item in enumerate(items, start=1):
        problem, entry = _check(item)
        if problem:
            warnings.append(f"{path}: waiver #{index} ignored: {problem}")
        elif parse_rfc3339(entry["expires"]) <= moment:
            warnings.append(f"{path}: waiver #{index} for {entry['check']} on {entry['module']} expired {entry['expires']}")
        else:
            entries.append(entry)
    return Waivers(tuple(entries), tuple(warnings))


def _check(item: Any) -> tuple[str | None, dict[str, Any]]:
    if not isinstance(item, dict):
        return "not a mapping", {}
    absent = [key for key in REQUIRED if not item.get(key)]
    if absent:
        return f"missing {', '.join(absent)}", {}
    entry = {key: str(item[key]) for key in REQUIRED}
    try:
        expires = parse_rfc3339(str(item["expires"]))
    except ValueError:
        return f"expires {item['expires']!r} is not an RFC 3339 time", {}
    if expires.year > LATEST_EXPIRY_YEAR:
        return f"expires {item['expires']!r} is beyond {LATEST_EXPIRY_YEAR}: a waiver must be time-boxed", {}
    entry["expires"] = rfc3339(expires)
    return None, entry
