"""Shared SQL logic for the DB-API stores; dialects supply connections, DDL and JSON handling.

SQLite and PostgreSQL run the same statements (both speak `INSERT ... ON CONFLICT DO NOTHING`), so
the behaviour the test suite checks is written once here and each dialect only says how it differs.
"""

from __future__ import annotations

import dataclasses
import json
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

from readypolicy.canonical import rfc3339, utc_now
from readypolicy.store.chain import GENESIS, entry_hash
from readypolicy.store.interface import (
    AuditEntry,
    DecisionRow,
    EvidenceRecord,
    IngestEvent,
    Store,
    StoreError,
    StoreMissingError,
    edited_evidence,
    unstorable,
    version_problem,
)

EVIDENCE_COLUMNS = (
    "digest, module, revision, kind, scope, schema_version, document, raw_sha256, source_path, "
    "producer_tool, producer_version, collected_at, ingested_at"
)
EVIDENCE_COLUMNS_E = ", ".join(f"e.{column.strip()}" for column in EVIDENCE_COLUMNS.split(","))
INGEST_COLUMNS = "event_id, digest, module, revision, kind, scope, source_path, actor, ingested_at"
DECISION_COLUMNS = "decision_id, module, revision, lane, allow, policy_digest, evaluated_at, record"
AUDIT_COLUMNS = "seq, prev_hash, entry_hash, at, actor, action, module, details"
PRESENT_CHUNK = 500
"""Values per `IN (...)` lookup: well under SQLite's oldest limit of 999 bound parameters."""
NEWEST_FIRST = "ingested_at DESC, seq DESC"
"""Order of ingest events, newest first: by original ingest time, then by arrival.

A copy replays another store's events with their original times, so a document ingested long ago
somewhere else never becomes current over a newer one here; within one store every new event is
stamped no earlier than the newest already there (`put_evidence`), so time order is arrival order.
"""


class SqlStore(Store):
    """A store over a DB-API connection; subclasses provide the dialect."""

    placeholder = "?"
    """Parameter marker of the driver (`?` for sqlite3, `%s` for psycopg)."""
    migrations: tuple[str, ...] = ()
    """The dialect's schema migrations, in order: the schema version this readypolicy knows is their count."""

    @abstractmethod
    def schema_version(self) -> int:
        """How many schema migrations the database has applied."""

    @abstractmethod
    def migrate(self) -> int:
        """Apply pending schema migrations; returns the resulting version."""

    @abstractmethod
    def _transaction(self) -> AbstractContextManager[Any]:
        """A write transaction that serializes writers and yields a cursor."""

    @abstractmethod
    def _read(self) -> AbstractContextManager[Any]:
        """A read-only cursor."""

    @abstractmethod
    def _json_param(self, value: Any) -> Any:
        """Adapt a JSON value for a document column."""

    def _prepare_schema(self, create: bool, missing: str) -> None:
        """Check the schema version on open; only a caller that may create (`create`) migrates.

        `missing` is the line for a store without a readypolicy schema: a reader or a writer that
        may not migrate never turns an unrelated or mistyped database into an empty store.
        """
        found = self.schema_version()
        if found == 0 and not create:
            raise StoreMissingError(missing)
        problem = version_problem(self.url, found, len(self.migrations), create)
        if problem is not None:
            raise StoreError(problem)
        if found < len(self.migrations):
            self.migrate()

    def _sql(self, statement: str) -> str:
        return statement.replace("?", self.placeholder)

    def _filtered(self, columns: str, table: str, conditions: Sequence[tuple[str, str | None]]) -> list[Any]:
        """Rows of `table` in insertion order, matching each condition (a constant `"column = ?"`) whose value is given.

        One query builder for every filtered listing, so a filter is always a bound parameter.
        """
        given = [(clause, value) for clause, value in conditions if value is not None]
        where = " AND ".join(clause for clause, _value in given) or "1 = 1"
        with self._read() as cur:
            cur.execute(self._sql(f"SELECT {columns} FROM {table} WHERE {where} ORDER BY seq"),
                        [value for _clause, value in given])
            return list(cur.fetchall())

    @staticmethod
    def _json_value(value: Any) -> Any:
        return json.loads(value) if isinstance(value, str | bytes) else value

    def _evidence(self, row: Sequence[Any]) -> EvidenceRecord:
        """An evidence row as a record; a document text that does not parse is an edited row, named as one.

        Only SQLite can hold such text (PostgreSQL's JSONB is parsed on write): it reaches every
        reader, so it gets the line `checked_evidence` gives any edited row instead of a crash.
        """
        try:
            document = self._json_value(row[6])
        except ValueError as exc:  # json.JSONDecodeError
            raise edited_evidence(row[0], self.url, f"its document is not JSON: {exc}") from exc
        return EvidenceRecord(
            digest=row[0], module=row[1], revision=row[2], kind=row[3], scope=row[4],
            schema_version=int(row[5]), document=document, raw_sha256=row[7],
            source_path=row[8], producer_tool=row[9], producer_version=row[10],
            collected_at=row[11], ingested_at=row[12],
        )

    @staticmethod
    def _event(row: Sequence[Any]) -> IngestEvent:
        return IngestEvent(
            event_id=row[0], digest=row[1], module=row[2], revision=row[3], kind=row[4], scope=row[5],
            source_path=row[6], actor=row[7], ingested_at=row[8],
        )

    def _decision(self, row: Sequence[Any]) -> DecisionRow:
        return DecisionRow(
            decision_id=row[0], module=row[1], revision=row[2], lane=row[3], allow=bool(row[4]),
            policy_digest=row[5], evaluated_at=row[6], record=self._json_value(row[7]),
        )

    def _audit(self, row: Sequence[Any]) -> AuditEntry:
        return AuditEntry(
            seq=int(row[0]), prev_hash=row[1], entry_hash=row[2], at=row[3], actor=row[4],
            action=row[5], module=row[6], details=self._json_value(row[7]),
        )

    def _append_audit(
        self, cur: Any, actor: str, action: str, module: str | None, details: dict[str, Any]
    ) -> AuditEntry:
        """Append inside the caller's write transaction, so the action and its log entry commit together."""
        return self._append_audits(cur, actor, action, [(module, details)])[0]

    def _append_audits(
        self, cur: Any, actor: str, action: str, entries: Sequence[tuple[str | None, dict[str, Any]]]
    ) -> list[AuditEntry]:
        """Append entries (module, details) in order inside the caller's write transaction.

        The chain's head is read once: the transaction holds the write lock, so no other writer
        can append in between, and the entries are chained here and inserted in one statement.
        """
        for module, details in entries:
            problem = unstorable({"actor": actor, "action": action, "module": module, "details": details}, "$")
            if problem is not None:
                raise StoreError(f"{self.url}: {action} audit entry holds {problem}; nothing stored")
        if not entries:
            return []
        cur.execute("SELECT seq, entry_hash FROM audit ORDER BY seq DESC LIMIT 1")
        last = cur.fetchone()
        seq, prev = (int(last[0]), last[1]) if last else (0, GENESIS)
        appended: list[AuditEntry] = []
        for module, details in entries:
            seq += 1
            at = rfc3339(utc_now())
            entry = AuditEntry(
                seq=seq, prev_hash=prev, entry_hash=entry_hash(seq, prev, at, actor, action, module, details),
                at=at, actor=actor, action=action, module=module, details=details,
            )
            appended.append(entry)
            prev = entry.entry_hash
        cur.executemany(
            self._sql(f"INSERT INTO audit ({AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
            [(entry.seq, entry.prev_hash, entry.entry_hash, entry.at, entry.actor, entry.action,
              entry.module, self._json_param(entry.details)) for entry in appended],
        )
        return appended

    def put_evidence(self, records: Sequence[EvidenceRecord], actor: str) -> list[bool]:
        self._check_evidence(records, actor)
        with self._transaction() as cur:
            # Under the write lock: a runner whose clock is behind still makes its ingest the newest.
            cur.execute("SELECT MAX(ingested_at) FROM ingests")
            floor = cur.fetchone()[0]
            items = [self._stamped(cur, rec, actor, floor) for rec in records]
            return self._put_ingests(cur, items, actor)

    def _stamped(self, cur: Any, rec: EvidenceRecord, actor: str, floor: str | None) -> tuple[IngestEvent, EvidenceRecord]:
        """The ingest event of `rec`, timed no earlier than the store's newest event (`floor`).

        The very same event given again (same record, time and actor) stays itself, so putting a
        batch twice is still a no-op.
        """
        event = IngestEvent.of(rec, actor)
        if floor is None or rec.ingested_at >= floor:
            return event, rec
        cur.execute(self._sql("SELECT 1 FROM ingests WHERE event_id = ?"), (event.event_id,))
        if cur.fetchone() is not None:
            return event, rec
        later = dataclasses.replace(rec, ingested_at=floor)
        return IngestEvent.of(later, actor), later

    def put_ingests(self, items: Sequence[tuple[IngestEvent, EvidenceRecord]], actor: str) -> list[bool]:
        for event, rec in items:
            self._check_evidence([rec], event.actor, event.source_path)
        with self._transaction() as cur:
            return self._put_ingests(cur, items, actor)

    def _check_evidence(self, records: Sequence[EvidenceRecord], actor: str, source: str | None = None) -> None:
        """Refuse the whole batch, before any write, if a document holds what a store cannot keep alike."""
        for rec in records:
            # vars() of a dataclass lists its fields in declaration order, as `dataclasses.fields` does
            problem = unstorable({**vars(rec), "actor": actor, "source": source}, "$")
            if problem is not None:
                raise StoreError(
                    f"{source or rec.source_path}: evidence {rec.digest} holds {problem.replace('$.', '', 1)};"
                    " no readypolicy store accepts it, nothing stored"
                )

    def _put_ingests(self, cur: Any, items: Sequence[tuple[IngestEvent, EvidenceRecord]], actor: str) -> list[bool]:
        """Store events and their documents inside the caller's write transaction.

        Which documents and events are already stored is read once for the batch (the transaction
        holds the write lock, so that cannot change before the commit); then each table gets one
        statement for the whole batch instead of one per document. A document or event given twice
        in the batch is new the first time only, as when each was inserted on its own.
        """
        stored = self._present(cur, "evidence", "digest", [rec.digest for _event, rec in items])
        recorded = self._present(cur, "ingests", "event_id", [event.event_id for event, _rec in items])
        created: list[bool] = []
        documents: list[tuple[Any, ...]] = []
        events: list[tuple[Any, ...]] = []
        audits: list[tuple[str | None, dict[str, Any]]] = []
        for event, rec in items:
            is_new = rec.digest not in stored
            created.append(is_new)
            if is_new:
                stored.add(rec.digest)
                documents.append((rec.digest, rec.module, rec.revision, rec.kind, rec.scope, rec.schema_version,
                                  self._json_param(rec.document), rec.raw_sha256, rec.source_path, rec.producer_tool,
                                  rec.producer_version, rec.collected_at, rec.ingested_at))
            if event.event_id in recorded:
                continue  # this very event is already recorded (a re-run copy, a record given twice)
            recorded.add(event.event_id)
            events.append((event.event_id, event.digest, event.module, event.revision, event.kind, event.scope,
                           event.source_path, event.actor, event.ingested_at))
            # The event id binds the entry to its `ingests` row: verify-chain finds a deleted or inserted event.
            details: dict[str, Any] = {
                "digest": rec.digest, "raw_sha256": rec.raw_sha256, "kind": rec.kind, "scope": rec.scope,
                "revision": rec.revision, "source": event.source_path, "event_id": event.event_id,
            }
            if not is_new:
                details["again"] = True  # already stored: this event makes it current again
            if event.actor != actor:
                details["ingested_by"] = event.actor
            audits.append((rec.module, details))
        self._insert_all(cur, "evidence", EVIDENCE_COLUMNS, documents)
        self._insert_all(cur, "ingests", INGEST_COLUMNS, events)
        self._append_audits(cur, actor, "ingest", audits)
        return created

    def _present(self, cur: Any, table: str, column: str, values: Sequence[str]) -> set[str]:
        """Which of `values` (a unique text column of `table`, a constant) are stored, read in chunks of bound parameters."""
        wanted = sorted(set(values))
        found: set[str] = set()
        for start in range(0, len(wanted), PRESENT_CHUNK):
            chunk = wanted[start:start + PRESENT_CHUNK]
            cur.execute(self._sql(f"SELECT {column} FROM {table} WHERE {column} IN ({', '.join('?' * len(chunk))})"),
                        chunk)
            found.update(row[0] for row in cur.fetchall())
        return found

    def _insert_all(self, cur: Any, table: str, columns: str, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert rows none of which is stored yet (`_present` said so under the write lock), in one statement.

        No `ON CONFLICT DO NOTHING` here: a row that is there all the same breaks the unique column,
        and the whole batch is rolled back rather than reported as stored.
        """
        if not rows:
            return
        marks = ", ".join("?" * len(rows[0]))
        cur.executemany(self._sql(f"INSERT INTO {table} ({columns}) VALUES ({marks})"), rows)

    def ingest_events(self) -> list[IngestEvent]:
        with self._read() as cur:
            cur.execute(f"SELECT {INGEST_COLUMNS} FROM ingests ORDER BY ingested_at, seq")
            return [self._event(row) for row in cur.fetchall()]

    def get_evidence(self, digest: str) -> EvidenceRecord | None:
        with self._read() as cur:
            cur.execute(self._sql(f"SELECT {EVIDENCE_COLUMNS} FROM evidence WHERE digest = ?"), (digest,))
            row = cur.fetchone()
        return self._evidence(row) if row else None

    def list_evidence(
        self, module: str, revision: str | None = None, kind: str | None = None
    ) -> list[EvidenceRecord]:
        rows = self._filtered(EVIDENCE_COLUMNS, "evidence", [("module = ?", module), ("revision = ?", revision),
                                                            ("kind = ?", kind)])
        return [self._evidence(row) for row in rows]

    def latest_evidence(self, module: str, revision: str) -> list[EvidenceRecord]:
        # The newest ingest event of each slot names its document. Retention deletes a document's
        # events with it, and never a slot's current document while older ones stay (audit/prune.py).
        with self._read() as cur:
            cur.execute(
                self._sql(
                    f"SELECT {EVIDENCE_COLUMNS_E}, i.kind, i.scope FROM ingests i JOIN evidence e ON e.digest = i.digest"
                    " WHERE i.module = ? AND i.revision = ? AND i.seq = (SELECT j.seq FROM ingests j"
                    " WHERE j.module = i.module AND j.revision = i.revision AND j.kind = i.kind AND j.scope = i.scope"
                    f" ORDER BY {NEWEST_FIRST.replace('ingested_at', 'j.ingested_at').replace('seq', 'j.seq')} LIMIT 1)"
                    " ORDER BY i.kind, i.scope"
                ),
                (module, revision),
            )
            rows = cur.fetchall()
        records = [self._evidence(row) for row in rows]
        for record, row in zip(records, rows, strict=True):
            if (record.module, record.revision, record.kind, record.scope) != (module, revision, row[-2], row[-1]):
                raise StoreError(
                    f"{self.url}: evidence {record.digest} is filed under {module}@{revision} {row[-2]}/{row[-1]}"
                    f" but its row says {record.module}@{record.revision} {record.kind}/{record.scope};"
                    " the store was edited"
                )
        return records

    def has_evidence(self, module: str, revision: str) -> bool:
        with self._read() as cur:
            cur.execute(
                self._sql("SELECT 1 FROM ingests i JOIN evidence e ON e.digest = i.digest"
                          " WHERE i.module = ? AND i.revision = ? LIMIT 1"),
                (module, revision),
            )
            return cur.fetchone() is not None

    def latest_revision(self, module: str) -> str | None:
        with self._read() as cur:
            cur.execute(
                self._sql(f"SELECT revision FROM ingests WHERE module = ? ORDER BY {NEWEST_FIRST} LIMIT 1"), (module,)
            )
            row = cur.fetchone()
        return row[0] if row else None

    def modules(self) -> list[str]:
        with self._read() as cur:
            cur.execute("SELECT DISTINCT module FROM evidence ORDER BY module")
            return [row[0] for row in cur.fetchall()]

    def put_decision(self, row: DecisionRow, actor: str) -> None:
        problem = unstorable(row.record, "$")
        if problem is not None:
            raise StoreError(f"{self.url}: decision {row.decision_id} holds {problem}; nothing stored")
        with self._transaction() as cur:
            cur.execute(
                self._sql(
                    f"INSERT INTO decisions ({DECISION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (decision_id) DO NOTHING"
                ),
                (row.decision_id, row.module, row.revision, row.lane, row.allow, row.policy_digest,
                 row.evaluated_at, self._json_param(row.record)),
            )
            if cur.rowcount == 1:
                self._append_audit(
                    cur, actor, "decision", row.module,
                    {"decision_id": row.decision_id, "lane": row.lane, "allow": row.allow,
                     "policy_digest": row.policy_digest, "revision": row.revision},
                )

    def get_decision(self, decision_id: str) -> DecisionRow | None:
        # Ids are lowercase hex; lowercasing the prefix makes lookups agree between SQLite's
        # case-insensitive LIKE and PostgreSQL's case-sensitive one.
        wanted = decision_id.lower()
        wanted = wanted if wanted.startswith("sha256:") else "sha256:" + wanted
        with self._read() as cur:
            cur.execute(
                self._sql(f"SELECT {DECISION_COLUMNS} FROM decisions WHERE decision_id LIKE ? ORDER BY seq LIMIT 2"),
                (wanted.replace("%", "").replace("_", "") + "%",),
            )
            rows = cur.fetchall()
        if len(rows) > 1:
            raise StoreError(f"decision id prefix {decision_id!r} is ambiguous; give more digits")
        return self._decision(rows[0]) if rows else None

    def list_decisions(
        self, module: str | None = None, lane: str | None = None, since: str | None = None
    ) -> list[DecisionRow]:
        rows = self._filtered(DECISION_COLUMNS, "decisions", [("module = ?", module), ("lane = ?", lane),
                                                              ("evaluated_at >= ?", since)])
        return [self._decision(row) for row in rows]

    def append_audit(self, actor: str, action: str, module: str | None, details: dict[str, Any]) -> AuditEntry:
        with self._transaction() as cur:
            return self._append_audit(cur, actor, action, module, details)

    def audit_entries(
        self, since: str | None = None, module: str | None = None, action: str | None = None
    ) -> Iterator[AuditEntry]:
        rows = self._filtered(AUDIT_COLUMNS, "audit", [("at >= ?", since), ("module = ?", module), ("action = ?", action)])
        return iter([self._audit(row) for row in rows])

    def delete_evidence(self, digests: Sequence[str], actor: str, reason: str) -> int:
        removed = 0
        with self._transaction() as cur:
            for item in digests:
                cur.execute(self._sql("DELETE FROM evidence WHERE digest = ?"), (item,))
                removed += cur.rowcount
                cur.execute(self._sql("DELETE FROM ingests WHERE digest = ?"), (item,))
            if removed:
                self._append_audit(cur, actor, "prune", None, {"digests": list(digests), "reason": reason})
        return removed
