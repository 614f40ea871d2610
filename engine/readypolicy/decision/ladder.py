"""Why not the next lane: per module, the highest lane it is ready for and what stands before its target.

Lanes are a ladder: a module climbs from the first lane as long as each decision allows it, and its
manifest names the lane it aims for (`lanes.target`). What stands between the two is every check
that blocks (fails or lacks evidence) in the lanes above the highest ready one, up to the target,
each listed once under the lowest lane where it blocks. This is read from decisions, never
recomputed, so it says exactly what `eval` said.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from readypolicy.store.interface import Store

BLOCKING = ("fail", "missing")


@dataclass(frozen=True)
class Rung:
    """What one lane's decision says about climbing: allowed, and the checks that block."""

    allow: bool
    blocking: tuple[tuple[str, str], ...]
    """(check id, status) of every blocking check, in decision order."""

    @classmethod
    def of(cls, record: Mapping[str, Any]) -> Rung:
        """The rung of a decision record (only what the ladder needs, so a fleet stays small in memory)."""
        return cls(bool(record["allow"]), tuple((c["id"], c["status"]) for c in record["checks"] if c["status"] in BLOCKING))


@dataclass(frozen=True)
class Ladder:
    """A module's position: the highest lane ready, its target, and what stands between."""

    module: str
    revision: str
    highest: str | None
    """Highest lane the module is ready for, climbing from the first; None when not even the first."""
    target: str
    """The manifest's `lanes.target`, else the last lane."""
    blockers: tuple[tuple[str, str, str], ...]
    """(lane, check, status): each check blocking between `highest` and `target`, under the lowest lane it blocks in."""
    undecided: tuple[str, ...]
    """Lanes up to the target that were not decided, so the answer for them is unknown."""

    @property
    def at_target(self) -> bool:
        """Ready for the target lane (and every lane below it)."""
        return not self.blockers and not self.undecided and self.highest is not None


def climb(module: str, revision: str, rungs: Mapping[str, Rung], lanes: Sequence[str], target: str | None) -> Ladder:
    """The ladder of one module from its decisions per lane (`lanes` in promotion order)."""
    goal = target if target in lanes else lanes[-1]
    highest: str | None = None
    for lane in lanes:
        rung = rungs.get(lane)
        if rung is None or not rung.allow:
            break
        highest = lane
    start = lanes.index(highest) + 1 if highest is not None else 0
    seen: set[str] = set()
    blockers: list[tuple[str, str, str]] = []
    undecided: list[str] = []
    for lane in lanes[start : lanes.index(goal) + 1]:
        rung = rungs.get(lane)
        if rung is None:
            undecided.append(lane)
            continue
        for check, status in rung.blocking:
            if check not in seen:
                seen.add(check)
                blockers.append((lane, check, status))
    return Ladder(module, revision, highest, goal, tuple(blockers), tuple(undecided))


def describe(ladder: Ladder) -> str:
    """One line for a terminal: highest lane, target, and the exact checks between them."""
    highest = ladder.highest or "no lane"
    head = f"{ladder.module} @ {ladder.revision}: ready for {highest}, target {ladder.target}"
    if ladder.at_target:
        return f"{head}: at target"
    parts = [f"{lane}: {check} ({status})" for lane, check, status in ladder.blockers]
    if ladder.undecided:
        parts.append(f"not decided in this run: {', '.join(ladder.undecided)}")
    return f"{head}; {len(ladder.blockers)} check(s) stand between: " + "; ".join(parts)


def manifest_of(store: Store, record: Mapping[str, Any]) -> dict[str, Any]:
    """The lane manifest a decision used (owner, target lane), read by its digest; {} when it had none."""
    for item in record.get("evidence") or []:
        if item.get("kind") == "manifest":
            found = store.get_evidence(str(item.get("digest")))
            data = found.document.get("data") if found is not None else None
            return data if isinstance(data, dict) else {}
    return {}


class LadderTally:
    """Collects each decision's rung as `eval` streams them, then gives every module's ladder.

    Keeps only rungs and targets (not records), so a fleet evaluation stays flat in memory.
    """

    def __init__(self, lanes: Sequence[str], store: Store) -> None:
        self._lanes = tuple(lanes)
        self._store = store
        self._rungs: dict[tuple[str, str], dict[str, Rung]] = {}
        self._targets: dict[tuple[str, str], str | None] = {}

    def add(self, record: Mapping[str, Any]) -> None:
        """Note one decision."""
        key = (str(record["subject"]["module"]), str(record["subject"]["revision"]))
        if key not in self._targets:
            self._targets[key] = manifest_of(self._store, record).get("target_lane")
        self._rungs.setdefault(key, {})[str(record["lane"])] = Rung.of(record)

    def ladders(self) -> list[Ladder]:
        """One ladder per module revision seen, in the order first seen."""
        return [climb(module, revision, rungs, self._lanes, self._targets[(module, revision)])
                for (module, revision), rungs in self._rungs.items()]
