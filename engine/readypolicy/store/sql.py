"""Shared SQL logic for the DB-API stores; dialects supply connections, DDL and JSON handling.

SQLite and PostgreSQL run the same statements (both speak `INSERT ... ON CONFLICT DO NOTHING`), so
the behaviour the test suite checks is written once here and each dialect only says how it differs.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

from readypolicy.audit.chain import GENESIS, entry_hash
from readypolicy.canonical import rfc3339, utc_now
from readypolicy.store.interface import AuditEntry, DecisionRow, EvidenceRecord, Store, StoreError

EVIDENCE_COLUMNS = (
    "digest, module, revision, kind, scope, schema_version, document, raw_sha256, source_path, "
    "producer_tool, producer_version, collected_at, ingested_at"
)
DECISION_COLUMNS = "decision_id, module, revision, lane, allow, policy_digest, evaluated_at, record"
AUDIT_COLUMNS = "seq, prev_hash, entry_hash, at, actor, action, module, details"


class SqlStore(Store):
    """A store over a DB-API connection; subclasses provide the dialect."""

    placeholder = "?"
    """Parameter marker of the driver (`?` for sqlite3, `%s` for psycopg)."""

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

    def _sql(self, statement: str) -> str:
        return statement.replace("?", self.placeholder)

    @staticmethod
    def _json_value(value: Any) -> Any:
        return json.loads(value) if isinstance(value, str | bytes) else value

    def _evidence(self, row: Sequence[Any]) -> EvidenceRecord:
        return EvidenceRecord(
            digest=row[0], module=row[1], revision=row[2], kind=row[3], scope=row[4],
            schema_version=int(row[5]), document=self._json_value(row[6]), raw_sha256=row[7],
            source_path=row[8], producer_tool=row[9], producer_version=row[10],
            collected_at=row[11], ingested_at=row[12],
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
        cur.execute("SELECT seq, entry_hash FROM audit ORDER BY seq DESC LIMIT 1")
        last = cur.fetchone()
        seq, prev = (int(last[0]) + 1, last[1]) if last else (1, GENESIS)
        at = rfc3339(utc_now())
        entry = AuditEntry(
            seq=seq, prev_hash=prev, entry_hash=entry_hash(seq, prev, at, actor, action, module, details),
            at=at, actor=actor, action=action, module=module, details=details,
        )
        cur.execute(
            self._sql(f"INSERT INTO audit ({AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
            (entry.seq, entry.prev_hash, entry.entry_hash, entry.at, entry.actor, entry.action,
             entry.module, self._json_param(entry.details)),
        )
        return entry

    def put_evidence(self, records: Sequence[EvidenceRecord], actor: str) -> list[bool]:
        created: list[bool] = []
        with self._transaction() as cur:
            for rec in records:
                cur.execute(
                    self._sql(
                        f"INSERT INTO evidence ({EVIDENCE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                        " ON CONFLICT (digest) DO NOTHING"
                    ),
                    (rec.digest, rec.module, rec.revision, rec.kind, rec.scope, rec.schema_version,
                     self._json_param(rec.document), rec.raw_sha256, rec.source_path, rec.producer_tool,
                     rec.producer_version, rec.collected_at, rec.ingested_at),
                )
                created.append(cur.rowcount == 1)
            new = [rec for rec, is_new in zip(records, created, strict=True) if is_new]
            for rec in new:
                self._append_audit(
                    cur, actor, "ingest", rec.module,
                    {"digest": rec.digest, "raw_sha256": rec.raw_sha256, "kind": rec.kind,
                     "scope": rec.scope, "revision": rec.revision, "source": rec.source_path},
                )
        return created

    def get_evidence(self, digest: str) -> EvidenceRecord | None:
        with self._read() as cur:
            cur.execute(self._sql(f"SELECT {EVIDENCE_COLUMNS} FROM evidence WHERE digest = ?"), (digest,))
            row = cur.fetchone()
        return self._evidence(row) if row else None

    def list_evidence(
        self, module: str, revision: str | None = None, kind: str | None = None
    ) -> list[EvidenceRecord]:
        clauses, params = ["module = ?"], [module]
        if revision is not None:
            clauses.append("revision = ?")
            params.append(revision)
        if kind is not None:
            clauses.append("kind = ?")
            params.append(kind)
        with self._read() as cur:
            cur.execute(
                self._sql(f"SELECT {EVIDENCE_COLUMNS} FROM evidence WHERE {' AND '.join(clauses)} ORDER BY seq"),
                params,
            )
            return [self._evidence(row) for row in cur.fetchall()]

    def latest_evidence(self, module: str, revision: str) -> list[EvidenceRecord]:
        with self._read() as cur:
            cur.execute(
                self._sql(
                    f"SELECT {EVIDENCE_COLUMNS} FROM evidence e WHERE module = ? AND revision = ? AND seq = "
                    "(SELECT MAX(seq) FROM evidence i WHERE i.module = e.module AND i.revision = e.revision"
                    " AND i.kind = e.kind AND i.scope = e.scope) ORDER BY kind, scope"
                ),
                (module, revision),
            )
            return [self._evidence(row) for row in cur.fetchall()]

    def latest_revision(self, module: str) -> str | None:
        with self._read() as cur:
            cur.execute(
                self._sql("SELECT revision FROM evidence WHERE module = ? ORDER BY seq DESC LIMIT 1"), (module,)
            )
            row = cur.fetchone()
        return row[0] if row else None

    def modules(self) -> list[str]:
        with self._read() as cur:
            cur.execute("SELECT DISTINCT module FROM evidence ORDER BY module")
            return [row[0] for row in cur.fetchall()]

    def put_decision(self, row: DecisionRow, actor: str) -> None:
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
        clauses, params = ["1 = 1"], []
        for column, value in (("module", module), ("lane", lane)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if since is not None:
            clauses.append("evaluated_at >= ?")
            params.append(since)
        with self._read() as cur:
            cur.execute(
                self._sql(f"SELECT {DECISION_COLUMNS} FROM decisions WHERE {' AND '.join(clauses)} ORDER BY seq"),
                params,
            )
            return [self._decision(row) for row in cur.fetchall()]

    def append_audit(self, actor: str, action: str, module: str | None, details: dict[str, Any]) -> AuditEntry:
        with self._transaction() as cur:
            return self._append_audit(cur, actor, action, module, details)

    def audit_entries(self, since: str | None = None, module: str | None = None) -> Iterator[AuditEntry]:
        clauses, params = ["1 = 1"], []
        if since is not None:
            clauses.append("at >= ?")
            params.append(since)
        if module is not None:
            clauses.append("module = ?")
            params.append(module)
        with self._read() as cur:
            cur.execute(
                self._sql(f"SELECT {AUDIT_COLUMNS} FROM audit WHERE {' AND '.join(clauses)} ORDER BY seq"), params
            )
            rows = cur.fetchall()
        return iter([self._audit(row) for row in rows])

    def delete_evidence(self, digests: Sequence[str], actor: str, reason: str) -> int:
        removed = 0
        with self._transaction() as cur:
            for item in digests:
                cur.execute(self._sql("DELETE FROM evidence WHERE digest = ?"), (item,))
                removed += cur.rowcount
            if removed:
                self._append_audit(cur, actor, "prune", None, {"digests": list(digests), "reason": reason})
        return removed
