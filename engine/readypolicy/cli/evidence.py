"""`readypolicy evidence list|show` and `readypolicy formats`: what is stored and what can be read."""

from __future__ import annotations

import json

import click
import yaml

from readypolicy.cli.context import fail_closed, runtime
from readypolicy.evidence.registry import all_normalizers
from readypolicy.store.interface import EvidenceRecord


@click.group("evidence")
def evidence_group() -> None:
    """Inspect stored evidence."""


def _select(ctx: click.Context, module: str, revision: str | None, kind: str | None) -> list[EvidenceRecord]:
    return runtime(ctx).store.list_evidence(module, revision=revision, kind=kind)


@evidence_group.command("list")
@click.option("--module", "-m", required=True)
@click.option("--revision", "-r")
@click.option("--kind", "-k")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_context
@fail_closed
def list_command(ctx: click.Context, module: str, revision: str | None, kind: str | None, fmt: str) -> None:
    """One line per stored evidence document."""
    records = _select(ctx, module, revision, kind)
    if fmt == "json":
        rows = [
            {"digest": r.digest, "module": r.module, "revision": r.revision, "kind": r.kind, "scope": r.scope,
             "format": r.document["format"], "producer": r.document["producer"], "raw_sha256": r.raw_sha256,
             "source_path": r.source_path, "collected_at": r.collected_at, "ingested_at": r.ingested_at}
            for r in records
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    for r in records:
        tool = r.producer_tool + (f" {r.producer_version}" if r.producer_version else "")
        click.echo(f"{r.digest[:19]}  {r.revision:<12} {r.kind:<12} {r.scope:<12} {tool:<22} {r.ingested_at}  {r.source_path}")


@evidence_group.command("show")
@click.option("--module", "-m", required=True)
@click.option("--revision", "-r")
@click.option("--kind", "-k")
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml")
@click.pass_context
@fail_closed
def show_command(ctx: click.Context, module: str, revision: str | None, kind: str | None, fmt: str) -> None:
    """The normalized documents themselves (JSON: exactly as stored)."""
    records = _select(ctx, module, revision, kind)
    documents = [r.document for r in records]
    if fmt == "json":
        click.echo(json.dumps(documents[0] if len(documents) == 1 else documents, indent=2, sort_keys=True))
        return
    for record in records:
        click.echo(f"# {record.digest}  {record.source_path}")
        click.echo(yaml.safe_dump(record.document, sort_keys=False).rstrip())
        click.echo("---")


@click.command("formats")
def formats_command() -> None:
    """List the artifact formats readypolicy can ingest."""
    for normalizer in all_normalizers():
        click.echo(f"{normalizer.kind:<14} {normalizer.format:<24} {normalizer.description}")
