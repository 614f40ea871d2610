"""`readypolicy store ...`: create or upgrade a store's schema, copy one store into another, print role SQL."""

from __future__ import annotations

import click

from readypolicy.audit.prune import parse_age, prune_evidence
from readypolicy.canonical import utc_now
from readypolicy.cli.context import fail_closed, runtime
from readypolicy.store.copy import copy_store
from readypolicy.store.interface import StoreError
from readypolicy.store.open import open_store
from readypolicy.store.roles import DEFAULT_ROLES, roles_sql
from readypolicy.store.sql import SqlStore


@click.group("store")
def store_group() -> None:
    """Manage the evidence store (SQLite file or PostgreSQL database)."""


@store_group.command("migrate")
@click.pass_context
@fail_closed
def migrate_command(ctx: click.Context) -> None:
    """Create the schema of the configured store (--store) or apply pending migrations.

    The one command that always may: reads never migrate, and `ingest` into PostgreSQL only with
    `store_auto_migrate`. On PostgreSQL run it as the owner role (docs/team-store.md).
    """
    config = runtime(ctx).config
    target = open_store(config.store_url(), create=True, timeout_s=config.store_timeout_s)
    try:
        if not isinstance(target, SqlStore):
            raise StoreError(f"{target.url}: this store has no schema to migrate")
        click.echo(f"{target.url}: schema version {target.migrate()}")
    finally:
        target.close()


@store_group.command("copy")
@click.option("--from", "src_url", required=True, help="Source store URL (path, sqlite:///..., postgresql://...).")
@click.option("--to", "dst_url", required=True, help="Destination store URL; its schema is created if needed.")
@click.pass_context
@fail_closed
def copy_command(ctx: click.Context, src_url: str, dst_url: str) -> None:
    """Copy all evidence, decisions and audit facts; running it again adds only what is missing."""
    config = runtime(ctx).config
    actor = config.actor
    src = open_store(src_url, create=False, timeout_s=config.store_timeout_s)
    try:
        dst = open_store(dst_url, create=True, timeout_s=config.store_timeout_s)
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


@store_group.command("roles")
@click.option("--print-sql", is_flag=True, help="Print the SQL (the only mode: review it, then run it).")
@click.option("--owner", default=DEFAULT_ROLES[0], show_default=True, help="Role that owns the tables and migrates.")
@click.option("--writer", default=DEFAULT_ROLES[1], show_default=True, help="Role CI ingests and records with.")
@click.option("--reader", default=DEFAULT_ROLES[2], show_default=True, help="Role for read commands only.")
@fail_closed
def roles_command(print_sql: bool, owner: str, writer: str, reader: str) -> None:
    """Print the GRANTs (and REVOKEs on PUBLIC) for least-privilege PostgreSQL roles; run them with psql."""
    if not print_sql:
        raise click.UsageError("give --print-sql: readypolicy prints the SQL for you to review and run, it never runs it")
    click.echo(roles_sql(owner, writer, reader), nl=False)
