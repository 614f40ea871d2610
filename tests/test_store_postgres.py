"""PostgreSQL-specific behaviour: URLs without secrets, one-line errors, the migration table."""

from __future__ import annotations

import psycopg
import pytest

from readypolicy.store.interface import StoreError
from readypolicy.store.open import open_store
from readypolicy.store.postgres import MIGRATIONS, PostgresStore, redact_url


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
    waiting = PostgresStore(pg_url, lock_timeout_s=0.2)
    try:
        with psycopg.connect(pg_url) as holder:
            holder.execute("LOCK TABLE audit IN SHARE ROW EXCLUSIVE MODE")
            with pytest.raises(StoreError, match="write failed, nothing stored: canceling statement due to lock timeout"):
                waiting.append_audit("ci", "waiver", None, {})
        assert waiting.append_audit("ci", "waiver", None, {}).seq == 1
    finally:
        waiting.close()
