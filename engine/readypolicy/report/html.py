"""A static HTML page of the fleet's readiness: a module-by-lane matrix, what blocks each module, trends.

One self-contained file (inline CSS and SVG, no scripts, no external assets) that can be attached
to a CI run or served from anywhere. Module names, messages and remediations come from evidence
and policies, so the page is rendered by Jinja2 with autoescape on for every value: this module
computes plain data (texts, counts, coordinates) and never writes markup, and the template
(templates/html_page.html.j2) holds all of it. A Content-Security-Policy forbids scripts outright
should anything slip through. Given the decision history (oldest first), the matrix shows the
latest decision per module and lane of the module's current revision (never another revision's,
see `_latest_at`), and the trend lines come from the whole history.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from readypolicy.canonical import parse_rfc3339, rfc3339, utc_now
from readypolicy.records import CheckResult, DecisionRecord
from readypolicy.report.interface import STATUS_ORDER, ReportFormat
from readypolicy.report.teams import Team, TeamRollup, rollup

if TYPE_CHECKING:
    from jinja2 import Template

LABELS = {"pass": "PASS", "waived": "WAIVED", "warn": "WARN", "missing": "MISSING", "fail": "FAIL"}
BLOCKING = ("fail", "missing")
MAX_DAYS = 60
"""Trend window: the most recent days with decisions (older ones would squash the lines)."""
EXPIRING_WITHIN = timedelta(days=14)
"""Waivers that end this soon are listed, so their owners fix the check before it blocks again."""
OPEN_DETAILS_UP_TO = 30
"""Blocked modules shown expanded when there are at most this many; more stay collapsed."""
TEMPLATE = "html_page.html.j2"
"""The page template, in the package's `templates/` directory (shipped as package data)."""
BAR_STATUSES = ("pass", "waived", "missing", "fail")
"""Statuses shown in a lane tile's bar and legend, in this order."""


@dataclass(frozen=True)
class Point:
    """One day of a trend line."""

    day: str
    """`YYYY-MM-DD` (UTC)."""
    value: float
    """The plotted value."""
    label: str
    """The value as a person reads it, for the tooltip."""


@dataclass(frozen=True)
class Spark:
    """An inline SVG line, as the template draws it: one dot per day with the day's figure as its tooltip."""

    width: int
    height: int
    pad: int
    colour: str
    line: str
    """The polyline's points, `x,y x,y ...`."""
    dots: tuple[tuple[str, str, str], ...]
    """(x, y, tooltip) per point."""
    summary: str
    """Every point's label, for screen readers."""


@dataclass(frozen=True)
class Cell:
    """A status badge: status, its text and an optional tooltip."""

    status: str
    text: str
    tip: str = ""


def cell_status(record: DecisionRecord) -> str:
    """The status a decision shows in the matrix: the most blocking status among its checks."""
    statuses = {check["status"] for check in record["checks"]}
    status = next((s for s in ("fail", "missing", "waived") if s in statuses), "pass")
    return "fail" if not record["allow"] and status in ("pass", "waived") else status


def blocking_count(record: DecisionRecord) -> int:
    """How many checks stop the module from entering the lane."""
    return sum(1 for check in record["checks"] if check["status"] in BLOCKING)


@cache
def _template() -> Template:
    """The page template, loaded once; Jinja2 is imported here so that only the HTML format pays its import time.

    autoescape=True escapes every value in every context of the page (text and attributes) unless
    the template marks it safe, which it never does; StrictUndefined turns a misspelt variable into
    an error instead of an empty spot on the page.
    """
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("readypolicy.report", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    return env.get_template(TEMPLATE)


class HtmlFormat(ReportFormat):
    """The readiness page."""

    name = "html"

    def __init__(self, lanes: Sequence[str] = (), title: str = "Readiness report", since: str | None = None,
                 teams: Mapping[str, Team] | None = None, current: Mapping[str, str] | None = None) -> None:
        self.lanes = tuple(lanes)
        self.title = title
        self.since = since
        self.teams = dict(teams or {})
        """Module → owner and target lane (from manifests), for the per-team rollup."""
        self.current = dict(current or {})
        """Module → its current revision (the one ingested last); a module not named here shows the
        revision of its last decision."""

    def render(self, records: Sequence[DecisionRecord]) -> str:
        lanes = self._lane_order(records)
        shown = {str(r["subject"]["module"]): str(r["subject"]["revision"]) for r in records}
        shown = {module: self.current.get(module, revision) for module, revision in shown.items()}
        latest = _latest_at(records, shown)
        modules = sorted(shown)
        days = sorted({_day(r) for r in records})[-MAX_DAYS:]
        blocked = [(i, m) for i, m in enumerate(modules)
                   if any(cell_status(latest[(m, lane)]) in BLOCKING for lane in lanes if (m, lane) in latest)]
        undecided = [m for m in modules if not any((m, lane) in latest for lane in lanes)]
        return _template().render(
            labels=LABELS,
            title=self.title,
            subtitle=self._subtitle(records, modules, days),
            modules=modules,
            tiles=_tiles(lanes, modules, latest),
            trend=_fleet_trend(records, days),
            lanes=lanes,
            matrix=_matrix(lanes, shown, latest, _module_trends(records, days), {m for _i, m in blocked}),
            details=_details(lanes, blocked, latest),
            ready=len(modules) - len(blocked) - len(undecided),
            waivers=_expiring_waivers(latest, utc_now()),
            teams=_teams(rollup(latest, _latest_per_day(records), days, lanes, self.teams)),
        )

    def _lane_order(self, records: Sequence[DecisionRecord]) -> list[str]:
        """The caller's lanes (the pack's, in promotion order), then any other lane decided, in order of first appearance."""
        seen = list(dict.fromkeys(r["lane"] for r in records))
        return [*self.lanes, *(lane for lane in seen if lane not in self.lanes)]

    def _subtitle(self, records: Sequence[DecisionRecord], modules: list[str], days: list[str]) -> str:
        span = f"decisions from {days[0]} to {days[-1]}" if days else "no decisions"
        since = f" (since {self.since})" if self.since else ""
        return (f"{len(modules)} module(s) · {len(records)} decision(s) · {span}{since} · "
                f"generated {rfc3339(utc_now())}")


def _latest_at(records: Iterable[DecisionRecord], shown: Mapping[str, str]) -> dict[tuple[str, str], DecisionRecord]:
    """(module, lane) → the last decision of the module's `shown` revision in that lane.

    A lane's last decision of another revision is left out: an older revision evaluated after the
    current one (a rollback check) or a lane the current revision was not decided for would
    otherwise show that revision's READY in the module's row, beside its current revision's cells.
    """
    latest: dict[tuple[str, str], DecisionRecord] = {}
    for record in records:
        module = str(record["subject"]["module"])
        if record["subject"]["revision"] == shown[module]:
            latest[(module, record["lane"])] = record
    return latest


def _day(record: DecisionRecord) -> str:
    return str(record["evaluated_at"])[:10]


def _tiles(lanes: list[str], modules: list[str], latest: dict[tuple[str, str], DecisionRecord]) -> list[dict[str, Any]]:
    """Per lane: how many modules are ready, the bar's segments (status, width %) and the legend."""
    tiles = []
    for lane in lanes:
        counts = dict.fromkeys((*BAR_STATUSES, "none"), 0)
        for module in modules:
            record = latest.get((module, lane))
            counts[cell_status(record) if record else "none"] += 1
        legend = " · ".join(f"{counts[s]} {LABELS[s].lower()}" for s in BAR_STATUSES if counts[s])
        if counts["none"]:
            legend += f" · {counts['none']} not evaluated"
        tiles.append({"lane": lane, "ready": counts["pass"] + counts["waived"], "legend": legend,
                      "bar": [(s, f"{100 * counts[s] / len(modules):.2f}") for s in BAR_STATUSES if counts[s]]})
    return tiles


def _latest_per_day(records: Iterable[DecisionRecord]) -> dict[str, dict[tuple[str, str], DecisionRecord]]:
    """Day → (module, lane) → the last decision of that day."""
    out: dict[str, dict[tuple[str, str], DecisionRecord]] = defaultdict(dict)
    for record in records:
        out[_day(record)][(record["subject"]["module"], record["lane"])] = record
    return out


def _fleet_trend(records: Sequence[DecisionRecord], days: list[str]) -> dict[str, Any] | None:
    """The share of decisions that allowed promotion, per day (None without decisions)."""
    if not days:
        return None
    per_day = _latest_per_day(records)
    points = []
    for day in days:
        decided = per_day[day].values()
        ready = sum(1 for r in decided if r["allow"])
        points.append(Point(day, 100 * ready / len(decided), f"{day}: {ready}/{len(decided)} decisions ready"))
    chart = _sparkline(points, width=min(900, max(240, 24 * len(points))), height=70, ceiling=100, colour="#1a7f37")
    return {"first": days[0], "last": days[-1], "spark": chart, "latest": points[-1].label}


def _module_trends(records: Sequence[DecisionRecord], days: list[str]) -> dict[str, list[Point]]:
    """Module → blocking checks per day, counted on the strictest lane decided that day."""
    per_day = _latest_per_day(records)
    trends: dict[str, list[Point]] = defaultdict(list)
    for day in days:
        worst: dict[str, int] = {}
        for (module, _lane), record in per_day[day].items():
            worst[module] = max(worst.get(module, 0), blocking_count(record))
        for module, count in worst.items():
            trends[module].append(Point(day, count, f"{day}: {count} blocking check(s)"))
    return trends


def _sparkline(points: list[Point], width: int, height: int, ceiling: float | None, colour: str) -> Spark:
    """The coordinates of a trend line scaled to `ceiling` (or to its highest point)."""
    top = ceiling if ceiling is not None else max((p.value for p in points), default=0)
    top = top or 1
    pad = 4
    step = (width - 2 * pad) / max(1, len(points) - 1)
    coords = [(pad + i * step, height - pad - (height - 2 * pad) * p.value / top) for i, p in enumerate(points)]
    return Spark(width, height, pad, colour, " ".join(f"{x:.1f},{y:.1f}" for x, y in coords),
                 tuple((f"{x:.1f}", f"{y:.1f}", p.label) for (x, y), p in zip(coords, points, strict=True)),
                 "; ".join(p.label for p in points))


def _small_spark(points: list[Point]) -> Spark:
    return _sparkline(points, width=max(60, min(180, 12 * len(points))), height=24, ceiling=None, colour="#cf222e")


def _matrix(lanes: list[str], shown: Mapping[str, str], latest: dict[tuple[str, str], DecisionRecord],
            trends: dict[str, list[Point]], blocked: set[str]) -> list[dict[str, Any]]:
    """One row per module: its shown revision, a badge per lane (None: not evaluated at it) and its trend.

    The figure beside the trend is the row's own blocking count (its strictest lane), not the trend's
    last day, which may be another revision's decision.
    """
    rows = []
    for index, module in enumerate(sorted(shown)):
        decided = [latest[(module, lane)] for lane in lanes if (module, lane) in latest]
        cells: list[Cell | None] = []
        for lane in lanes:
            record = latest.get((module, lane))
            if record is None:
                cells.append(None)
                continue
            status = cell_status(record)
            count = blocking_count(record)
            tip = f"{record['subject']['revision']} evaluated {record['evaluated_at']}, decision {record['decision_id'][:19]}"
            cells.append(Cell(status, f"{LABELS[status]} · {count}" if count else LABELS[status], tip))
        points = trends.get(module, [])
        rows.append({"index": index, "module": module, "linked": module in blocked, "cells": cells,
                     "revision": shown[module],
                     "spark": _small_spark(points),
                     "now": str(max(blocking_count(record) for record in decided)) if decided else None})
    return rows


def _details(lanes: list[str], blocked: list[tuple[int, str]],
             latest: dict[tuple[str, str], DecisionRecord]) -> list[dict[str, Any]]:
    """Per blocked module, each non-passing check once per status, with the lanes where it has that status.

    A check waived in one lane may still fail in another (a waiver names its lanes): each status
    gets its own row, so a failure is never shown under a lane's waiver.
    """
    blocks = []
    for index, module in blocked:
        checks: dict[tuple[str, str], CheckResult] = {}
        held: dict[tuple[str, str], list[str]] = defaultdict(list)
        for lane in lanes:
            record = latest.get((module, lane))
            for check in record["checks"] if record else []:
                if check["status"] != "pass":
                    checks.setdefault((check["id"], check["status"]), check)
                    held[(check["id"], check["status"])].append(lane)
        ordered = sorted(checks.values(), key=lambda c: (STATUS_ORDER.get(c["status"], 9), c["id"]))
        rows = [{"status": c["status"], "id": c["id"], "lanes": ", ".join(held[(c["id"], c["status"])]),
                 "message": c["message"], "remediation": c.get("remediation")} for c in ordered]
        blocks.append({"index": index, "module": module, "rows": rows, "open": len(blocked) <= OPEN_DETAILS_UP_TO,
                       "failing": len({c["id"] for c in ordered if c["status"] in BLOCKING})})
    return blocks


def _expiring_waivers(latest: dict[tuple[str, str], DecisionRecord], now: datetime) -> list[dict[str, Any]]:
    """The waivers the latest decisions lean on that end within `EXPIRING_WITHIN` of `now`, soonest first."""
    found: dict[tuple[str, str, str], tuple[datetime, dict[str, Any]]] = {}
    for (module, lane), record in latest.items():
        for check in record["checks"]:
            waiver = check.get("waiver") if check["status"] == "waived" else None
            if not isinstance(waiver, dict):
                continue
            try:
                ends = parse_rfc3339(str(waiver.get("expires")))
            except ValueError:
                continue
            if now < ends <= now + EXPIRING_WITHIN:
                found[(module, lane, check["id"])] = (ends, waiver)
    return [{"module": module, "lane": lane, "check": check_id, "id": str(waiver.get("id") or "-"),
             "approver": str(waiver.get("approver")), "expires": rfc3339(ends), "days": (ends - now).days,
             "reason": str(waiver.get("reason"))}
            for (module, lane, check_id), (ends, waiver) in sorted(found.items(), key=lambda item: (item[1][0], item[0]))]


def _teams(rollups: Sequence[TeamRollup]) -> list[dict[str, Any]]:
    """Per owning team: modules at their target lane, the checks in the way, and the trend of both."""
    return [{"team": team, "spark": _small_spark([
        Point(d.day, d.blockers, f"{d.day}: {d.at_target} at target, {d.blockers} check(s) in the way") for d in team.trend])}
        for team in rollups]
