"""PostgreSQL store: one database shared by a team and its CI runners.

Every write transaction first takes a transaction-level advisory lock (`WRITE_LOCK`). It conflicts
with itself but not with readers, so writers queue one behind another while reads go on; that is
what keeps concurrent ingesters from reading the same chain head and forking the audit chain, and
it makes the `seq` order equal to commit order. An advisory lock needs no table privilege, so the
writer role can hold it with nothing but SELECT and INSERT (docs/team-store.md). Migrations are
serialized with another advisory lock, so several processes migrating at once apply each migration
exactly once.

Waiting is bounded: every connection sets `lock_timeout` to the store timeout, `statement_timeout`
to twice it (so a lock wait is reported as such), and `idle_in_transaction_session_timeout` to half
of it, so a writer that stalls inside a transaction (a frozen runner) is disconnected by the
server, its transaction rolled back and the write lock released, before the writers queued behind
it give up.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.json import Jsonb, set_json_loads

from readypolicy.canonical import rfc3339, utc_now
from readypolicy.store.interface import StoreError, missing_message, version_problem
from readypolicy.store.sql import SqlStore

logging.getLogger("psycopg").addHandler(logging.NullHandler())
# psycopg logs a second error it meets while cleaning up after the first (a pipelined batch whose
# connection was cut: a frozen runner's) as a warning, which Python prints to stderr when nothing set
# up logging: a second line beside readypolicy's one. The first error is what readypolicy reports;
# an application that sets up logging still receives the record.

MIGRATION_LOCK = 0x7265616479  # "ready": advisory lock key held while migrating
WRITE_LOCK = 0x7772697465  # "write": advisory lock key every write transaction holds
SAFE_INTEGER = 2**53 - 1
APPLICATION_NAME = "readypolicy"
"""`application_name` of readypolicy's connections, to find them in `pg_stat_activity`."""
UNENCODED = frozenset("/?#@[] \t\r\n")
"""Characters a user name or password must percent-encode in a URL: unencoded, they split it elsewhere."""

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
    # 2: ingest events. Existing documents get one event each, in their old order, so what was
    # current stays current; from now on a re-ingest appends an event and makes its document current.
    """
    CREATE TABLE ingests (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        event_id TEXT NOT NULL UNIQUE, digest TEXT NOT NULL, module TEXT NOT NULL, revision TEXT NOT NULL,
        kind TEXT NOT NULL, scope TEXT NOT NULL, source_path TEXT NOT NULL, actor TEXT NOT NULL,
        ingested_at TEXT NOT NULL
    );
    CREATE INDEX ingests_latest ON ingests (module, revision, kind, scope, seq DESC);
    CREATE INDEX ingests_module_seq ON ingests (module, seq);
    CREATE INDEX ingests_digest ON ingests (digest);
    INSERT INTO ingests (event_id, digest, module, revision, kind, scope, source_path, actor, ingested_at)
        SELECT 'migrated:' || digest, digest, module, revision, kind, scope, source_path, 'unknown', ingested_at
        FROM evidence ORDER BY seq;
    CREATE TRIGGER ingests_immutable BEFORE UPDATE ON ingests
        FOR EACH ROW EXECUTE FUNCTION readypolicy_refuse('ingest events are immutable');
    CREATE TRIGGER ingests_no_truncate BEFORE TRUNCATE ON ingests
        FOR EACH STATEMENT EXECUTE FUNCTION readypolicy_refuse('ingest events are removed only with their evidence');
    """,
    # 3: every ingest reads the newest event time under the write lock (`SqlStore.put_evidence`);
    # without this index that read scans the whole table, once per batch.
    """
    CREATE INDEX ingests_ingested_at ON ingests (ingested_at);
    """,
)


class PostgresStore(SqlStore):
    """A store in one PostgreSQL database."""

    placeholder = "%s"

    migrations = MIGRATIONS

    def __init__(self, url: str, timeout_s: float = 30.0, *, create: bool = True) -> None:
        """Connect with bounded waits, and check (with `create`: create or upgrade) the schema.

        A lock wait ends after `timeout_s`, a statement after twice that, and the server ends a
        session left idle inside a transaction for `timeout_s / 2`. Without `create`, a database holding no
        readypolicy schema, or an older one, is refused instead of migrated.
        """
        check_url(url)
        self.url = redact_url(url)
        self._secrets = _passwords(url)
        self.timeout_s = timeout_s
        try:
            given = conninfo_to_dict(url)
            options: dict[str, Any] = {"autocommit": True}
            if "connect_timeout" not in given:
                options["connect_timeout"] = max(2, math.ceil(timeout_s))
            if "application_name" not in given:
                options["application_name"] = APPLICATION_NAME
            self._conn = psycopg.connect(url, **options)
            self._conn.execute(
                "SELECT set_config('lock_timeout', %s, false), set_config('statement_timeout', %s, false),"
                " set_config('idle_in_transaction_session_timeout', %s, false)",
                (_ms(timeout_s), _ms(2 * timeout_s), _ms(timeout_s / 2)),
            )
        except psycopg.Error as exc:
            raise StoreError(f"{self.url}: cannot connect: {self._message(exc)}") from exc
        set_json_loads(_loads, self._conn)
        try:
            self._prepare_schema(create, missing_message(self.url, "holds no readypolicy schema", creators=""))
        except StoreError:
            self._conn.close()
            raise

    def schema_version(self) -> int:
        """The highest migration applied (0 for an empty database)."""
        with self._read() as cur:
            cur.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
            if not _scalar(cur):
                return 0
            cur.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
            return int(_scalar(cur))

    def migrate(self) -> int:
        """Apply pending migrations, each in its own transaction; returns the resulting version.

        A store already at this version is left alone, so `store migrate` by a role that may not
        create tables still reports the version instead of failing.
        """
        current = self.schema_version()
        problem = version_problem(self.url, current, len(MIGRATIONS), create=True)
        if problem is not None:
            raise StoreError(problem)
        for number, script in enumerate(MIGRATIONS, start=1):
            if number <= current:
                continue
            try:
                with self._conn.transaction(), self._conn.cursor() as cur:
                    cur.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
                    cur.execute("SET LOCAL statement_timeout = 0")  # a migration may rewrite a large table
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
        committing = False
        try:
            with self._conn.transaction(), self._conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
                yield cur
                committing = True
        except psycopg.Error as exc:
            if committing:  # the server may have committed before the connection broke
                outcome = "write failed while committing, so it may or may not be stored"
            else:
                outcome = "write failed, nothing stored"
            raise StoreError(f"{self.url}: {outcome}: {self._message(exc)}") from exc

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
        if isinstance(exc, psycopg.errors.LockNotAvailable):
            line += f" (another writer held the store's write lock for store_timeout_s = {self.timeout_s:g}s)"
        elif isinstance(exc, psycopg.errors.QueryCanceled):
            line += f" (a statement ran longer than twice store_timeout_s = {self.timeout_s:g}s)"
        for secret in sorted(self._secrets, key=len, reverse=True):
            line = line.replace(secret, "***")
        return line


def check_url(url: str) -> None:
    """Refuse a URL whose user name or password holds a character that must be percent-encoded.

    Unencoded, `/`, `?` or `#` in a password end the authority early: the driver would read part of
    the password as a host, a port or a database name and could print it back in an error. The
    message never shows the URL.
    """
    rest = url.split("://", 1)[1] if "://" in url else url
    userinfo = rest[: rest.rfind("@")] if "@" in rest else ""
    if any(ch in UNENCODED for ch in userinfo):
        raise StoreError(
            "store URL postgresql://***: the user name or password holds a character that must be percent-encoded"
            " (/ as %2F, ? as %3F, # as %23, @ as %40, space as %20); the URL is not shown"
        )


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


def _passwords(url: str) -> set[str]:
    """Every spelling of the password(s) a URL carries, to blank them out of driver messages."""
    parts = urlsplit(url)
    found = {parts.password or ""}
    found |= {value for key, value in parse_qsl(parts.query, keep_blank_values=True) if key == "password"}
    spellings = {form for secret in found for form in (secret, unquote(secret), quote(unquote(secret), safe=""))}
    return {form for form in spellings if form}


def _ms(seconds: float) -> str:
    """A PostgreSQL duration setting; at least 1 ms, since 0 would mean no limit at all."""
    return f"{max(1, round(seconds * 1000))}ms"


def _scalar(cur: psycopg.Cursor[Any]) -> Any:
    """The one value of a query that always returns one row (an aggregate or a test)."""
    row = cur.fetchone()
    if row is None:
        raise StoreError("PostgreSQL returned no row for a query that always has one")
    return row[0]


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
