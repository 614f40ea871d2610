"""Open a store from its URL: a path or `sqlite:///path` for SQLite, `postgresql://...` for PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from readypolicy.store.interface import Store, StoreError


def open_store(url: str) -> Store:
    """Return the store a URL names; the scheme picks the implementation."""
    if url.startswith(("postgresql://", "postgres://")):
        from readypolicy.store.postgres import PostgresStore

        return PostgresStore(url)
    if url.startswith("sqlite:///"):
        return _sqlite(Path(url.removeprefix("sqlite:///")))
    if "://" in url:
        raise StoreError(f"unsupported store URL scheme in {url.split('://')[0]!r}: use sqlite:/// or postgresql://")
    return _sqlite(Path(url))


def _sqlite(path: Path) -> Store:
    from readypolicy.store.sqlite import SqliteStore

    return SqliteStore(path)
