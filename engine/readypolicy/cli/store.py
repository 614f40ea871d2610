"""`readypolicy store ...`: create or upgrade a store's schema and copy between stores."""

from __future__ import annotations

import getpass

import click

from readypolicy.store.copy import copy_store
from readypolicy.store.interface import StoreError
from readypolicy.store.open import open_store
from readypolicy.store.sql import SqlStore


@click.group("store")
def store() -> None:
    """Manage evidence stores (SQLite file or PostgreSQL database)."""


@store.command("migrate")
@click.option("--store", "url", envvar="READYPOLICY_STORE", required=True,
              help="Store URL: a path, sqlite:///path or postgresql://... (env READYPOLICY_STORE).")
def migrate(url: str) -> None:
    """Create the schema or apply pending migrations, then print the schema version."""
    target = open_store(url)
    try:
        if not isinstance(target, SqlStore):
            raise StoreError(f"{target.url}: this store has no schema to migrate")
        version = target.migrate()
        click.echo(f"{target.url}: schema version {version}")
    finally:
        target.close()


@store.command("copy")
@click.option("--from", "src_url", required=True, help="Source store URL.")
@click.option("--to", "dst_url", required=True, help="Destination store URL (created if needed).")
@click.option("--actor", envvar="READYPOLICY_ACTOR", default=getpass.getuser, show_default="current user",
              help="Identity recorded in the destination's audit chain.")
def copy(src_url: str, dst_url: str, actor: str) -> None:
    """Copy all evidence, decisions and audit facts; safe to run again."""
    src = open_store(src_url)
    try:
        dst = open_store(dst_url)
        try:
            result = copy_store(src, dst, actor)
            click.echo(
                f"copied {src.url} -> {dst.url}: evidence {result.evidence_new} new of {result.evidence_total},"
                f" decisions {result.decisions_new} new of {result.decisions_total},"
                f" audit entries replayed {result.audit_replayed}"
            )
        finally:
            dst.close()
    finally:
        src.close()
