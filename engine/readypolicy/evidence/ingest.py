"""Ingest: read artifacts, normalize, validate, and store them as one batch.

Everything is read and validated before the store is touched, and the batch is written in one
transaction, so a bad file anywhere in the batch leaves the store exactly as it was.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from pathlib import Path

from readypolicy.canonical import digest, parse_rfc3339, rfc3339, utc_now
from readypolicy.evidence import schemas
from readypolicy.evidence.formats.docs_listing import directory_listing
from readypolicy.evidence.interface import Artifact, Normalized, NormalizeError
from readypolicy.evidence.registry import detect
from readypolicy.identifiers import check_identifier
from readypolicy.records import EvidenceDocument
from readypolicy.safeio import DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH, UnsafeInputError, read_limited
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
    fallback_scope: str | None = None
    """Slot used only when neither `scope` nor the normalizer picks one (the folder a report was found in)."""
    max_bytes: int = DEFAULT_MAX_BYTES
    """Size limit per artifact."""
    max_depth: int = DEFAULT_MAX_DEPTH
    """Nesting limit for JSON/XML."""
    follow_symlinks: bool = False
    """Read a path that is, or passes through, a symlink resolving outside the working tree."""


@dataclass(frozen=True)
class IngestResult:
    """What happened to one artifact."""

    record: EvidenceRecord
    """The stored (or already present) evidence record."""
    created: bool
    """False when the same document was already in the store."""
    warnings: tuple[str, ...]
    """Non-fatal remarks from the normalizer."""


@dataclass
class WorkingTree:
    """The folder symlinks must stay inside (the current directory), and the folders of a batch resolved so far.

    A batch resolves each folder once, and the tree only if some path leads elsewhere: a file that is
    not itself a symlink resolves to its folder's resolution plus its name, so checking a folder of
    reports costs one `lstat` a file.
    Made per batch, so a long-lived process never trusts a folder resolved before the batch began.
    """

    cwd: str = field(default_factory=os.getcwd)
    """The current directory when the batch began."""
    folders: dict[str, str] = field(default_factory=dict)
    """Absolute (lexical) folder → its resolution."""

    @cached_property
    def root(self) -> Path:
        """The working tree (`cwd`), resolved when a path first leads somewhere else: most batches hold no symlink."""
        return Path(self.cwd).resolve()

    def resolve(self, path: Path) -> str:
        """What `str(path.resolve())` is, reusing the resolution of the file's folder."""
        folder, name = os.path.split(os.path.abspath(path))
        if ".." in path.parts or not name or os.path.islink(path):
            return str(path.resolve())  # `..` after a symlink is physical: only the full resolution is right
        resolved = self.folders.get(folder)
        if resolved is None:
            resolved = self.folders[folder] = os.path.realpath(folder)
        return os.path.join(resolved, name)


def normalize_path(path: Path, options: IngestOptions, tree: WorkingTree | None = None) -> tuple[Artifact, Normalized]:
    """Read one artifact and normalize it (no store access); a directory is read as its file listing.

    `tree` is the batch's working tree (by default, a new one for the current directory). The data
    is validated against its kind's schema here; whether canonical JSON can encode it is checked
    when `build_record` computes the document's digest, which encodes it anyway.
    """
    if not options.follow_symlinks:
        refuse_escaping_symlink(path, tree)
    raw = directory_listing(path, options.max_bytes) if path.is_dir() else read_limited(path, options.max_bytes)
    artifact = Artifact(path=path, raw=raw, max_depth=options.max_depth, max_bytes=options.max_bytes)
    normalizer = detect(artifact, kind=options.kind, fmt=options.fmt)
    normalized = normalizer.normalize(artifact)
    schemas.validate(normalized.kind, SCHEMA_VERSION, normalized.data, str(path))
    return artifact, normalized


def refuse_escaping_symlink(path: Path, tree: WorkingTree | None = None) -> None:
    """Refuse a path whose symlinks lead outside the working tree (by default, the current directory).

    A checked-out repository or a downloaded artifact can plant `coverage.json -> ~/.ssh/id_rsa`;
    ingesting it would store (and with a forced format, try to parse) a file the CI job never
    meant to publish. A path with no symlink on the way is read where it is, inside the tree or not.
    """
    tree = tree or WorkingTree()
    resolved = tree.resolve(path)
    if resolved != os.path.abspath(path) and not Path(resolved).is_relative_to(tree.root):
        raise UnsafeInputError(
            f"{path}: a symlink to {resolved}, outside the working tree {tree.root}; "
            "refusing to read it (pass --follow-symlinks to allow it)"
        )


def _module_from_batch(normalized: Sequence[tuple[Artifact, Normalized]]) -> str:
    for _artifact, item in normalized:
        if item.kind == "manifest" and item.module is not None:
            return item.module
    raise NormalizeError("no --module given and no lane manifest in the batch names one")


def _slot_scope(artifact: Artifact, item: Normalized, scope: str | None) -> str | None:
    """The slot the document names for itself (a chaos journal's title, a scanner's name), else the given `scope`.

    A normalizer that reads the scope from the content (chaos journals, operations records, each
    scanner and linter, latency samples, telemetry sources) keys its kind by it: one slot per
    experiment, record type or tool, each judged. A `--scope` other than that key would put
    different experiments in one slot, so the next ingest with the same `--scope` silently replaces
    a deviated run with a passing run of another experiment. It is refused, not overridden or merged:
    the key is what policies read, and a flag ignored in silence would surprise as much as a slot
    the checks never look in. Giving the content's own key is harmless and accepted.
    """
    own = item.data.get("scope")
    if own is None:
        return scope
    if scope and scope != own:  # an empty scope is no scope, as it always was
        raise NormalizeError(
            f"{artifact.path}: {item.kind} evidence takes its scope {own!r} from its content; scope {scope!r} is"
            f" refused, as another {item.kind} document given it would replace this one (ingest it without a scope)"
        )
    return str(own)


def build_record(
    artifact: Artifact, item: Normalized, module: str, revision: str, scope: str | None, ingested_at: str,
    fallback_scope: str | None = None,
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
    chosen_scope = _slot_scope(artifact, item, scope) or fallback_scope or "default"
    for what, value in (("module", module), ("revision", revision), ("scope", chosen_scope)):
        check_identifier(what, value, str(artifact.path))
    document: EvidenceDocument = {
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
    try:
        address = digest(document)  # evidence is content-addressed: refuse values RFC 8785 cannot encode
    except ValueError as exc:  # its message quotes the value: name only the kind of problem
        raise NormalizeError(
            f"{artifact.path}: {item.kind} evidence holds a value canonical JSON cannot encode ({type(exc).__name__})"
        ) from exc
    return EvidenceRecord(
        digest=address, module=module, revision=revision, kind=item.kind, scope=chosen_scope,
        schema_version=SCHEMA_VERSION, document=document, raw_sha256=artifact.sha256,
        source_path=str(artifact.path), producer_tool=item.producer.tool,
        producer_version=item.producer.version, collected_at=collected_at, ingested_at=ingested_at,
    )


def check_slots(records: Sequence[EvidenceRecord]) -> None:
    """Refuse a batch that holds two different documents for one slot, or a manifest outside its one slot.

    A slot (module, revision, kind, scope) has one current document. Two in one batch would leave
    whichever came last, silently dropping the other (a failing run hidden behind a passing one),
    so the batch is refused naming both files. The manifest defines the module; a second, scoped
    manifest would be a second definition, so it has exactly the default slot.
    """
    seen: dict[tuple[str, str, str, str], EvidenceRecord] = {}
    for record in records:
        if record.kind == "manifest" and record.scope != "default":
            raise NormalizeError(
                f"{record.source_path}: a lane manifest has exactly one slot; scope {record.scope!r} is refused"
                " (ingest it without --scope)"
            )
        slot = (record.module, record.revision, record.kind, record.scope)
        other = seen.setdefault(slot, record)
        if other.digest != record.digest:
            raise NormalizeError(
                f"{other.source_path} and {record.source_path} are both {record.kind}/{record.scope} evidence for"
                f" {record.module}@{record.revision}: one batch holds one document per slot"
                " (give each its own --scope in separate ingests)"
            )


def ingest(
    store: Store, paths: Sequence[Path], options: IngestOptions, actor: str,
    per_path: Sequence[IngestOptions] | None = None,
) -> list[IngestResult]:
    """Normalize every path, then store the whole batch in one transaction.

    `per_path` gives each path its own kind, format and scope (a contract entry, a walked folder);
    module and revision always come from `options`, so one batch is about one module revision.
    """
    readers = list(per_path) if per_path is not None else [options] * len(paths)
    tree = WorkingTree()
    normalized = [normalize_path(path, reader, tree) for path, reader in zip(paths, readers, strict=True)]
    module = options.module or _module_from_batch(normalized)
    for artifact, item in normalized:
        if item.module is not None and item.module != module:  # the stated name is document text: not echoed
            raise NormalizeError(f"{artifact.path}: the {item.kind} report's 'module' field names another module "
                                 f"than {module!r}")
    ingested_at = rfc3339(utc_now())
    records = [
        build_record(artifact, item, module, options.revision, reader.scope, ingested_at, reader.fallback_scope)
        for (artifact, item), reader in zip(normalized, readers, strict=True)
    ]
    check_slots(records)
    created = store.put_evidence(records, actor)
    return [
        IngestResult(record=rec, created=new, warnings=item.warnings)
        for rec, new, (_a, item) in zip(records, created, normalized, strict=True)
    ]
