"""Ingest: read artifacts, normalize, validate, and store them as one batch.

Everything is read and validated before the store is touched, and the batch is written in one
transaction, so a bad file anywhere in the batch leaves the store exactly as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from readypolicy.canonical import canonical_bytes, digest, parse_rfc3339, rfc3339, utc_now
from readypolicy.evidence import schemas
from readypolicy.evidence.formats.docs_listing import directory_listing
from readypolicy.evidence.interface import Artifact, Normalized, NormalizeError
from readypolicy.evidence.registry import detect
from readypolicy.safeio import DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH, read_limited
from readypolicy.store.interface import EvidenceRecord, Store

SCHEMA_VERSION = 1
FUTURE_TOLERANCE = timedelta(minutes=5)
"""Evidence stamped further ahead than this is refused: a skewed CI clock must not pre-date approvals."""


@dataclass(frozen=True)
class IngestOptions:
    """How to read and label a batch of artifacts."""

    module: str | None
    """Module the evidence is for; None means: take it from a lane manifest in the batch."""
    revision: str
    """Revision of the module the evidence belongs to."""
    kind: str | None = None
    """Force an evidence kind (detection still checks the artifact really is one)."""
    fmt: str | None = None
    """Force an exact artifact format."""
    scope: str | None = None
    """Slot within the kind (`unit`, `integration`, ...); defaults to the normalizer's choice."""
    max_bytes: int = DEFAULT_MAX_BYTES
    """Size limit per artifact."""
    max_depth: int = DEFAULT_MAX_DEPTH
    """Nesting limit for JSON/XML."""


@dataclass(frozen=True)
class IngestResult:
    """What happened to one artifact."""

    record: EvidenceRecord
    """The stored (or already present) evidence record."""
    created: bool
    """False when the same document was already in the store."""
    warnings: tuple[str, ...]
    """Non-fatal remarks from the normalizer."""


def normalize_path(path: Path, options: IngestOptions) -> tuple[Artifact, Normalized]:
    """Read one artifact and normalize it (no store access); a directory is read as its file listing."""
    raw = directory_listing(path, options.max_bytes) if path.is_dir() else read_limited(path, options.max_bytes)
    artifact = Artifact(path=path, raw=raw, max_depth=options.max_depth)
    normalizer = detect(artifact, kind=options.kind, fmt=options.fmt)
    normalized = normalizer.normalize(artifact)
    schemas.validate(normalized.kind, SCHEMA_VERSION, normalized.data, str(path))
    try:
        canonical_bytes(normalized.data)  # evidence is content-addressed: refuse values RFC 8785 cannot encode
    except ValueError as exc:
        raise NormalizeError(f"{path}: {normalized.kind} evidence holds a value canonical JSON cannot encode: {exc}") from exc
    return artifact, normalized


def _module_from_batch(normalized: Sequence[tuple[Artifact, Normalized]]) -> str:
    for _artifact, item in normalized:
        if item.kind == "manifest":
            return str(item.data["module"])
    raise NormalizeError("no --module given and no lane manifest in the batch names one")


def build_record(
    artifact: Artifact, item: Normalized, module: str, revision: str, scope: str | None, ingested_at: str
) -> EvidenceRecord:
    """Wrap normalized data in the evidence envelope and content-address it."""
    collected_at = item.collected_at
    if collected_at is not None:
        moment = parse_rfc3339(collected_at)
        if moment - utc_now() > FUTURE_TOLERANCE:
            raise NormalizeError(
                f"{artifact.path}: artifact is dated {collected_at}, in the future of this clock; refusing it"
            )
        collected_at = rfc3339(moment)
    chosen_scope = scope or str(item.data.get("scope") or "default")
    document = {
        "schema": f"https://readypolicy.dev/evidence/{item.kind}/v{SCHEMA_VERSION}",
        "kind": item.kind,
        "schema_version": SCHEMA_VERSION,
        "format": item.format,
        "module": module,
        "revision": revision,
        "scope": chosen_scope,
        "producer": {"tool": item.producer.tool, "version": item.producer.version},
        "collected_at": collected_at,
        "raw_sha256": artifact.sha256,
        "data": item.data,
    }
    schemas.validate(schemas.ENVELOPE, SCHEMA_VERSION, document, str(artifact.path))
    return EvidenceRecord(
        digest=digest(document), module=module, revision=revision, kind=item.kind, scope=chosen_scope,
        schema_version=SCHEMA_VERSION, document=document, raw_sha256=artifact.sha256,
        source_path=str(artifact.path), producer_tool=item.producer.tool,
        producer_version=item.producer.version, collected_at=collected_at, ingested_at=ingested_at,
    )


def ingest(store: Store, paths: Sequence[Path], options: IngestOptions, actor: str) -> list[IngestResult]:
    """Normalize every path, then store the whole batch in one transaction."""
    normalized = [normalize_path(path, options) for path in paths]
    module = options.module or _module_from_batch(normalized)
    for artifact, item in normalized:
        if item.kind == "manifest" and item.data["module"] != module:
            raise NormalizeError(f"{artifact.path}: manifest is for module {item.data['module']!r}, not {module!r}")
    ingested_at = rfc3339(utc_now())
    records = [
        build_record(artifact, item, module, options.revision, options.scope, ingested_at)
        for artifact, item in normalized
    ]
    created = store.put_evidence(records, actor)
    return [
        IngestResult(record=rec, created=new, warnings=item.warnings)
        for rec, new, (_a, item) in zip(records, created, normalized, strict=True)
    ]
