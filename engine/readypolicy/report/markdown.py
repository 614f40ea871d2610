"""Markdown for pull requests and CI job summaries: a module-by-lane verdict table, then what blocks.

The table answers "where does each module stand" at a glance; the list below it answers "what do I
fix", blocking checks only, with their remediation. When `$GITHUB_STEP_SUMMARY` names a file, the
same text is appended there so the verdict shows on the workflow run page.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from readypolicy.records import DecisionRecord
from readypolicy.report.interface import ReportError, ReportFormat, ordered_checks, printable, status_counts

STEP_SUMMARY = "GITHUB_STEP_SUMMARY"
BLOCKING = ("fail", "missing")


MARKUP = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "|": "\\|"})
"""What GitHub would read as markup in a cell: HTML (entities show as the characters) and the pipe."""


def cell(text: str) -> str:
    """Text safe inside a Markdown table cell: newlines folded, pipes escaped, no HTML, no control character.

    GitHub renders raw HTML in a cell: a check message quoting `x</td></tr></table><details>` (a
    file name of a finding) closed the table and folded every later blocking check out of sight in
    the job summary, and a `<tr>` could add a row of its own.
    """
    return printable(" ".join(str(text).split())).translate(MARKUP)


def _verdict(record: DecisionRecord) -> str:
    counts = status_counts(record)
    detail = ", ".join(f"{counts[s]} {s}" for s in ("fail", "missing", "waived", "warn") if counts[s])
    head = "✅ ready" if record["allow"] else "❌ not ready"
    return f"{head} ({detail})" if detail else head


class MarkdownFormat(ReportFormat):
    """GitHub-flavoured Markdown."""

    name = "markdown"

    def render(self, records: Sequence[DecisionRecord]) -> str:
        lanes = list(dict.fromkeys(r["lane"] for r in records))
        subjects = list(dict.fromkeys((r["subject"]["module"], r["subject"]["revision"]) for r in records))
        by_key = {(r["subject"]["module"], r["subject"]["revision"], r["lane"]): r for r in records}
        ready = sum(1 for r in records if r["allow"])
        lines = [
            "## Readiness",
            "",
            f"{ready} of {len(records)} decision(s) ready.",
            "",
            "| module | revision | " + " | ".join(lanes) + " |",
            "| --- | --- | " + " | ".join("---" for _ in lanes) + " |",
        ]
        for module, revision in subjects:
            found = [by_key.get((module, revision, lane)) for lane in lanes]
            verdicts = [_verdict(record) if record else "-" for record in found]
            lines.append(f"| {cell(module)} | `{cell(revision)}` | " + " | ".join(verdicts) + " |")
        blocking = [(r, c) for r in records for c in ordered_checks(r) if c["status"] in BLOCKING]
        if blocking:
            lines += [
                "", "### Blocking checks", "",
                "| module | lane | check | status | severity | why | fix |",
                "| --- | --- | --- | --- | --- | --- | --- |",
            ]
            for record, check in blocking:
                lines.append(
                    f"| {cell(record['subject']['module'])} | {record['lane']} | `{cell(check['id'])}` | {check['status']} | "
                    f"{cell(check.get('severity', ''))} | {cell(check['message'])} | {cell(check.get('remediation', ''))} |"
                )
        excepted = [(r, c) for r in records for c in ordered_checks(r) if c["status"] in ("waived", "warn")]
        if excepted:
            lines += [
                "", "### Waived and advisory checks (not blocking)", "",
                "| module | lane | check | status | why |", "| --- | --- | --- | --- | --- |",
            ]
            lines.extend(
                f"| {cell(record['subject']['module'])} | {record['lane']} | `{cell(check['id'])}` | {check['status']} | "
                f"{cell(check['message'])} |"
                for record, check in excepted
            )
        policies = sorted({f"{r['pack']} {r['policy']['revision']} ({r['policy']['source']})" for r in records})
        engines = sorted({f"{r['engine']['name']} {r['engine']['version']}" for r in records})
        lines += ["", f"<sub>policy {', '.join(policies)} · engine {', '.join(engines)}</sub>"]
        return "\n".join(lines)


def append_step_summary(text: str) -> Path | None:
    """Append to the GitHub Actions job summary when the runner names one; returns the file written."""
    target = os.environ.get(STEP_SUMMARY)
    if not target:
        return None
    path = Path(target)
    try:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(text if text.endswith("\n") else text + "\n")
    except OSError as exc:
        raise ReportError(f"{path}: cannot append the job summary (${STEP_SUMMARY}): {exc.strerror}") from exc
    return path
