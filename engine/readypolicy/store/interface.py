"""The store extension point.

A store keeps four append-only collections: evidence documents (content-addressed by the digest
of their canonical JSON, stored once), ingest events (one per act of ingesting a document: the
newest event of a slot names its current document, so re-ingesting an older report makes it
current again), decision records, and the hash-chained audit log. Every write method is one
transaction: a batch is stored whole or not at all, so a failed ingest never leaves half its files
behind.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from readypolicy.canonical import digest
from readypolicy.errors import ReadyPolicyError
from readypolicy.records import DecisionRecord, EvidenceDocument


class StoreError(ReadyPolicyError):
    """The store cannot be opened, read or written (locked, read-only, full, corrupt, down)."""


class StoreMissingError(StoreError):
    """A command that only reads was pointed at a store that does not exist (a typo must not pass a gate)."""


def missing_message(where: str, state: str = "does not exist", creators: str = "`readypolicy ingest` or ") -> str:
    """The one line for a store that is not there, saying which commands create one."""
    return f"store {where} {state}; run {creators}`readypolicy store migrate` first"


def version_problem(where: str, found: int, known: int, create: bool) -> str | None:
    """Why a store at schema version `found` must not be used by a readypolicy that knows `known` migrations.

    A newer schema is refused even for writers: this readypolicy cannot know what its tables mean.
    An older one is refused unless the caller may migrate (`create`): a reader never changes a schema.
    """
    if found > known:
        return f"store {where} schema version {found} is newer than this readypolicy ({known}); upgrade readypolicy"
    if found < known and not create:
        return (f"store {where} schema version {found} is older than this readypolicy ({known});"
                " run `readypolicy store migrate` first")
    return None


MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
"""Largest JSON text of one stored document or record: well inside what both stores keep (JSONB: 255 MB)."""


_COMPACT_TEXT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
"""`json.dumps(value, ensure_ascii=False, separators=(",", ":"))`, without building an encoder per value."""


def unstorable(value: Any, where: str) -> str | None:
    """What in a JSON value no store keeps the same way, or None.

    PostgreSQL refuses a NUL character and text that is not UTF-8 (a lone surrogate) where SQLite
    would keep them; both stores refuse them here, before any write, so the same input is accepted
    or refused whichever store a team runs and a store can always be copied to the other kind.

    The value is serialized once (its size is needed anyway): JSON text holds a NUL only as the
    escape `\\u0000` and encodes to UTF-8 unless some string holds a lone surrogate, so text with
    neither sign needs no walk; otherwise the walk below names the place.
    """
    text = _COMPACT_TEXT(value)
    try:
        encoded = text.encode()
    except UnicodeEncodeError:
        encoded = None
    if encoded is None or b"\\u0000" in encoded:
        problem = _text_walk(value, where)
        if problem is not None:
            return problem
    size = len(encoded) if encoded is not None else len(text.encode(errors="surrogatepass"))
    if size > MAX_DOCUMENT_BYTES:
        return f"{size} bytes of JSON at {where}, more than the {MAX_DOCUMENT_BYTES} a store keeps"
    return None


def _text_walk(value: Any, where: str) -> str | None:
    """The first NUL character or lone surrogate in a key or string of `value`, and where."""
    stack: list[tuple[str, Any]] = [(where, value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            problem = _text_problem(item)
            if problem is not None:
                return f"{problem} at {path}"
        elif isinstance(item, dict):
            for key, inner in item.items():
                problem = _text_problem(str(key))
                if problem is not None:
                    return f"{problem} in a key of {path}"
                stack.append((f"{path}.{key}", inner))
        elif isinstance(item, list | tuple):
            stack.extend((f"{path}[{index}]", inner) for index, inner in enumerate(item))
    return None


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "a NUL character (\\u0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "text that is not UTF-8 (a lone surrogate)"
    return None


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
    document: EvidenceDocument
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


def evidence_problem(record: EvidenceRecord) -> str | None:
    """What is wrong with a stored evidence row, or None when its content still matches its address.

    The digest is recomputed from the document, and the columns used to find the document (module,
    revision, kind, scope) must say what the document says: an edited row must never be decided on.

    It is recomputed even where the store hands back the text it keeps (SQLite), though hashing
    that text would cost a tenth as much: whoever rewrites a row as non-canonical text T with its
    digest set to sha256(T) would pass such a check, and decisions would then name an address that
    no RFC 8785 implementation reproduces from the document. Proving T canonical instead costs the
    same re-encoding (docs/performance.md; tests/test_store_read_digest_shortcut.py).

    A document no RFC 8785 form exists for (NaN, infinity, an integer beyond 2^53 - 1: text JSON
    parsers accept but ingest never writes) has no content address at all: that is a problem of
    the row, named as such, not a crash of whichever command read it.
    """
    try:
        actual = digest(record.document)
    except ValueError as exc:  # rfc8785's CanonicalizationError: the value has no canonical form
        return f"its document has no RFC 8785 form: {exc}"
    if actual != record.digest:
        return f"its document now hashes to {actual}"
    document = record.document
    if not isinstance(document, dict):
        return "its document is not a JSON object"
    for column in ("module", "revision", "kind", "scope"):
        if document.get(column) != getattr(record, column):
            return f"its {column} column says {getattr(record, column)!r} but its document says {document.get(column)!r}"
    return None


def checked_evidence(record: EvidenceRecord, store_url: str) -> EvidenceRecord:
    """The record, or `StoreError` naming it when it no longer matches its content address."""
    problem = evidence_problem(record)
    if problem is not None:
        raise edited_evidence(record.digest, store_url, problem)
    return record


def edited_evidence(digest_text: str, store_url: str, problem: str) -> StoreError:
    """The one line every reader gives for an evidence row that no longer matches its content address."""
    return StoreError(
        f"evidence {digest_text} in {store_url} no longer matches its content address ({problem}); the store was edited"
    )


@dataclass(frozen=True)
class IngestEvent:
    """One act of ingesting a document; the newest event of a slot names the slot's current document."""

    event_id: str
    """`sha256:` over the document digest, time, source and actor: copies of a store keep it."""
    digest: str
    """The document ingested."""
    module: str
    """Its module."""
    revision: str
    """Its revision."""
    kind: str
    """Its kind."""
    scope: str
    """Its scope: (module, revision, kind, scope) is the slot."""
    source_path: str
    """Path of the artifact this time."""
    actor: str
    """Who ingested it."""
    ingested_at: str
    """When (UTC RFC 3339)."""

    @classmethod
    def of(cls, record: EvidenceRecord, actor: str) -> IngestEvent:
        """The event of ingesting `record` at its `ingested_at` from its `source_path`."""
        return cls(
            event_id=cls.id_of(record.digest, record.ingested_at, record.source_path, actor),
            digest=record.digest, module=record.module, revision=record.revision,
            kind=record.kind, scope=record.scope, source_path=record.source_path, actor=actor,
            ingested_at=record.ingested_at,
        )

    @staticmethod
    def id_of(digest_text: str, ingested_at: str, source_path: str, actor: str) -> str:
        """The id of an event with these columns: verify-chain recomputes it to find an edited event row."""
        return digest({"digest": digest_text, "ingested_at": ingested_at, "source_path": source_path, "actor": actor})


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
    record: DecisionRecord
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
        """Store a batch atomically, each record with an ingest event that makes it current for its slot.

        Returns, per record, True if the document is new, False if it was already present (it is
        current again all the same).
        """

    @abstractmethod
    def put_ingests(self, items: Sequence[tuple[IngestEvent, EvidenceRecord]], actor: str) -> list[bool]:
        """Store given ingest events (and their documents) atomically, skipping events already present.

        `store copy` replays a source's events through here in order, so each slot's current
        document is the same in the copy. Returns, per item, True if the document was new.
        """

    @abstractmethod
    def ingest_events(self) -> list[IngestEvent]:
        """Every ingest event, oldest first."""

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
        """The document of the newest ingest event per (kind, scope) for one module revision."""

    @abstractmethod
    def has_evidence(self, module: str, revision: str) -> bool:
        """Whether `latest_evidence(module, revision)` would return any document, without reading one."""

    @abstractmethod
    def latest_revision(self, module: str) -> str | None:
        """Revision of the newest ingest event of a module."""

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
    def audit_entries(
        self, since: str | None = None, module: str | None = None, action: str | None = None
    ) -> Iterator[AuditEntry]:
        """The audit chain in order (optionally only the entries of one module or one action, filtered in the store)."""

    @abstractmethod
    def delete_evidence(self, digests: Sequence[str], actor: str, reason: str) -> int:
        """Remove evidence and its ingest events (retention) and log it in the same transaction; returns how many."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""
