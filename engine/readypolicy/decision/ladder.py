"""Why not the next lane: per module, the highest lane it is ready for and what stands before its target.

Lanes are a ladder: a module climbs from the first lane as long as each decision allows it, and its
manifest names the lane it aims for (`lanes.target`). What stands between the two is every check
that blocks (fails or lacks evidence) in the lanes above the highest ready one, up to the target,
each listed once under the lowest lane where it blocks. This is read from decisions, never
recomputed, so it says exactly what `eval` said.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby
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
    goal = target if target is not None and target in lanes else lanes[-1]
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


SPILL_AFTER = 512
"""Module revisions a tally keeps in Python objects; past that it moves them to a temporary SQLite database."""


class LadderTally:
    """Collects each decision's rung as `eval` streams them, then gives every module's ladder.

    A module's ladder needs its rung in every lane, and `eval` decides lane after lane, so the rungs of
    all modules must be kept until the last lane is done. Up to SPILL_AFTER module revisions they stay
    in memory; beyond, they go to SQLite's private temporary database (deleted with the tally), so
    `eval --all` stays flat in memory whatever the fleet size, and prints the same lines either way.
    """

    def __init__(self, lanes: Sequence[str], store: Store, spill_after: int = SPILL_AFTER) -> None:
        self._lanes = tuple(lanes)
        self._store = store
        self._spill_after = spill_after
        self._rungs: dict[tuple[str, str], dict[str, Rung]] = {}
        self._targets: dict[tuple[str, str], str | None] = {}
        self._spill: _Spill | None = None

    def add(self, record: Mapping[str, Any]) -> None:
        """Note one decision."""
        key = (str(record["subject"]["module"]), str(record["subject"]["revision"]))
        lane, rung = str(record["lane"]), Rung.of(record)
        if self._spill is None and key not in self._targets and len(self._targets) >= self._spill_after:
            self._spill = _Spill(self._targets, self._rungs)
            self._targets, self._rungs = {}, {}
        if self._spill is not None:
            self._spill.add(key, lane, rung, lambda: self._target(record))
            return
        if key not in self._targets:
            self._targets[key] = self._target(record)
        self._rungs.setdefault(key, {})[lane] = rung

    def _target(self, record: Mapping[str, Any]) -> str | None:
        return manifest_of(self._store, record).get("target_lane")

    def ladders(self) -> Iterator[Ladder]:
        """One ladder per module revision seen, in the order first seen (streamed from the spill file if any)."""
        if self._spill is not None:
            entries: Iterable[tuple[tuple[str, str], str | None, dict[str, Rung]]] = self._spill.entries()
        else:
            entries = ((key, self._targets[key], rungs) for key, rungs in self._rungs.items())
        for (module, revision), target, rungs in entries:
            yield climb(module, revision, rungs, self._lanes, target)


class _Spill:
    """Rungs and targets of a large tally in SQLite's private temporary database.

    An empty file name gives a database that lives in a bounded page cache (2 MiB by default), goes to
    an anonymous temporary file beyond that, and is deleted when the connection closes.
    """

    def __init__(
        self, targets: Mapping[tuple[str, str], str | None], rungs: Mapping[tuple[str, str], Mapping[str, Rung]]
    ) -> None:
        self._db = sqlite3.connect("")
        self._db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
            "CREATE TABLE subjects (seq INTEGER PRIMARY KEY, module TEXT, revision TEXT, target TEXT,"
            " UNIQUE (module, revision));"
            "CREATE TABLE rungs (seq INTEGER, lane TEXT, allow INTEGER, blocking TEXT, PRIMARY KEY (seq, lane));"
        )
        for key, target in targets.items():
            seq = self._seq(key, lambda: target)  # noqa: B023 (called at once)
            for lane, rung in rungs.get(key, {}).items():
                self._put(seq, lane, rung)

    def add(self, key: tuple[str, str], lane: str, rung: Rung, target: Callable[[], str | None]) -> None:
        """Note one rung; `target` is asked only for a module revision not seen before."""
        self._put(self._seq(key, target), lane, rung)

    def _seq(self, key: tuple[str, str], target: Callable[[], str | None]) -> int:
        row = self._db.execute("SELECT seq FROM subjects WHERE module = ? AND revision = ?", key).fetchone()
        if row is not None:
            return int(row[0])
        cursor = self._db.execute("INSERT INTO subjects (module, revision, target) VALUES (?, ?, ?)", (*key, target()))
        return int(cursor.lastrowid or 0)

    def _put(self, seq: int, lane: str, rung: Rung) -> None:
        row = (seq, lane, int(rung.allow), json.dumps(rung.blocking))
        self._db.execute("INSERT OR REPLACE INTO rungs VALUES (?, ?, ?, ?)", row)

    def entries(self) -> Iterator[tuple[tuple[str, str], str | None, dict[str, Rung]]]:
        """(module, revision), target and rungs per module revision, in the order first seen."""
        rows = self._db.execute(
            "SELECT s.seq, module, revision, target, lane, allow, blocking FROM subjects s JOIN rungs r ON r.seq = s.seq"
            " ORDER BY s.seq"
        )
        for _, group in groupby(rows, key=lambda row: row[0]):
            items = list(group)
            module, revision, target = items[0][1:4]
            rungs = {lane: Rung(bool(allow), tuple((check, status) for check, status in json.loads(blocking)))
                     for *_, lane, allow, blocking in items}
            yield (module, revision), target, rungs
