"""SQLite store: the zero-setup default, one file under `.readypolicy/`.

Writers take `BEGIN IMMEDIATE` so concurrent ingesters serialize instead of failing half-way; WAL
mode lets readers proceed meanwhile, and a busy timeout rides out short lock waits.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import quote

from readypolicy.store.interface import StoreError, StoreMissingError, missing_message, version_problem
from readypolicy.store.sql import SqlStore

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE evidence (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        digest TEXT NOT NULL UNIQUE, module TEXT NOT NULL, revision TEXT NOT NULL, kind TEXT NOT NULL,
        scope TEXT NOT NULL, schema_version INTEGER NOT NULL, document TEXT NOT NULL,
        raw_sha256 TEXT NOT NULL, source_path TEXT NOT NULL, producer_tool TEXT NOT NULL,
        producer_version TEXT, collected_at TEXT, ingested_at TEXT NOT NULL
    );
    CREATE INDEX evidence_latest ON evidence (module, revision, kind, scope, seq);
    CREATE INDEX evidence_module_seq ON evidence (module, seq);
    CREATE TABLE decisions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        decision_id TEXT NOT NULL UNIQUE, module TEXT NOT NULL, revision TEXT NOT NULL, lane TEXT NOT NULL,
        allow INTEGER NOT NULL, policy_digest TEXT NOT NULL, evaluated_at TEXT NOT NULL, record TEXT NOT NULL
    );
    CREATE INDEX decisions_module_lane ON decisions (module, lane, seq);
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY, prev_hash TEXT NOT NULL, entry_hash TEXT NOT NULL UNIQUE,
        at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, module TEXT, details TEXT NOT NULL
    );
    CREATE TRIGGER evidence_immutable BEFORE UPDATE ON evidence
        BEGIN SELECT RAISE(ABORT, 'evidence is immutable'); END;
    CREATE TRIGGER decisions_immutable BEFORE UPDATE ON decisions
        BEGIN SELECT RAISE(ABORT, 'decisions are immutable'); END;
    CREATE TRIGGER decisions_append_only BEFORE DELETE ON decisions
        BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
    CREATE TRIGGER audit_immutable BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_append_only BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    """,
    # 2: ingest events. Existing documents get one event each, in their old order, so what was
    # current stays current; from now on a re-ingest appends an event and makes its document current.
    """
    CREATE TABLE ingests (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id TEXT NOT NULL UNIQUE, digest TEXT NOT NULL, module TEXT NOT NULL, revision TEXT NOT NULL,
        kind TEXT NOT NULL, scope TEXT NOT NULL, source_path TEXT NOT NULL, actor TEXT NOT NULL,
        ingested_at TEXT NOT NULL
    );
    CREATE INDEX ingests_latest ON ingests (module, revision, kind, scope, seq);
    CREATE INDEX ingests_module_seq ON ingests (module, seq);
    CREATE INDEX ingests_digest ON ingests (digest);
    INSERT INTO ingests (event_id, digest, module, revision, kind, scope, source_path, actor, ingested_at)
        SELECT 'migrated:' || digest, digest, module, revision, kind, scope, source_path, 'unknown', ingested_at
        FROM evidence ORDER BY seq;
    CREATE TRIGGER ingests_immutable BEFORE UPDATE ON ingests
        BEGIN SELECT RAISE(ABORT, 'ingest events are immutable'); END;
    """,
    # 3: every ingest reads the newest event time under the write lock (`SqlStore.put_evidence`);
    # without this index that read scans the whole table, once per batch.
    """
    CREATE INDEX ingests_ingested_at ON ingests (ingested_at);
    """,
)


_DOCUMENT_TEXT = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
"""A JSON column's text: what `json.dumps` with these settings writes, without building an encoder per value."""


class SqliteStore(SqlStore):
    """A store in one SQLite file."""

    placeholder = "?"
    migrations = MIGRATIONS

    def __init__(self, path: Path, busy_timeout_s: float = 30.0, *, create: bool = True) -> None:
        """Open the file; without `create`, a file that does not exist or holds no store is refused."""
        self.path = path
        self.url = f"sqlite:///{path}"
        try:
            if create:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._conn = sqlite3.connect(path, timeout=busy_timeout_s, isolation_level=None)
            else:
                # mode=rw opens an existing file only: a mistyped path must not become a new, empty store.
                uri = f"file:{quote(str(path.absolute()))}?mode=rw"
                self._conn = sqlite3.connect(uri, timeout=busy_timeout_s, isolation_level=None, uri=True)
        except (sqlite3.Error, OSError) as exc:
            if not create and not path.exists():
                raise StoreMissingError(missing_message(str(path))) from exc
            raise StoreError(f"{self.url}: cannot open store: {exc}") from exc
        try:
            # The schema is checked first: a file that is not a readypolicy store is left as it was.
            self._prepare_schema(create, missing_message(str(path), "holds no readypolicy store"))
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA foreign_keys=ON")
        except StoreError:
            self._conn.close()
            raise
        except (sqlite3.Error, OSError) as exc:
            self._conn.close()
            raise StoreError(f"{self.url}: cannot open store: {exc}") from exc

    def schema_version(self) -> int:
        """How many migrations have been applied."""
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self) -> int:
        """Apply pending migrations in one transaction each; returns the resulting version.

        The version is read again under the write lock, so processes opening a new file at the same
        moment apply each migration once instead of failing on tables another one just created.
        """
        problem = version_problem(self.url, self.schema_version(), len(MIGRATIONS), create=True)
        if problem is not None:
            raise StoreError(problem)
        for number, script in enumerate(MIGRATIONS, start=1):
            if self.schema_version() >= number:
                continue
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                if self.schema_version() < number:
                    for statement in _split_sql(script):
                        self._conn.execute(statement)
                    self._conn.execute(f"PRAGMA user_version = {number}")
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return self.schema_version()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Cursor]:
        try:
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(f"{self.url}: cannot start a write transaction: {exc}") from exc
        try:
            yield cur
            cur.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise StoreError(f"{self.url}: write failed, nothing stored: {exc}") from exc
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        # A failed COMMIT may already have rolled back, leaving nothing to undo.
        with suppress(sqlite3.Error):
            self._conn.execute("ROLLBACK")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Cursor]:
        try:
            yield self._conn.cursor()
        except sqlite3.Error as exc:
            raise StoreError(f"{self.url}: read failed: {exc}") from exc

    def _json_param(self, value: Any) -> Any:
        return _DOCUMENT_TEXT(value)

    def close(self) -> None:
        self._conn.close()


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies (which contain `;`) whole."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
