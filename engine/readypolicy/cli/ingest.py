"""`readypolicy ingest`: normalize artifacts and store them as one batch."""

from __future__ import annotations

from pathlib import Path

import click

from readypolicy.cli.context import default_revision, fail_closed, runtime, warn
from readypolicy.evidence.ingest import IngestOptions, ingest


@click.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--module", "-m", help="Module the evidence is for (default: from a manifest in the batch).")
@click.option("--revision", "-r", help="Module revision (default: $READYPOLICY_REVISION, $GITHUB_SHA, ..., 'local').")
@click.option("--kind", "-k", help="Force the evidence kind (the artifact must still be one).")
@click.option("--format", "fmt", help="Force the exact artifact format.")
@click.option("--scope", "-s", help="Slot within the kind, e.g. unit, smoke, integration.")
@click.option("--max-bytes", type=int, help="Size limit per artifact (default 50 MB).")
@click.pass_context
@fail_closed
def ingest_command(
    ctx: click.Context, paths: tuple[Path, ...], module: str | None, revision: str | None, kind: str | None,
    fmt: str | None, scope: str | None, max_bytes: int | None,
) -> None:
    """Normalize PATHS into evidence documents and store them (all or nothing)."""
    rt = runtime(ctx)
    options = IngestOptions(
        module=module, revision=revision or default_revision(), kind=kind, fmt=fmt, scope=scope,
        max_bytes=max_bytes or rt.config.max_artifact_bytes,
    )
    results = ingest(rt.store, list(paths), options, rt.config.actor)
    for result in results:
        rec = result.record
        state = "stored" if result.created else "unchanged"
        click.echo(
            f"{state:<9} {rec.kind + '/' + rec.scope:<30} {rec.digest[:19]}  {rec.module}@{rec.revision}  "
            f"{rec.source_path} ({rec.document['format']})"
        )
        for message in result.warnings:
            warn(f"{rec.source_path}: {message}")
