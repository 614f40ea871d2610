"""PostgreSQL-specific behaviour: URLs without secrets, one-line errors, the migration table, bounded waits."""

from __future__ import annotations

from urllib.parse import quote

import psycopg
import pytest

from readypolicy.store.interface import StoreError
from readypolicy.store.open import open_store
from readypolicy.store.postgres import MIGRATIONS, WRITE_LOCK, PostgresStore, redact_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://ci:s3cr%40t@db.example:5432/ready", "postgresql://ci:***@db.example:5432/ready"),
        ("postgresql://ci@db/ready?password=s3cret&sslmode=require",
         "postgresql://ci@db/ready?password=***&sslmode=require"),
        ("postgresql://db/ready", "postgresql://db/ready"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_connection_failure_is_one_line_without_password() -> None:
    with pytest.raises(StoreError) as raised:
        open_store("postgresql://ci:hunter2@127.0.0.1:1/ready?connect_timeout=2")
    message = str(raised.value)
    assert message.startswith("postgresql://ci:***@127.0.0.1:1/ready")
    assert "cannot connect" in message
    assert "hunter2" not in message
    assert "\n" not in message


def test_unknown_database_is_a_store_error(pg_url: str) -> None:
    missing = pg_url.rsplit("/", 1)[0] + "/no_such_database"
    with pytest.raises(StoreError, match='database "no_such_database" does not exist'):
        open_store(missing)


def test_migrations_are_recorded_once(pg_url: str) -> None:
    for _ in range(3):
        opened = open_store(pg_url)
        assert isinstance(opened, PostgresStore)
        assert opened.migrate() == len(MIGRATIONS)
        opened.close()
    with psycopg.connect(pg_url) as conn:
        versions = conn.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
    assert versions == [(n,) for n in range(1, len(MIGRATIONS) + 1)]



def test_writer_gives_up_when_the_lock_is_held(pg_url: str) -> None:
    open_store(pg_url).close()
    waiting = PostgresStore(pg_url, timeout_s=0.2)
    try:
        with psycopg.connect(pg_url) as holder:
            holder.execute("SELECT pg_advisory_lock(%s)", (WRITE_LOCK,))
            with pytest.raises(StoreError, match="write failed, nothing stored: canceling statement due to lock timeout"
                                                 r" \(another writer held the store's write lock"):
                waiting.append_audit("ci", "waiver", None, {})
        assert waiting.append_audit("ci", "waiver", None, {}).seq == 1
    finally:
        waiting.close()


def test_connections_bound_every_wait(pg_url: str) -> None:
    """A lock wait gets the store timeout, a statement twice it, a session idle in a transaction half of it."""
    opened = PostgresStore(pg_url, timeout_s=7)
    try:
        settings = opened._conn.execute(
            "SELECT current_setting('lock_timeout'), current_setting('statement_timeout'),"
            " current_setting('idle_in_transaction_session_timeout'), current_setting('application_name')"
        ).fetchone()
    finally:
        opened.close()
    assert settings == ("7s", "14s", "3500ms", "readypolicy")


@pytest.mark.parametrize("password", ["zq7/kw", "zq7#kw", "zq7?kw", "zq7@kw", "zq7/k#w?x"])
def test_password_with_url_delimiters_is_never_shown(password: str) -> None:
    """Percent-encoded, the password reaches the server and never the output; left raw, the URL is refused unread."""
    encoded = f"postgresql://ci:{quote(password, safe='')}@127.0.0.1:1/ready?connect_timeout=2"
    with pytest.raises(StoreError) as raised:
        open_store(encoded)
    shown = str(raised.value)
    assert shown.startswith("postgresql://ci:***@127.0.0.1:1/ready") and "cannot connect" in shown
    for secret in (password, quote(password, safe=""), "zq7", "kw"):
        assert secret not in shown
    raw = f"postgresql://ci:{password}@127.0.0.1:1/ready"
    with pytest.raises(StoreError, match="must be percent-encoded") as refused:
        open_store(raw)
    assert "zq7" not in str(refused.value) and "kw" not in str(refused.value)
