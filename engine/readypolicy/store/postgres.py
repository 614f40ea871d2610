"""PostgreSQL store: one database shared by a team and its CI runners.

Every write transaction first takes `LOCK TABLE audit IN SHARE ROW EXCLUSIVE MODE`. The mode
conflicts with itself but not with readers, so writers queue one behind another while reads go on;
that is what keeps concurrent ingesters from reading the same chain head and forking the audit
chain, and it makes the evidence `seq` order equal to commit order. Migrations are serialized with
a transaction-level advisory lock so that several processes opening a fresh database at once
create the schema exactly once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg.types.json import Jsonb, set_json_loads

from readypolicy.canonical import rfc3339, utc_now
from readypolicy.store.interface import StoreError
from readypolicy.store.sql import SqlStore

MIGRATION_LOCK = 0x7265616479  # "ready": advisory lock key held while migrating
SAFE_INTEGER = 2**53 - 1

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE evidence (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        digest TEXT NOT NULL UNIQUE, module TEXT NOT NULL, revision TEXT NOT NULL, kind TEXT NOT NULL,
        scope TEXT NOT NULL, schema_version INTEGER NOT NULL, document JSONB NOT NULL,
        raw_sha256 TEXT NOT NULL, source_path TEXT NOT NULL, producer_tool TEXT NOT NULL,
        producer_version TEXT, collected_at TEXT, ingested_at TEXT NOT NULL
    );
    CREATE INDEX evidence_latest ON evidence (module, revision, kind, scope, seq DESC);
    CREATE INDEX evidence_module_seq ON evidence (module, seq);
    CREATE TABLE decisions (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        decision_id TEXT NOT NULL UNIQUE, module TEXT NOT NULL, revision TEXT NOT NULL, lane TEXT NOT NULL,
        allow BOOLEAN NOT NULL, policy_digest TEXT NOT NULL, evaluated_at TEXT NOT NULL, record JSONB NOT NULL
    );
    CREATE INDEX decisions_module_lane ON decisions (module, lane, seq);
    CREATE INDEX decisions_id_prefix ON decisions (decision_id text_pattern_ops);
    CREATE TABLE audit (
        seq BIGINT PRIMARY KEY, prev_hash TEXT NOT NULL, entry_hash TEXT NOT NULL UNIQUE,
        at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, module TEXT, details JSONB NOT NULL
    );
    CREATE FUNCTION readypolicy_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION '%', TG_ARGV[0]; END
    $$;
    CREATE TRIGGER evidence_immutable BEFORE UPDATE ON evidence
        FOR EACH ROW EXECUTE FUNCTION readypolicy_refuse('evidence is immutable');
    CREATE TRIGGER decisions_immutable BEFORE UPDATE ON decisions
        FOR EACH ROW EXECUTE FUNCTION readypolicy_refuse('decisions are immutable');
    CREATE TRIGGER decisions_append_only BEFORE DELETE ON decisions
        FOR EACH ROW EXECUTE FUNCTION readypolicy_refuse('decisions are append-only');
    CREATE TRIGGER decisions_no_truncate BEFORE TRUNCATE ON decisions
        FOR EACH STATEMENT EXECUTE FUNCTION readypolicy_refuse('decisions are append-only');
    CREATE TRIGGER audit_immutable BEFORE UPDATE ON audit
        FOR EACH ROW EXECUTE FUNCTION readypolicy_refuse('the audit log is append-only');
    CREATE TRIGGER audit_append_only BEFORE DELETE ON audit
        FOR EACH ROW EXECUTE FUNCTION readypolicy_refuse('the audit log is append-only');
    CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
        FOR EACH STATEMENT EXECUTE FUNCTION readypolicy_refuse('the audit log is append-only');
    """,
)


class PostgresStore(SqlStore):
    """A store in one PostgreSQL database."""

    placeholder = "%s"

    def __init__(self, url: str, connect_timeout_s: int = 10, lock_timeout_s: float = 30.0) -> None:
        """Connect and migrate; a writer waits at most `lock_timeout_s` for the one ahead of it."""
        self.url = redact_url(url)
        self._secret = _password(url)
        try:
            self._conn = psycopg.connect(url, autocommit=True, connect_timeout=connect_timeout_s)
            self._conn.execute("SELECT set_config('lock_timeout', %s, false)", (f"{int(lock_timeout_s * 1000)}ms",))
        except psycopg.Error as exc:
            raise StoreError(f"{self.url}: cannot connect: {self._message(exc)}") from exc
        set_json_loads(_loads, self._conn)
        try:
            self.migrate()
        except StoreError:
            self._conn.close()
            raise

    def schema_version(self) -> int:
        """The highest migration applied (0 for an empty database)."""
        with self._read() as cur:
            cur.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
            if not cur.fetchone()[0]:
                return 0
            cur.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
            return int(cur.fetchone()[0])

    def migrate(self) -> int:
        """Apply pending migrations, each in its own transaction; returns the resulting version."""
        for number, script in enumerate(MIGRATIONS, start=1):
            try:
                with self._conn.transaction(), self._conn.cursor() as cur:
                    cur.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
                    cur.execute(
                        "CREATE TABLE IF NOT EXISTS schema_migrations"
                        " (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
                    )
                    cur.execute("SELECT 1 FROM schema_migrations WHERE version = %s", (number,))
                    if cur.fetchone() is None:
                        cur.execute(script)
                        cur.execute(
                            "INSERT INTO schema_migrations (version, applied_at) VALUES (%s, %s)",
                            (number, rfc3339(utc_now())),
                        )
            except psycopg.Error as exc:
                raise StoreError(f"{self.url}: migration {number} failed: {self._message(exc)}") from exc
        return self.schema_version()

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Cursor[Any]]:
        try:
            with self._conn.transaction(), self._conn.cursor() as cur:
                cur.execute("LOCK TABLE audit IN SHARE ROW EXCLUSIVE MODE")
                yield cur
        except psycopg.Error as exc:
            raise StoreError(f"{self.url}: write failed, nothing stored: {self._message(exc)}") from exc

    @contextmanager
    def _read(self) -> Iterator[psycopg.Cursor[Any]]:
        try:
            with self._conn.cursor() as cur:
                yield cur
        except psycopg.Error as exc:
            raise StoreError(f"{self.url}: read failed: {self._message(exc)}") from exc

    def _json_param(self, value: Any) -> Any:
        return Jsonb(value)

    def close(self) -> None:
        self._conn.close()

    def _message(self, exc: psycopg.Error) -> str:
        """One line from a driver error, without the password even if the driver echoed it."""
        primary = exc.diag.message_primary if isinstance(exc, psycopg.DatabaseError) else None
        text = primary or str(exc)
        line = "; ".join(part.strip() for part in text.splitlines() if part.strip()) or type(exc).__name__
        if self._secret:
            for form in {self._secret, quote(self._secret, safe="")}:
                line = line.replace(form, "***")
        return line


def redact_url(url: str) -> str:
    """The URL with any password (in the authority or a `password=` parameter) replaced by `***`."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, hostinfo = netloc.rpartition("@")
        netloc = f"{userinfo.split(':', 1)[0]}:***@{hostinfo}"
    params = parse_qsl(parts.query, keep_blank_values=True)
    query = urlencode([(key, "***" if key == "password" else value) for key, value in params], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _password(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.password:
        return unquote(parts.password)
    return dict(parse_qsl(parts.query)).get("password")


def _loads(data: str | bytes) -> Any:
    """Parse JSONB text, turning integers outside the JSON-safe range back into floats.

    JSONB keeps numbers as exact decimals and prints a float such as 1e20 without an exponent, so a
    plain parser would read it back as an integer. Canonical JSON refuses integers beyond 2**53 - 1,
    so no stored document can have held one: any such number was a float, and reading it as one
    gives back the document whose digest was computed.
    """
    return json.loads(data, parse_int=_parse_int)


def _parse_int(text: str) -> int | float:
    value = int(text)
    return value if abs(value) <= SAFE_INTEGER else float(text)
