"""Per owning team: how far its modules are from their target lanes, today and day by day.

The owner and target lane of each module come from its lane manifest (`owner`, `lanes.target`);
a module without a manifest is counted under "(no owner)". Each module's ladder (`decision.ladder`)
is rebuilt from the decisions of each day, so the trend is what the gate said on that day.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from readypolicy.decision.ladder import Ladder, Rung, climb, manifest_of
from readypolicy.store.interface import Store

NO_OWNER = "(no owner)"


@dataclass(frozen=True)
class Team:
    """A module's owner and target lane, from its manifest."""

    owner: str
    target: str | None


@dataclass(frozen=True)
class TeamDay:
    """One day of a team's trend."""

    day: str
    at_target: int
    """Modules ready for their target lane that day."""
    blockers: int
    """Checks standing between the team's modules and their targets that day, summed."""


@dataclass(frozen=True)
class TeamRollup:
    """One team's modules, their ladders now and the trend."""

    owner: str
    ladders: tuple[Ladder, ...]
    trend: tuple[TeamDay, ...]

    @property
    def at_target(self) -> int:
        """Modules ready for their target lane now."""
        return sum(1 for ladder in self.ladders if ladder.at_target)

    @property
    def blockers(self) -> int:
        """Checks standing between the team's modules and their targets now."""
        return sum(len(ladder.blockers) for ladder in self.ladders)


def _ladders(latest: Mapping[tuple[str, str], Mapping[str, Any]], lanes: Sequence[str],
             teams: Mapping[str, Team]) -> dict[str, list[Ladder]]:
    """Owner → ladders of its modules, from the latest decision per (module, lane)."""
    per_module: dict[str, dict[str, Rung]] = defaultdict(dict)
    revisions: dict[str, str] = {}
    for (module, lane), record in latest.items():
        per_module[module][lane] = Rung.of(record)
        revisions[module] = str(record["subject"]["revision"])
    out: dict[str, list[Ladder]] = defaultdict(list)
    for module in sorted(per_module):
        team = teams.get(module, Team(NO_OWNER, None))
        out[team.owner or NO_OWNER].append(climb(module, revisions[module], per_module[module], lanes, team.target))
    return out


def rollup(
    latest: Mapping[tuple[str, str], Mapping[str, Any]],
    per_day: Mapping[str, Mapping[tuple[str, str], Mapping[str, Any]]],
    days: Iterable[str],
    lanes: Sequence[str],
    teams: Mapping[str, Team],
) -> list[TeamRollup]:
    """Every team with its modules' ladders now and, per day with decisions, at-target and blocker counts."""
    now = _ladders(latest, lanes, teams)
    trend: dict[str, list[TeamDay]] = defaultdict(list)
    for day in days:
        for owner, ladders in _ladders(per_day.get(day, {}), lanes, teams).items():
            trend[owner].append(TeamDay(day, sum(1 for lad in ladders if lad.at_target),
                                        sum(len(lad.blockers) for lad in ladders)))
    return [TeamRollup(owner, tuple(now[owner]), tuple(trend[owner])) for owner in sorted(now)]


def module_teams(store: Store, records: Sequence[Mapping[str, Any]]) -> dict[str, Team]:
    """Module → owner and target lane, from the manifest of its latest decision (records oldest first)."""
    latest: dict[str, Mapping[str, Any]] = {}
    for record in records:
        latest[str(record["subject"]["module"])] = record
    out: dict[str, Team] = {}
    for module, record in latest.items():
        manifest = manifest_of(store, record)
        out[module] = Team(str(manifest.get("owner") or NO_OWNER), manifest.get("target_lane"))
    return out
