"""`readypolicy drift` and `readypolicy policy diff`: is what runs what was approved, and what would a change do.

`drift` exits 0 when everything compared matches the lock, 1 on any drift, 2 when it cannot tell.
`policy diff` exits 0 when no decision or check status would change, 1 when some would, 2 on error.
"""

from __future__ import annotations

from pathlib import Path

import click

from readypolicy.canonical import rfc3339, utc_now
from readypolicy.cli.context import EXIT_NOT_READY, EXIT_READY, fail_closed, runtime, write_output
from readypolicy.drift.compare import compare_files
from readypolicy.drift.detect import DriftRequest, detect
from readypolicy.drift.render import FORMATS, render_drift, render_whatif
from readypolicy.policy.pack import load_pack, pack_dir
from readypolicy.policy.rollout import rollout, with_rollout
from readypolicy.policy.whatif import resolve_policy, what_if
from readypolicy.since import since_time
from readypolicy.waivers.gate import configured_waivers

WORKTREE = "worktree"


@click.command("drift")
@click.option("--lane", "-l", "lanes", multiple=True, help="Lane to check (repeatable; default every locked lane).")
@click.option("--pack", help="Policy pack (default from config).")
@click.option("--server", help="URL of a running OPA server to compare with the lock (http://host:port).")
@click.option("--decisions", is_flag=True, help="Flag stored decisions not made by the approved policy of their lane.")
@click.option("--since", help="With --decisions: only decisions from this date/time on (default: each lane's approval).")
@click.option("--golden", is_flag=True, help="Re-run the pack's golden cases against the approved bundles.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table")
@click.option("--output", "-o", type=click.Path(path_type=Path), help="Write the report to a file.")
@click.pass_context
@fail_closed
def drift_command(
    ctx: click.Context, lanes: tuple[str, ...], pack: str | None, server: str | None, decisions: bool,
    since: str | None, golden: bool, fmt: str, output: Path | None,
) -> None:
    """Compare sources, bundle files, a running server, decisions and golden outcomes with bundles/lock.json."""
    if since and not decisions:
        raise click.UsageError("--since only applies to --decisions")
    window = since_time(since) if since is not None else None
    rt = runtime(ctx)
    request = DriftRequest(
        pack=pack or rt.config.pack, lanes=lanes, server=server, decisions=decisions, since=window, golden=golden,
    )
    report = detect(rt, request)
    write_output(render_drift(report, fmt), output)
    ctx.exit(EXIT_READY if report.clean else EXIT_NOT_READY)


@click.command("diff")
@click.option("--base", required=True, help="Git revision of the pack, or a built bundle file: the policy in force.")
@click.option("--head", default=WORKTREE, show_default=True,
              help="Git revision or bundle file of the proposed policy ('worktree': the pack on disk now).")
@click.option("--lane", "-l", "lanes", multiple=True, help="Lane to re-decide (repeatable; default every lane both share).")
@click.option("--pack", help="Policy pack (default from config).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table")
@click.option("--output", "-o", type=click.Path(path_type=Path), help="Write the report to a file.")
@click.pass_context
@fail_closed
def diff_command(
    ctx: click.Context, base: str, head: str, lanes: tuple[str, ...], pack: str | None, fmt: str, output: Path | None,
) -> None:
    """What would change if HEAD replaced BASE: decisions that flip and check statuses that change, per stored module."""
    rt = runtime(ctx)
    directory = pack_dir(rt.config.path(rt.config.policies), pack or rt.config.pack, rt.config.root)
    base_policy = resolve_policy(base, directory)
    head_policy = load_pack(directory) if head == WORKTREE else resolve_policy(head, directory)
    shared = [lane for lane in rt.lanes if lane in base_policy.lanes and lane in head_policy.lanes]
    unknown = [lane for lane in lanes if lane not in shared]
    if unknown:
        raise click.BadParameter(f"lane(s) {', '.join(unknown)} not in both policies (shared: {', '.join(shared)})")
    now = rfc3339(utc_now())
    waivers = configured_waivers(rt.config, rt.store, now, None).entries
    result = what_if(
        store=rt.store, engine=rt.engine(), base=(base, base_policy), head=(head, head_policy), lanes=list(lanes) or shared,
        cache_dir=rt.cache_dir, now=now, waivers=waivers,
        batch_size=rt.config.batch_size,
    )
    changes = compare_files(rt.opa(), base_policy.files, head_policy.files, source="diff", lanes=result.lanes,
                            where=f"{base} -> {head}")
    ahead = rollout(store=rt.store, engine=rt.engine(), policy=head_policy, lanes=result.lanes, cache_dir=rt.cache_dir,
                    now=now, waivers=waivers, batch_size=rt.config.batch_size)
    write_output(with_rollout(render_whatif(result, changes, fmt), ahead, fmt), output)
    ctx.exit(EXIT_NOT_READY if result.flips or result.check_changes else EXIT_READY)
