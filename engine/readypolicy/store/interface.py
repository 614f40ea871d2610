"""The store extension point.

A store keeps three append-only collections: evidence documents (content-addressed by the digest
of their canonical JSON, idempotent on re-ingest), decision records, and the hash-chained audit
log. Every write method is one transaction: a batch is stored whole or not at all, so a failed
ingest never leaves half its files behind.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from readypolicy.errors import ReadyPolicyError


class StoreError(ReadyPolicyError):
    """The store cannot be opened, read or written (locked, read-only, full, corrupt, down)."""


@dataclass(frozen=True)
class EvidenceRecord:
    """One normalized evidence document and where it came from."""

    digest: str
    """`sha256:` of the canonical JSON of `document`: the evidence id."""
    module: str
    """Module the evidence is about."""
    revision: str
    """Source revision of the module (commit sha, version) the evidence was produced for."""
    kind: str
    """Evidence kind (`tests`, `coverage`, ...)."""
    scope: str
    """Logical slot within the kind (`unit`, `integration`, `e2e`...); latest wins per (kind, scope)."""
    schema_version: int
    """Version of the kind's JSON Schema the document validates against."""
    document: dict[str, Any]
    """The normalized evidence document (envelope + kind data)."""
    raw_sha256: str
    """`sha256:` of the raw artifact bytes."""
    source_path: str
    """Path of the artifact at ingest time."""
    producer_tool: str
    """Tool that wrote the artifact."""
    producer_version: str | None
    """Its version, when known."""
    collected_at: str | None
    """When the artifact was produced (UTC RFC 3339), if it says."""
    ingested_at: str
    """When readypolicy stored it (UTC RFC 3339)."""


@dataclass(frozen=True)
class DecisionRow:
    """A stored decision record with the columns used to query it."""

    decision_id: str
    """`sha256:` of the canonical decision record without its id."""
    module: str
    """Subject module."""
    revision: str
    """Subject revision."""
    lane: str
    """Lane evaluated."""
    allow: bool
    """Outcome."""
    policy_digest: str
    """Digest of the policy set (source tree or bundle) that decided."""
    evaluated_at: str
    """Evaluation time (UTC RFC 3339)."""
    record: dict[str, Any]
    """The full decision record."""


@dataclass(frozen=True)
class AuditEntry:
    """One link of the hash-chained audit log."""

    seq: int
    """Position in the chain, from 1."""
    prev_hash: str
    """`entry_hash` of the previous entry (`sha256:` of 64 zeros for the first)."""
    entry_hash: str
    """`sha256:` over the canonical JSON of every other field."""
    at: str
    """When it happened (UTC RFC 3339)."""
    actor: str
    """Who did it: CI identity or local user."""
    action: str
    """`ingest`, `decision`, `lock`, `waiver`, `prune`, ..."""
    module: str | None
    """Module concerned, if any."""
    details: dict[str, Any]
    """Digests and other facts of the action."""


class Store(ABC):
    """Evidence, decisions and the audit log."""

    url: str
    """Where the store lives, for messages (never includes a password)."""

    @abstractmethod
    def put_evidence(self, records: Sequence[EvidenceRecord], actor: str) -> list[bool]:
        """Store a batch atomically; returns, per record, True if new, False if already present."""

    @abstractmethod
    def get_evidence(self, digest: str) -> EvidenceRecord | None:
        """One evidence document by digest."""

    @abstractmethod
    def list_evidence(
        self, module: str, revision: str | None = None, kind: str | None = None
    ) -> list[EvidenceRecord]:
        """All evidence of a module (optionally one revision / kind), oldest first."""

    @abstractmethod
    def latest_evidence(self, module: str, revision: str) -> list[EvidenceRecord]:
        """The newest document per (kind, scope) for one module revision."""

    @abstractmethod
    def latest_revision(self, module: str) -> str | None:
        """Revision of the most recently ingested evidence of a module."""

    @abstractmethod
    def modules(self) -> list[str]:
        """Every module with evidence, sorted."""

    @abstractmethod
    def put_decision(self, row: DecisionRow, actor: str) -> None:
        """Store a decision record (idempotent on its id) and log it."""

    @abstractmethod
    def get_decision(self, decision_id: str) -> DecisionRow | None:
        """One decision by id (a unique prefix of the hex is accepted)."""

    @abstractmethod
    def list_decisions(
        self, module: str | None = None, lane: str | None = None, since: str | None = None
    ) -> list[DecisionRow]:
        """Decisions, oldest first, optionally filtered."""

    @abstractmethod
    def append_audit(self, actor: str, action: str, module: str | None, details: dict[str, Any]) -> AuditEntry:
        """Append one entry to the audit chain in its own transaction."""

    @abstractmethod
    def audit_entries(self, since: str | None = None, module: str | None = None) -> Iterator[AuditEntry]:
        """The audit chain in order."""

    @abstractmethod
    def delete_evidence(self, digests: Sequence[str], actor: str, reason: str) -> int:
        """Remove evidence (retention) and log it in the same transaction; returns how many."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""
