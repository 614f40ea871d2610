"""`readypolicy ingest`: normalize artifacts and store them as one batch."""

from __future__ import annotations

from pathlib import Path

import click

from readypolicy.cli.context import default_revision, fail_closed, runtime, warn
from readypolicy.evidence.collect import Skipped, contract_batch, paths_batch
from readypolicy.evidence.ingest import IngestOptions, ingest


def _tell(skipped: Skipped) -> None:
    """List a file a folder walk left out, as it is found (stderr: stdout lists what was stored)."""
    click.echo(f"skipped   {skipped.path}: {skipped.reason}", err=True)


@click.command("ingest")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--module", "-m", help="Module the evidence is for (default: from a manifest in the batch).")
@click.option("--revision", "-r", help="Module revision (default: $READYPOLICY_REVISION, $GITHUB_SHA, ..., 'local').")
@click.option("--kind", "-k", help="Force the evidence kind (the artifact must still be one).")
@click.option("--format", "fmt", help="Force the exact artifact format.")
@click.option("--scope", "-s", help="Slot within the kind, e.g. unit, smoke, integration.")
@click.option("--max-bytes", type=int, help="Size limit per artifact (default 50 MB).")
@click.option("--contract", type=click.Path(path_type=Path, dir_okay=False),
              help="Ingest a lane manifest plus exactly the evidence its `evidence:` list declares.")
@click.option("--strict", is_flag=True, help="A file in a walked folder that is not evidence is an error, not a skip.")
@click.option("--follow-symlinks", is_flag=True,
              help="Read named files whose symlinks lead outside the working tree (refused by default).")
@click.pass_context
@fail_closed
def ingest_command(
    ctx: click.Context, paths: tuple[Path, ...], module: str | None, revision: str | None, kind: str | None,
    fmt: str | None, scope: str | None, max_bytes: int | None, contract: Path | None, strict: bool,
    follow_symlinks: bool,
) -> None:
    """Normalize PATHS into evidence documents and store them (all or nothing).

    A directory is walked: each file is detected, its first folder below the directory is its scope
    (unit/junit.xml -> unit), and what is not evidence is listed on stderr. With --kind docs a
    directory is read as one docs listing instead.
    """
    rt = runtime(ctx)
    options = IngestOptions(
        module=module, revision=revision or default_revision(), kind=kind, fmt=fmt, scope=scope,
        max_bytes=max_bytes or rt.config.max_artifact_bytes, follow_symlinks=follow_symlinks,
    )
    if contract is not None and (paths or kind or fmt or scope or strict):
        raise click.UsageError("--contract reads paths, kinds and scopes from the manifest: drop PATHS and the other options")
    if contract is None and not paths:
        raise click.UsageError("give PATHS to ingest, or --contract module.lane.yaml")
    batch = contract_batch(contract, options) if contract is not None else paths_batch(paths, options, strict, _tell)
    results = ingest(rt.writable_store, batch.paths, options, rt.config.actor, batch.readers)
    for result in results:
        rec = result.record
        state = "stored" if result.created else "again"  # already stored; this ingest makes it current again
        click.echo(
            f"{state:<9} {rec.kind + '/' + rec.scope:<30} {rec.digest[:19]}  {rec.module}@{rec.revision}  "
            f"{rec.source_path} ({rec.document['format']})"
        )
        for message in result.warnings:
            warn(f"{rec.source_path}: {message}")
