"""A static HTML page of the fleet's readiness: a module-by-lane matrix, what blocks each module, trends.

One self-contained file (inline CSS and SVG, no scripts, no external assets) that can be attached
to a CI run or served from anywhere. Module names, messages and remediations come from evidence
and policies, so every piece of text is escaped, and a Content-Security-Policy forbids scripts
outright should anything slip through. Given the decision history (oldest first), the matrix shows
the latest decision per module and lane, and the trend lines come from the whole history.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from importlib import resources
from string import Template
from typing import Any

from readypolicy.canonical import parse_rfc3339, rfc3339, utc_now
from readypolicy.report.interface import STATUS_ORDER, ReportFormat
from readypolicy.report.teams import Team, TeamRollup, rollup

LABELS = {"pass": "PASS", "waived": "WAIVED", "warn": "WARN", "missing": "MISSING", "fail": "FAIL"}
BLOCKING = ("fail", "missing")
MAX_DAYS = 60
"""Trend window: the most recent days with decisions (older ones would squash the lines)."""
EXPIRING_WITHIN = timedelta(days=14)
"""Waivers that end this soon are listed, so their owners fix the check before it blocks again."""
OPEN_DETAILS_UP_TO = 30
"""Blocked modules shown expanded when there are at most this many; more stay collapsed."""


@dataclass(frozen=True)
class Point:
    """One day of a trend line."""

    day: str
    """`YYYY-MM-DD` (UTC)."""
    value: float
    """The plotted value."""
    label: str
    """The value as a person reads it, for the tooltip."""


def cell_status(record: dict[str, Any]) -> str:
    """The status a decision shows in the matrix: the most blocking status among its checks."""
    statuses = {check["status"] for check in record["checks"]}
    status = next((s for s in ("fail", "missing", "waived") if s in statuses), "pass")
    return "fail" if not record["allow"] and status in ("pass", "waived") else status


def blocking_count(record: dict[str, Any]) -> int:
    """How many checks stop the module from entering the lane."""
    return sum(1 for check in record["checks"] if check["status"] in BLOCKING)


class HtmlFormat(ReportFormat):
    """The readiness page."""

    name = "html"

    def __init__(self, lanes: Sequence[str] = (), title: str = "Readiness report", since: str | None = None,
                 teams: Mapping[str, Team] | None = None) -> None:
        self.lanes = tuple(lanes)
        self.title = title
        self.since = since
        self.teams = dict(teams or {})
        """Module → owner and target lane (from manifests), for the per-team rollup."""

    def render(self, records: Sequence[dict[str, Any]]) -> str:
        lanes = self._lane_order(records)
        latest: dict[tuple[str, str], dict[str, Any]] = {}
        for record in records:
            latest[(record["subject"]["module"], record["lane"])] = record
        modules = sorted({module for module, _lane in latest})
        days = sorted({_day(r) for r in records})[-MAX_DAYS:]
        page = Template(resources.files("readypolicy.report").joinpath("html_page.html").read_text(encoding="utf-8"))
        return page.substitute(
            title=escape(self.title),
            subtitle=escape(self._subtitle(records, modules, days)),
            tiles=_tiles(lanes, modules, latest),
            trend=_fleet_trend(records, days),
            matrix=_matrix(lanes, modules, latest, _module_trends(records, days)),
            details=_details(lanes, modules, latest),
            waivers=_expiring_waivers(latest, utc_now()),
            teams=_teams(rollup(latest, _latest_per_day(records), days, lanes, self.teams)),
        )

    def _lane_order(self, records: Sequence[dict[str, Any]]) -> list[str]:
        """The caller's lanes (the pack's, in promotion order), then any other lane decided, in order of first appearance."""
        seen = list(dict.fromkeys(r["lane"] for r in records))
        return [*self.lanes, *(lane for lane in seen if lane not in self.lanes)]

    def _subtitle(self, records: Sequence[dict[str, Any]], modules: list[str], days: list[str]) -> str:
        span = f"decisions from {days[0]} to {days[-1]}" if days else "no decisions"
        since = f" (since {self.since})" if self.since else ""
        return (f"{len(modules)} module(s) · {len(records)} decision(s) · {span}{since} · "
                f"generated {rfc3339(utc_now())}")


def _day(record: dict[str, Any]) -> str:
    return str(record["evaluated_at"])[:10]


def _status(status: str, text: str | None = None, title: str = "") -> str:
    tip = f' title="{escape(title)}"' if title else ""
    return f'<span class="status s-{status}"{tip}>{escape(text or LABELS.get(status, status))}</span>'


def _tiles(lanes: list[str], modules: list[str], latest: dict[tuple[str, str], dict[str, Any]]) -> str:
    if not modules:
        return '<p class="empty">No decisions recorded yet: run <code>readypolicy eval --all</code>.</p>'
    tiles = []
    for lane in lanes:
        counts = dict.fromkeys(("pass", "waived", "missing", "fail", "none"), 0)
        for module in modules:
            record = latest.get((module, lane))
            counts[cell_status(record) if record else "none"] += 1
        ready = counts["pass"] + counts["waived"]
        bar = "".join(
            f'<span class="bg-{s}" style="width:{100 * counts[s] / len(modules):.2f}%"></span>'
            for s in ("pass", "waived", "missing", "fail") if counts[s]
        )
        legend = " · ".join(f"{counts[s]} {LABELS[s].lower()}" for s in ("pass", "waived", "missing", "fail") if counts[s])
        if counts["none"]:
            legend += f" · {counts['none']} not evaluated"
        tiles.append(
            f'<div class="tile"><div class="lane">{escape(lane)}</div>'
            f'<div class="big">{ready}<span class="muted"> / {len(modules)} ready</span></div>'
            f'<div class="bar">{bar}</div><div class="legend">{escape(legend)}</div></div>'
        )
    return '<div class="tiles">' + "".join(tiles) + "</div>"


def _latest_per_day(records: Iterable[dict[str, Any]]) -> dict[str, dict[tuple[str, str], dict[str, Any]]]:
    """Day → (module, lane) → the last decision of that day."""
    out: dict[str, dict[tuple[str, str], dict[str, Any]]] = defaultdict(dict)
    for record in records:
        out[_day(record)][(record["subject"]["module"], record["lane"])] = record
    return out


def _fleet_trend(records: Sequence[dict[str, Any]], days: list[str]) -> str:
    if not days:
        return '<p class="empty">No decisions in this period.</p>'
    per_day = _latest_per_day(records)
    points = []
    for day in days:
        decided = per_day[day].values()
        ready = sum(1 for r in decided if r["allow"])
        points.append(Point(day, 100 * ready / len(decided), f"{day}: {ready}/{len(decided)} decisions ready"))
    chart = _sparkline(points, width=min(900, max(240, 24 * len(points))), height=70, ceiling=100, colour="#1a7f37")
    last = points[-1]
    axis = f'<span class="muted">{escape(days[0])}</span> {chart} <span class="muted">{escape(days[-1])} · 0-100% ready</span>'
    return (f"<p>{axis}</p><p class=\"muted\">Share of module &times; lane decisions that allowed promotion, per day "
            f"(last decision of each module and lane that day). Latest: {escape(last.label)}.</p>")


def _module_trends(records: Sequence[dict[str, Any]], days: list[str]) -> dict[str, list[Point]]:
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


def _sparkline(points: list[Point], width: int, height: int, ceiling: float | None, colour: str) -> str:
    """An inline SVG line; one dot per day, with the day's figure as its tooltip."""
    top = ceiling if ceiling is not None else max((p.value for p in points), default=0)
    top = top or 1
    pad = 4
    step = (width - 2 * pad) / max(1, len(points) - 1)

    def xy(index: int, value: float) -> tuple[float, float]:
        return pad + index * step, height - pad - (height - 2 * pad) * value / top

    coords = [xy(i, p.value) for i, p in enumerate(points)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    dots = "".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"><title>{escape(p.label)}</title></circle>'
        for (x, y), p in zip(coords, points, strict=True)
    )
    summary = escape("; ".join(p.label for p in points))
    return (f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{summary}"><line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" '
            f'stroke="#d0d7de"/><polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"/>{dots}</svg>')


def _matrix(
    lanes: list[str], modules: list[str], latest: dict[tuple[str, str], dict[str, Any]], trends: dict[str, list[Point]],
) -> str:
    if not modules:
        return '<p class="empty">Nothing to show.</p>'
    head = "".join(f"<th>{escape(lane)}</th>" for lane in lanes)
    rows = []
    for index, module in enumerate(modules):
        decided = [latest[(module, lane)] for lane in lanes if (module, lane) in latest]
        revision = decided[-1]["subject"]["revision"] if decided else ""
        cells = []
        for lane in lanes:
            record = latest.get((module, lane))
            if record is None:
                cells.append(f"<td>{_status('none', 'not evaluated')}</td>")
                continue
            status = cell_status(record)
            count = blocking_count(record)
            text = f"{LABELS[status]} · {count}" if count else LABELS[status]
            tip = f"{record['subject']['revision']} evaluated {record['evaluated_at']}, decision {record['decision_id'][:19]}"
            cells.append(f"<td>{_status(status, text, tip)}</td>")
        points = trends.get(module, [])
        spark = _sparkline(points, width=max(60, min(180, 12 * len(points))), height=24, ceiling=None, colour="#cf222e")
        now = f' <span class="muted">{points[-1].value:g}</span>' if points else ""
        blocked = any(cell_status(r) in BLOCKING for r in decided)
        name = f'<a href="#m{index}">{escape(module)}</a>' if blocked else escape(module)
        rows.append(f'<tr><td class="module">{name}</td><td class="muted">{escape(revision)}</td>'
                    f"{''.join(cells)}<td>{spark}{now}</td></tr>")
    return (f"<table><thead><tr><th>Module</th><th>Revision</th>{head}<th>Blocking checks / day</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _details(lanes: list[str], modules: list[str], latest: dict[tuple[str, str], dict[str, Any]]) -> str:
    """Per blocked module, each non-passing check once per status, with the lanes where it has that status.

    A check waived in one lane may still fail in another (a waiver names its lanes): each status
    gets its own row, so a failure is never shown under a lane's waiver.
    """
    blocks = []
    blocked = [(i, m) for i, m in enumerate(modules)
               if any(cell_status(latest[(m, lane)]) in BLOCKING for lane in lanes if (m, lane) in latest)]
    for index, module in blocked:
        checks: dict[tuple[str, str], dict[str, Any]] = {}
        held: dict[tuple[str, str], list[str]] = defaultdict(list)
        for lane in lanes:
            record = latest.get((module, lane))
            for check in record["checks"] if record else []:
                if check["status"] != "pass":
                    checks.setdefault((check["id"], check["status"]), check)
                    held[(check["id"], check["status"])].append(lane)
        ordered = sorted(checks.values(), key=lambda c: (STATUS_ORDER.get(c["status"], 9), c["id"]))
        rows = "".join(
            f"<tr><td>{_status(c['status'])}</td><td class=\"id\">{escape(c['id'])}</td>"
            f"<td>{escape(', '.join(held[(c['id'], c['status'])]))}</td><td>{escape(c['message'])}"
            + (f"<div class=\"fix\">Fix: {escape(c['remediation'])}</div>" if c.get("remediation") else "")
            + "</td></tr>"
            for c in ordered
        )
        failing = len({c["id"] for c in ordered if c["status"] in BLOCKING})
        opened = " open" if len(blocked) <= OPEN_DETAILS_UP_TO else ""
        blocks.append(
            f'<details id="m{index}"{opened}><summary><code>{escape(module)}</code> '
            f'<span class="muted">{failing} blocking check(s)</span></summary>'
            f"<table><thead><tr><th>Status</th><th>Check</th><th>Lanes</th><th>Message</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></details>"
        )
    ready = len(modules) - len(blocked)
    note = f'<p class="muted">{ready} module(s) have nothing blocking in any lane.</p>' if modules else ""
    return "".join(blocks) + note if blocks else (note or '<p class="empty">Nothing blocks.</p>')


def _expiring_waivers(latest: dict[tuple[str, str], dict[str, Any]], now: datetime) -> str:
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
    if not found:
        return '<p class="empty">No waiver in use expires within 14 days.</p>'
    rows = "".join(
        f'<tr><td class="module">{escape(module)}</td><td>{escape(lane)}</td><td class="id">{escape(check_id)}</td>'
        f"<td>{escape(str(waiver.get('id') or '-'))}</td><td>{escape(str(waiver.get('approver')))}</td>"
        f"<td>{escape(rfc3339(ends))} <span class=\"muted\">in {(ends - now).days} day(s)</span></td>"
        f"<td>{escape(str(waiver.get('reason')))}</td></tr>"
        for (module, lane, check_id), (ends, waiver) in sorted(found.items(), key=lambda item: (item[1][0], item[0]))
    )
    return ("<table><thead><tr><th>Module</th><th>Lane</th><th>Check</th><th>Waiver</th><th>Approved by</th>"
            f"<th>Expires</th><th>Reason</th></tr></thead><tbody>{rows}</tbody></table>")


def _teams(rollups: Sequence[TeamRollup]) -> str:
    """Per owning team: modules at their target lane, the checks in the way, and the trend of both."""
    if not rollups:
        return '<p class="empty">No decisions recorded yet.</p>'
    rows = []
    for team in rollups:
        points = [Point(d.day, d.blockers, f"{d.day}: {d.at_target} at target, {d.blockers} check(s) in the way")
                  for d in team.trend]
        spark = _sparkline(points, width=max(60, min(180, 12 * len(points))), height=24, ceiling=None, colour="#cf222e")
        modules = "".join(
            f"<div><code>{escape(lad.module)}</code> "
            f'<span class="muted">ready for {escape(lad.highest or "no lane")}, target {escape(lad.target)}'
            + (f": {escape(', '.join(check for _lane, check, _status in lad.blockers))}" if lad.blockers else "")
            + "</span></div>"
            for lad in team.ladders
        )
        rows.append(f'<tr><td class="module">{escape(team.owner)}</td><td>{team.at_target} / {len(team.ladders)}</td>'
                    f"<td>{team.blockers}</td><td>{modules}</td><td>{spark}</td></tr>")
    return ("<table><thead><tr><th>Team</th><th>At target lane</th><th>Checks in the way</th><th>Modules</th>"
            f"<th>Checks in the way / day</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")
