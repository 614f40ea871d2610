"""`readypolicy report --html FILE`: the readiness page of every module, from the stored decisions.

Nothing is evaluated here: the page shows what `eval` recorded, so it can be rebuilt at any time
(and by anyone with read access to the store) without OPA.
"""

from __future__ import annotations

from pathlib import Path

import click

from readypolicy.cli.context import fail_closed, runtime, write_output
from readypolicy.report.html import HtmlFormat
from readypolicy.report.teams import module_teams
from readypolicy.since import since_time


@click.command("report")
@click.option("--html", "html_path", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="Write the static HTML page here.")
@click.option("--since", help="Only decisions evaluated at or after this date/time (UTC).")
@click.option("--title", default="Readiness report", show_default=True, help="Page title.")
@click.pass_context
@fail_closed
def report_command(ctx: click.Context, html_path: Path, since: str | None, title: str) -> None:
    """Render each module's latest decision per lane at its current revision, what blocks it, and the trend."""
    since = since_time(since) if since is not None else None
    rt = runtime(ctx)
    rows = rt.store.list_decisions(since=since)
    records = [row.record for row in rows]
    modules = {row.module for row in rows}
    # Each module is shown at the revision `eval` decides by default: the one ingested last.
    current = {module: revision for module in modules if (revision := rt.store.latest_revision(module)) is not None}
    page = HtmlFormat(lanes=rt.lanes, title=title, since=since, teams=module_teams(rt.store, records),
                      current=current).render(records)
    write_output(page, html_path)
    click.echo(f"wrote {html_path}: {len(modules)} module(s), {len(rows)} decision(s)")
