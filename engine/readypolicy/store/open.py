"""Open a store from its URL: a path or `sqlite:///path` for SQLite, `postgresql://...` for PostgreSQL.

Nothing else is taken: a libpq keyword string (`host=db password=... dbname=ready`) given where a
URL belongs would otherwise be read as a file name, and a file named after the password would be
created in the project root.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs

from readypolicy.store.interface import Store, StoreError

POSTGRES_SCHEMES = ("postgresql://", "postgres://")
DEFAULT_TIMEOUT_S = 30.0
"""How long a store operation waits for a lock (and, on PostgreSQL, runs one statement): `store_timeout_s`."""
_LIBPQ_KEYWORD = re.compile(
    r"(?:^|[\s/\\])(?:host|hostaddr|port|dbname|user|password|passfile|service|sslmode|options|connect_timeout)\s*=",
    re.IGNORECASE,
)


def is_postgres(url: str) -> bool:
    """Whether the URL names a PostgreSQL store."""
    return url.startswith(POSTGRES_SCHEMES)


def open_store(url: str, *, create: bool = True, timeout_s: float = DEFAULT_TIMEOUT_S) -> Store:
    """Return the store a URL names; the scheme picks the implementation.

    `create=True` (the library default, for tests and tools that build stores) may create the
    store and apply pending migrations. Every command that only reads opens with `create=False`,
    as does a writer not allowed to migrate: the store must then exist at exactly this
    readypolicy's schema version, so a mistyped path or an unrelated database is an error rather
    than a new empty store that decides nothing. `timeout_s` bounds lock waits (and statements).
    """
    if is_postgres(url):
        from readypolicy.store.postgres import PostgresStore

        return PostgresStore(url, timeout_s, create=create)
    if url.startswith("sqlite:///"):
        return _sqlite(url.removeprefix("sqlite:///"), create, timeout_s)
    if "://" in url:
        raise StoreError(f"unsupported store URL scheme {url.split('://')[0]!r}: use sqlite:/// or postgresql://")
    if _LIBPQ_KEYWORD.search(url):
        raise StoreError(
            "the store setting looks like a libpq keyword string (key=value ...), not a file path or URL;"
            " write it as postgresql://USER:PASSWORD@HOST:PORT/DBNAME (it is not shown, it may hold a password)"
        )
    return _sqlite(url, create, timeout_s)


def _sqlite(location: str, create: bool, timeout_s: float) -> Store:
    """`path[?timeout=SECONDS]`: the timeout (default `timeout_s`) bounds a writer's wait for a lock held elsewhere."""
    from readypolicy.store.sqlite import SqliteStore

    path, _, query = location.partition("?")
    options = parse_qs(query)
    try:
        timeout = float(options.get("timeout", [str(timeout_s)])[0])
    except ValueError as exc:
        raise StoreError(f"sqlite store URL: timeout must be a number of seconds, not {options['timeout'][0]!r}") from exc
    return SqliteStore(Path(path), busy_timeout_s=timeout, create=create)
