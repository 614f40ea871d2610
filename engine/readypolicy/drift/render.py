"""Drift reports and what-if results as a terminal table, JSON, or Markdown for a pull request.

JSON carries everything (for CI and for diffing two runs); the table and Markdown lead with the
verdict and counts, then list each difference so a reviewer can act on it without re-running.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from readypolicy.drift.interface import Difference, DriftReport
from readypolicy.policy.whatif import WhatIf
from readypolicy.report.markdown import cell

FORMATS = ("table", "json", "markdown")
MAX_MARKDOWN_ROWS = 100


def _value(text: str | None) -> str:
    """A value for a table cell: `sha256:` digests shortened to 12 hex digits (JSON keeps them whole)."""
    if text is None:
        return "(none)"
    return text[:19] if text.startswith("sha256:") else text


def _verdict(allow: bool) -> str:
    return "allow" if allow else "deny"


def _difference_rows(differences: Sequence[Difference]) -> list[list[str]]:
    return [
        [d.source, ",".join(d.lanes), d.kind, d.subject, _value(d.expected), _value(d.actual), d.detail]
        for d in differences
    ]


def _table(rows: list[list[str]], header: list[str]) -> list[str]:
    widths = [min(60, max(len(r[i]) for r in [header, *rows])) for i in range(len(header) - 1)]
    return ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=False)) + "  " + r[-1] for r in [header, *rows]]


def _markdown_table(rows: list[list[str]], header: list[str]) -> list[str]:
    """A Markdown table of at most MAX_MARKDOWN_ROWS rows, so a fleet-wide change still fits a PR comment."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines.extend("| " + " | ".join(cell(v) for v in row) + " |" for row in rows[:MAX_MARKDOWN_ROWS])
    if len(rows) > MAX_MARKDOWN_ROWS:
        lines += ["", f"... and {len(rows) - MAX_MARKDOWN_ROWS} more (`--format json` lists them all)"]
    return lines


DIFF_HEADER = ["source", "lanes", "kind", "subject", "approved", "found", "detail"]


def render_drift(report: DriftReport, fmt: str) -> str:
    """A drift report in `fmt` (one of FORMATS)."""
    counts = Counter(d.source for d in report.differences)
    if fmt == "json":
        return json.dumps({
            "pack": report.pack, "clean": report.clean, "checked": list(report.checked),
            "counts": dict(sorted(counts.items())), "differences": [asdict(d) for d in report.differences],
        }, indent=2, sort_keys=True)
    summary = "no drift" if report.clean else (
        f"{len(report.differences)} difference(s): " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    )
    rows = _difference_rows(report.differences)
    if fmt == "markdown":
        lines = [f"### Policy drift: {report.pack}", "", ("✅ " if report.clean else "❌ ") + summary, ""]
        if rows:
            lines += [*_markdown_table(rows, DIFF_HEADER), ""]
        lines += ["<details><summary>Checked</summary>", "", *(f"- {cell(c)}" for c in report.checked), "", "</details>"]
        return "\n".join(lines)
    lines = [f"drift: pack {report.pack}: {summary}", *(f"  checked {c}" for c in report.checked)]
    if rows:
        lines += ["", *_table(rows, DIFF_HEADER)]
    return "\n".join(lines)


def _whatif_json(result: WhatIf, policy_changes: Sequence[Difference]) -> dict[str, Any]:
    def side(label: str, policy: Any) -> dict[str, str]:
        return {"label": label, "pack": policy.pack, "revision": policy.revision, "digest": policy.digest}

    return {
        "base": side(result.base_label, result.base), "head": side(result.head_label, result.head),
        "lanes": list(result.lanes), "subjects": result.subjects, "decisions": result.decisions,
        "flips": [asdict(f) for f in result.flips], "check_changes": [asdict(c) for c in result.check_changes],
        "per_check": [{"check": c, "before": b, "after": a, "count": n} for (c, b, a), n in sorted(result.per_check.items(),
                                                                                                  key=lambda i: str(i[0]))],
        "policy_changes": [asdict(d) for d in policy_changes],
    }


def _whatif_summary(result: WhatIf) -> str:
    directions = Counter(f"{_verdict(f.before)}->{_verdict(f.after)}" for f in result.flips)
    flips = f"{len(result.flips)} of {result.decisions} decision(s) flip"
    if directions:
        flips += " (" + ", ".join(f"{n} {d}" for d, n in sorted(directions.items())) + ")"
    modules = len({f.module for f in result.flips})
    return f"{flips} across {modules} module(s); {len(result.check_changes)} check status change(s)"


def render_whatif(result: WhatIf, policy_changes: Sequence[Difference], fmt: str) -> str:
    """A what-if result in `fmt`, with the rule-level policy changes that cause it."""
    if fmt == "json":
        return json.dumps(_whatif_json(result, policy_changes), indent=2, sort_keys=True)
    title = (f"{result.base_label} ({result.base.revision}) -> {result.head_label} ({result.head.revision}), "
             f"lanes {', '.join(result.lanes)}, {result.subjects} module(s)")
    flip_rows = [[f.module, f.revision, f.lane, _verdict(f.before), _verdict(f.after)] for f in result.flips]
    check_rows = [[c, _value(b), _value(a), str(n)] for (c, b, a), n in sorted(result.per_check.items(), key=lambda i: str(i[0]))]
    change_rows = [[d.kind, d.subject, _value(d.expected), _value(d.actual), d.detail] for d in policy_changes]
    flip_header = ["module", "revision", "lane", "before", "after"]
    check_header = ["check", "before", "after", "decisions"]
    change_header = ["change", "subject", "before", "after", "where"]
    if fmt == "markdown":
        lines = ["### Policy what-if", "", f"`{cell(title)}`", "", f"**{_whatif_summary(result)}**", ""]
        for heading, rows, header in (
            ("Decisions that flip", flip_rows, flip_header),
            ("Check status changes", check_rows, check_header),
            ("Policy changes", change_rows, change_header),
        ):
            if rows:
                lines += [f"#### {heading}", "", *_markdown_table(rows, header), ""]
        return "\n".join(lines).rstrip() + "\n"
    lines = [f"policy diff: {title}", _whatif_summary(result)]
    for heading, rows, header in (
        ("decisions that flip", flip_rows, flip_header),
        ("check status changes", check_rows, check_header),
        ("policy changes", change_rows, change_header),
    ):
        if rows:
            lines += ["", f"{heading}:", *("  " + line for line in _table(rows, header))]
    return "\n".join(lines)
