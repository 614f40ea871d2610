"""`readypolicy eval`: decide lanes for modules, record the decisions, exit 0/1/2."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from readypolicy.canonical import rfc3339, utc_now
from readypolicy.cli.context import EXIT_NOT_READY, EXIT_READY, fail_closed, runtime, warn, write_output
from readypolicy.decision.record import to_row
from readypolicy.evaluate import Subject, evaluate, resolve_subject
from readypolicy.policy.lock import LOCK_NAME, locked_policy
from readypolicy.policy.waivers import load_waivers
from readypolicy.report.markdown import MarkdownFormat, append_step_summary
from readypolicy.report.registry import FORMATS, get_format
from readypolicy.runtime import Runtime


def _lanes(rt: Runtime, requested: Sequence[str]) -> list[str]:
    if not requested or "all" in requested:
        return list(rt.config.lanes)
    unknown = [lane for lane in requested if lane not in rt.config.lanes]
    if unknown:
        raise click.BadParameter(f"unknown lane(s) {', '.join(unknown)}; lanes: {', '.join(rt.config.lanes)}")
    return list(requested)


def _subjects(rt: Runtime, modules: Sequence[str], revision: str | None, every: bool) -> list[Subject]:
    if every:
        if modules or revision:
            raise click.UsageError("--all evaluates the latest revision of every module; drop --module/--revision")
        return [resolve_subject(rt.store, m, None) for m in rt.store.modules()]
    if not modules:
        raise click.UsageError("give --module M (repeatable) or --all")
    return [resolve_subject(rt.store, m, revision) for m in modules]


def run_evaluations(
    rt: Runtime, lanes: Sequence[str], subjects: Sequence[Subject], bundle: Path | None, pack: str | None,
    record: bool, progress: bool, locked: bool = False,
) -> list[dict[str, Any]]:
    """Evaluate every lane for every subject, storing each decision as it is made.

    With `locked`, each lane is decided by the bundle the lock approved for it; every lane's bundle
    is checked against the lock before anything is evaluated, so a bad lock records nothing.
    """
    now = rfc3339(utc_now())
    if locked:
        lock_path = rt.config.path(rt.config.bundles) / LOCK_NAME
        policies = {lane: locked_policy(lock_path, pack or rt.config.pack, lane) for lane in lanes}
    else:
        policies = dict.fromkeys(lanes, rt.policy(pack=pack, bundle=bundle))
    waivers = load_waivers(rt.config.path(rt.config.waivers), now)
    for message in waivers.warnings:
        warn(message)
    engine = rt.engine()
    records: list[dict[str, Any]] = []
    total = len(lanes) * len(subjects)
    with click.progressbar(length=total, label="evaluating", file=sys.stderr) if progress else _NoBar() as bar:
        for lane in lanes:
            for evaluation in evaluate(
                store=rt.store, engine=engine, policy=policies[lane], cache_dir=rt.cache_dir, lane=lane,
                subjects=subjects, now=now, waivers=waivers.entries, batch_size=rt.config.batch_size,
            ):
                if record:
                    rt.store.put_decision(to_row(evaluation.record), rt.config.actor)
                records.append(evaluation.record)
                bar.update(1)
    return records


class _NoBar:
    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, _n: int) -> None:
        return None


@click.command("eval")
@click.option("--lane", "-l", "lanes", multiple=True, help="Lane to decide (repeatable, or 'all'; default all).")
@click.option("--module", "-m", "modules", multiple=True, help="Module (repeatable).")
@click.option("--all", "every", is_flag=True, help="Every module in the store (fleet mode, batched).")
@click.option("--revision", "-r", help="Revision (default: the one ingested last).")
@click.option("--bundle", type=click.Path(path_type=Path, exists=True, dir_okay=False), help="Evaluate a built bundle.")
@click.option("--locked", is_flag=True, help="Decide each lane with the bundle bundles/lock.json approved for it.")
@click.option("--pack", help="Policy pack (default from config).")
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATS)), default="table")
@click.option("--output", "-o", type=click.Path(path_type=Path), help="Write the report to a file.")
@click.option("--no-record", is_flag=True, help="Do not store the decisions.")
@click.pass_context
@fail_closed
def eval_command(
    ctx: click.Context, lanes: tuple[str, ...], modules: tuple[str, ...], every: bool, revision: str | None,
    bundle: Path | None, locked: bool, pack: str | None, fmt: str, output: Path | None, no_record: bool,
) -> None:
    """Decide whether modules are ready for lanes. Exit 0 ready, 1 not ready, 2 error."""
    rt = runtime(ctx)
    chosen = _lanes(rt, lanes)
    subjects = _subjects(rt, modules, revision, every)
    progress = every and sys.stderr.isatty()
    if locked and bundle:
        raise click.UsageError("--locked uses the approved bundles; drop --bundle")
    records = run_evaluations(rt, chosen, subjects, bundle, pack, record=not no_record, progress=progress, locked=locked)
    text = get_format(fmt).render(records)
    write_output(text, output)
    if fmt == MarkdownFormat.name:
        append_step_summary(text)
    ctx.exit(EXIT_READY if all(r["allow"] for r in records) else EXIT_NOT_READY)
