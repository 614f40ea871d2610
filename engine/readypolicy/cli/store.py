"""`readypolicy store ...`: create or upgrade a store's schema, and copy one store into another."""

from __future__ import annotations

import click

from readypolicy.audit.prune import parse_age, prune_evidence
from readypolicy.canonical import utc_now
from readypolicy.cli.context import fail_closed, runtime
from readypolicy.store.copy import copy_store
from readypolicy.store.interface import StoreError
from readypolicy.store.open import open_store
from readypolicy.store.sql import SqlStore


@click.group("store")
def store_group() -> None:
    """Manage the evidence store (SQLite file or PostgreSQL database)."""


@store_group.command("migrate")
@click.pass_context
@fail_closed
def migrate_command(ctx: click.Context) -> None:
    """Create the schema of the configured store (--store) or apply pending migrations."""
    target = runtime(ctx).store
    if not isinstance(target, SqlStore):
        raise StoreError(f"{target.url}: this store has no schema to migrate")
    click.echo(f"{target.url}: schema version {target.migrate()}")


@store_group.command("copy")
@click.option("--from", "src_url", required=True, help="Source store URL (path, sqlite:///..., postgresql://...).")
@click.option("--to", "dst_url", required=True, help="Destination store URL; its schema is created if needed.")
@click.pass_context
@fail_closed
def copy_command(ctx: click.Context, src_url: str, dst_url: str) -> None:
    """Copy all evidence, decisions and audit facts; running it again adds only what is missing."""
    actor = runtime(ctx).config.actor
    src = open_store(src_url)
    try:
        dst = open_store(dst_url)
        try:
            result = copy_store(src, dst, actor)
        finally:
            dst.close()
    finally:
        src.close()
    click.echo(
        f"copied {src.url} -> {dst.url}:"
        f" evidence {result.evidence_new} new of {result.evidence_total},"
        f" decisions {result.decisions_new} new of {result.decisions_total},"
        f" audit entries replayed {result.audit_replayed}"
    )


@store_group.command("prune")
@click.option("--older-than", required=True, help="Age cut-off, e.g. 90d, 12h or 4w (by ingest time).")
@click.option("--dry-run", is_flag=True, help="Only count what would be removed.")
@click.pass_context
@fail_closed
def prune_command(ctx: click.Context, older_than: str, dry_run: bool) -> None:
    """Remove evidence no decision references and older than the cut-off; decisions are never removed."""
    rt = runtime(ctx)
    result = prune_evidence(rt.store, utc_now(), parse_age(older_than), rt.config.actor, dry_run)
    action = "would remove" if dry_run else "removed"
    count = len(result.digests) if dry_run else result.removed
    click.echo(
        f"{rt.store.url}: {action} {count} of {result.examined} evidence documents ingested before {result.cutoff};"
        f" kept {result.referenced} referenced by decisions and {result.recent} newer ones"
    )
