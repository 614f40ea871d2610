"""Scheduled enforcement ahead: which checks start blocking on which day, and whom that will stop.

A check with `enforce_from` warns until its day and blocks from it. Before the day comes, the
people rolling it out need to know who is not ready for it: every decision in which the check
warns today fails it from that day, and a decision that is READY today turns NOT READY (it
"flips"). Both are read from decisions made now with the same evidence, so the answer is what
`eval` will say on the day if nothing changes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from readypolicy.canonical import parse_rfc3339
from readypolicy.decision.catalog import pack_config
from readypolicy.decision.enforcement import pack_enforcement, scheduled
from readypolicy.engines.interface import RegoEngine
from readypolicy.evaluate import Subject, evaluate
from readypolicy.policy.interface import PolicySet
from readypolicy.records import DecisionRecord
from readypolicy.store.interface import Store


@dataclass(frozen=True)
class Upcoming:
    """One check whose enforcement starts after now."""

    day: str
    """`YYYY-MM-DD` from which the check blocks."""
    check: str
    """Check id."""
    warned: tuple[tuple[str, str], ...] = ()
    """(module, lane) decisions in which the check warns now: they fail it from `day`."""
    flips: tuple[tuple[str, str], ...] = ()
    """Of those, the decisions READY now that will be NOT READY from `day`."""

    def to_json(self) -> dict[str, Any]:
        """Plain JSON for `--format json` outputs."""
        return {"day": self.day, "check": self.check,
                "warned": [{"module": m, "lane": lane} for m, lane in self.warned],
                "flips": [{"module": m, "lane": lane} for m, lane in self.flips]}


def upcoming_days(policy: PolicySet, now: datetime) -> list[tuple[str, str]]:
    """(day, check) of every enforcement date of the pack still ahead of `now`, soonest first."""
    config = pack_config(policy) or {}
    return scheduled(pack_enforcement(config, f"pack {policy.pack!r}"), now)


def tally(schedule: Sequence[tuple[str, str]], records: Iterable[DecisionRecord]) -> list[Upcoming]:
    """Per scheduled check, the decisions in which it warns and those that will flip."""
    warned: dict[str, list[tuple[str, str]]] = {check: [] for _, check in schedule}
    flips: dict[str, list[tuple[str, str]]] = {check: [] for _, check in schedule}
    for record in records:
        where = (str(record["subject"]["module"]), str(record["lane"]))
        for check in record["checks"]:
            if check["id"] in warned and check["status"] == "warn":
                warned[check["id"]].append(where)
                if record["allow"]:
                    flips[check["id"]].append(where)
    return [Upcoming(day, check, tuple(sorted(warned[check])), tuple(sorted(flips[check]))) for day, check in schedule]


def rollout(
    *, store: Store, engine: RegoEngine, policy: PolicySet, lanes: Sequence[str], cache_dir: Path, now: str,
    waivers: Sequence[dict[str, Any]] = (), batch_size: int = 500,
) -> list[Upcoming]:
    """Decide every stored module (latest revision) in `lanes` now and tally the enforcement dates ahead.

    Nothing is evaluated when no date lies ahead.
    """
    schedule = upcoming_days(policy, parse_rfc3339(now))
    if not schedule:
        return []
    subjects = [Subject(m, r) for m in store.modules() if (r := store.latest_revision(m)) is not None]
    records = (
        evaluation.record
        for lane in lanes
        for evaluation in evaluate(store=store, engine=engine, policy=policy, cache_dir=cache_dir, lane=lane,
                                   subjects=subjects, now=now, waivers=waivers, batch_size=batch_size)
    )
    return tally(schedule, records)


def rollout_lines(items: Sequence[Upcoming]) -> list[str]:
    """Plain-text lines: one per date ahead, then the decisions it will flip."""
    lines: list[str] = []
    for item in items:
        lines.append(f"  {item.day}  {item.check} becomes blocking: warns in {len(item.warned)} decision(s), "
                     f"flips {len(item.flips)} to NOT READY")
        lines.extend(f"      flips {module} in {lane}" for module, lane in item.flips)
    return lines


def with_rollout(text: str, items: Sequence[Upcoming], fmt: str) -> str:
    """`text` (a report in `fmt`: table, markdown or json) with the enforcement dates ahead added."""
    if fmt == "json":
        doc = json.loads(text)
        doc["rollout"] = [item.to_json() for item in items]
        return json.dumps(doc, indent=2, sort_keys=True)
    if not items:
        return text
    if fmt == "markdown":
        rows = [f"| {item.day} | `{item.check}` | {len(item.warned)} | "
                f"{', '.join(f'{m} ({lane})' for m, lane in item.flips) or '-'} |" for item in items]
        return "\n".join([text.rstrip(), "", "#### Enforcement ahead", "",
                          "| from | check | decisions warned | flips to NOT READY |", "| --- | --- | --- | --- |", *rows]) + "\n"
    return "\n".join([text.rstrip(), "", "enforcement ahead:", *rollout_lines(items)])
