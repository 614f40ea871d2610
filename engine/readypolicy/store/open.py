"""Open a store from its URL: a path or `sqlite:///path` for SQLite, `postgresql://...` for PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs

from readypolicy.store.interface import Store, StoreError


def open_store(url: str) -> Store:
    """Return the store a URL names; the scheme picks the implementation."""
    if url.startswith(("postgresql://", "postgres://")):
        from readypolicy.store.postgres import PostgresStore

        return PostgresStore(url)
    if url.startswith("sqlite:///"):
        return _sqlite(url.removeprefix("sqlite:///"))
    if "://" in url:
        raise StoreError(f"unsupported store URL scheme in {url.split('://')[0]!r}: use sqlite:/// or postgresql://")
    return _sqlite(url)


def _sqlite(location: str) -> Store:
    """`path[?timeout=SECONDS]`: the timeout bounds how long a writer waits for a lock held elsewhere."""
    from readypolicy.store.sqlite import SqliteStore

    path, _, query = location.partition("?")
    options = parse_qs(query)
    try:
        timeout = float(options.get("timeout", ["30"])[0])
    except ValueError as exc:
        raise StoreError(f"sqlite store URL: timeout must be a number of seconds, not {options['timeout'][0]!r}") from exc
    return SqliteStore(Path(path), busy_timeout_s=timeout)
