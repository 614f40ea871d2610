"""Advisory vs blocking: how each check is enforced at a decision's evaluation time, read from the catalog.

A pack rolls a new check out the way scorecard tools do ("enable later", `effective_on`): the check
is `advisory` (a failure warns, never blocks) until its `enforce_from` day, then `blocking`. Which
is which is the catalog's to say, in data, and is re-derived here from the same data and the
decision's own `input.now`, so a lane rule that marks a blocking check `warn` is caught before the
decision is stored or signed, and a replay at the recorded time gets the same enforcement.

Reading mirrors `lib.enforcement` in policies/lib/decision.rego. Where the Rego falls back to
`blocking` for a malformed value (a typo, an unparseable date), this reader refuses the pack
instead: both are fail-safe, and the refusal names the entry to fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from readypolicy.policy.interface import PolicyError

MODES = ("blocking", "advisory")


@dataclass(frozen=True)
class Enforcement:
    """How one check is enforced: a fixed mode, or advisory until a day and blocking from it."""

    mode: str
    """`blocking` or `advisory`: the catalog entry's, else the pack default (ignored when scheduled)."""
    enforce_from: str | None = None
    """`YYYY-MM-DD` from which (00:00 UTC) the check blocks; before it the check is advisory."""

    @property
    def starts(self) -> datetime | None:
        """The moment enforcement starts, or None when not scheduled."""
        if self.enforce_from is None:
            return None
        return datetime.combine(date.fromisoformat(self.enforce_from), datetime.min.time(), UTC)

    def at(self, now: datetime) -> str:
        """`blocking` or `advisory` at `now` (the decision's evaluation time)."""
        starts = self.starts
        if starts is not None:
            return "blocking" if now >= starts else "advisory"
        return self.mode


def pack_enforcement(config: Mapping[str, Any], origin: str) -> dict[str, Enforcement]:
    """Check id → its enforcement, for every catalog entry; a malformed value is a PolicyError.

    `enforcement.default` sets the pack's mode (blocking when absent); an entry's `enforcement`
    overrides it, and its `enforce_from: "YYYY-MM-DD"` (a quoted string) schedules it.
    """
    section = config.get("enforcement", {})
    default = section.get("default", "blocking") if isinstance(section, dict) else None
    if default not in MODES:
        raise PolicyError(f"{origin}: enforcement.default must be one of {', '.join(MODES)}, not {default!r}")
    out: dict[str, Enforcement] = {}
    for check_id, entry in (config.get("checks") or {}).items():
        if not isinstance(entry, dict):
            continue
        mode = entry.get("enforcement", default)
        if mode not in MODES:
            raise PolicyError(f"{origin}: check {check_id} has enforcement {mode!r}; use one of {', '.join(MODES)}")
        start = entry.get("enforce_from")
        if start is not None and not _is_day(start):
            raise PolicyError(
                f"{origin}: check {check_id} has enforce_from {start!r}; write a quoted day \"YYYY-MM-DD\""
            )
        out[str(check_id)] = Enforcement(mode=mode, enforce_from=start)
    return out


def _is_day(value: Any) -> bool:
    if not isinstance(value, str) or len(value) != 10:
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def scheduled(enforcement: Mapping[str, Enforcement], now: datetime) -> list[tuple[str, str]]:
    """(day, check id) of every enforcement date still ahead of `now`, soonest first."""
    return sorted(
        (e.enforce_from, check_id) for check_id, e in enforcement.items()
        if e.enforce_from is not None and e.starts is not None and e.starts > now
    )
