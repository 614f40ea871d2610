"""Verify an audit archive: both signatures, every side file against the hashed content, then replay.

The decision's signature covers the decision and, through the digests it records, the evidence
documents and the policy bundle. The side files (`manifest.json`, `evidence/index.json`,
`artifacts.sha256`) are cross-checked against that signed and hashed content wherever they repeat
it, and the signed manifest's member list covers the rest (source paths, ingest times). A failure
names the member and the field, because "archive invalid" sends an auditor hunting.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from readypolicy.audit.archive_chain import check_chain
from readypolicy.audit.export import (
    ARCHIVE_PREDICATE_TYPE,
    ARCHIVE_SCHEMA,
    ARTIFACTS,
    DECISION,
    EVIDENCE_DIR,
    EVIDENCE_INDEX,
    MANIFEST,
    MANIFEST_SIGNATURE,
    POLICY_DIR,
    SIGNATURE,
    AuditArchive,
    AuditArchiveError,
    artifacts_text,
    read_archive,
    store_facts,
)
from readypolicy.canonical import digest, raw_digest
from readypolicy.engines.interface import RegoEngine
from readypolicy.policy.bundle_read import read_bundle
from readypolicy.replay import ReplayResult, replay_decision
from readypolicy.safeio import UnsafeInputError, loads_json
from readypolicy.signing.attest import VerifiedDecision, differences, verify_decision
from readypolicy.signing.interface import BundleVerifier, SigningError
from readypolicy.store.open import open_store

_DOCUMENT_FACTS = {
    "module": ("module",), "revision": ("revision",), "kind": ("kind",), "scope": ("scope",),
    "schema_version": ("schema_version",), "raw_sha256": ("raw_sha256",), "collected_at": ("collected_at",),
    "producer_tool": ("producer", "tool"), "producer_version": ("producer", "version"),
}
"""Store facts of `evidence/index.json` that the hashed evidence document itself says, and where."""


@dataclass(frozen=True)
class ArchiveVerification:
    """An archive whose signatures verified, whose side files agree, and whose decision replayed."""

    verified: VerifiedDecision
    """The decision signature check."""
    replay: ReplayResult
    """The offline replay."""
    chain: str | None = None
    """What the packed audit-chain segment and its signed checkpoint prove, when the archive has them."""


def _signed_manifest(archive: AuditArchive, verifier: BundleVerifier, origin: str) -> dict[str, Any]:
    """The manifest, once its signature (same trust anchor as the decision's) covers its exact bytes.

    An edited manifest is named down to the field by comparing it with the signed one.
    """
    raw = archive.members.get(MANIFEST_SIGNATURE)
    if raw is None:
        raise AuditArchiveError(f"{origin}: {MANIFEST_SIGNATURE} is missing: the archive's member list is unsigned "
                                "(export it again; `audit export` signs it)")
    try:
        bundle = loads_json(raw, f"{origin}:{MANIFEST_SIGNATURE}")
        manifest = loads_json(archive.members[MANIFEST], f"{origin}:{MANIFEST}")
    except UnsafeInputError as exc:
        raise AuditArchiveError(str(exc)) from exc
    if not isinstance(bundle, dict):
        raise AuditArchiveError(f"{origin}:{MANIFEST_SIGNATURE}: not a JSON object")
    if not isinstance(manifest, dict):
        raise AuditArchiveError(f"{origin}:{MANIFEST}: not a JSON object")
    try:
        statement = verifier.verify_bundle(bundle).statement
    except SigningError as exc:
        raise AuditArchiveError(f"{origin}:{MANIFEST_SIGNATURE}: {exc}") from exc
    subject = statement["subject"][0] if isinstance(statement["subject"][0], dict) else {}
    if statement["predicateType"] != ARCHIVE_PREDICATE_TYPE or subject.get("name") != MANIFEST:
        raise AuditArchiveError(f"{origin}:{MANIFEST_SIGNATURE}: does not sign an audit archive manifest")
    changed = differences(statement.get("predicate"), manifest)
    if changed:
        raise AuditArchiveError(f"{origin}:{MANIFEST}: field {_listed(changed)} differs from the signed manifest")
    if "sha256:" + str((subject.get("digest") or {}).get("sha256")) != raw_digest(archive.members[MANIFEST]):
        raise AuditArchiveError(f"{origin}:{MANIFEST}: its bytes are not the signed ones (re-formatted)")
    return manifest


def _listed(paths: list[str]) -> str:
    return ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")


def _check_manifest(archive: AuditArchive, manifest: dict[str, Any], origin: str) -> None:
    """The signed manifest says what the signed decision says, and names these policy bytes."""
    record = archive.record
    policy_member, policy_sha = POLICY_DIR + archive.policy_name, raw_digest(archive.policy_bytes)
    signed_sha = (manifest.get("policy") or {}).get("sha256")
    if policy_sha != signed_sha:
        raise AuditArchiveError(f"{origin}:{policy_member}: member was edited: its sha256 is {policy_sha}, the "
                                f"signed {MANIFEST} field policy.sha256 says {signed_sha}")
    expected = {
        "schema": ARCHIVE_SCHEMA,
        "decision_id": record.get("decision_id"),
        "policy": {"file": policy_member, "sha256": policy_sha,
                   "digest": (record.get("policy") or {}).get("digest")},
        "evidence": [item.get("digest") for item in record.get("evidence") or [] if isinstance(item, dict)],
    }
    changed = differences(expected, {key: manifest.get(key) for key in expected})
    if changed:
        raise AuditArchiveError(f"{origin}: {_listed(changed)} of the signed {MANIFEST} does not match the "
                                f"signed decision and the members ({POLICY_DIR}, {DECISION})")


def _check_index(archive: AuditArchive, manifest: dict[str, Any], origin: str) -> None:
    """`evidence/index.json` is the signed manifest's `index`, each fact of which its evidence document confirms."""
    where = f"{origin}:{EVIDENCE_INDEX}"
    signed = {facts.get("digest"): facts for facts in manifest.get("index") or [] if isinstance(facts, dict)}
    recorded = {item.get("digest"): item for item in archive.record.get("evidence") or [] if isinstance(item, dict)}
    for record in archive.evidence:
        facts = store_facts(record)
        if record.digest not in signed or record.digest not in recorded:
            raise AuditArchiveError(f"{where}: entry {record.digest} is in neither the signed {MANIFEST} nor the "
                                    "signed decision (added)")
        changed = differences(signed[record.digest], facts)
        if changed:
            raise AuditArchiveError(f"{where}: entry {record.digest} field {_listed(changed)} differs from the "
                                    f"signed {MANIFEST}")
        for column in ("kind", "scope", "raw_sha256"):
            if facts[column] != recorded[record.digest].get(column):
                raise AuditArchiveError(f"{where}: entry {record.digest} field {column} is {facts[column]!r}, the "
                                        f"signed decision says {recorded[record.digest].get(column)!r}")
        for column, path in _DOCUMENT_FACTS.items():
            said = _at(record.document, path)
            if facts[column] != said:
                raise AuditArchiveError(f"{where}: entry {record.digest} field {column} is {facts[column]!r}, "
                                        f"its evidence document says {said!r}")
    missing = sorted(str(key) for key in set(recorded) - {record.digest for record in archive.evidence})
    if missing:
        raise AuditArchiveError(f"{where}: has no entry for {missing[0]}, which the signed decision names (removed)")


def _check_documents(archive: AuditArchive, origin: str) -> None:
    """Each evidence document still hashes to the digest it is filed under (and the decision records)."""
    for record in archive.evidence:
        actual = digest(record.document)
        if actual != record.digest:
            name = f"{EVIDENCE_DIR}{record.digest.removeprefix('sha256:')}.json"
            raise AuditArchiveError(f"{origin}:{name}: evidence document was edited: it hashes to {actual}, "
                                    f"not {record.digest}")


def _at(document: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = document
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _check_artifacts(archive: AuditArchive, origin: str) -> None:
    """`artifacts.sha256` is exactly the lines the (checked) index's raw sha256 and source paths give."""
    expected = artifacts_text(archive.evidence).decode().splitlines()
    actual = archive.members.get(ARTIFACTS, b"").decode("utf-8", errors="replace").splitlines()
    for number, (want, have) in enumerate(zip(expected, actual, strict=False), start=1):
        if want != have:
            raise AuditArchiveError(f"{origin}:{ARTIFACTS}: line {number} is {have!r}, but the signed {MANIFEST} "
                                    f"gives {want!r}")
    if len(expected) != len(actual):
        raise AuditArchiveError(f"{origin}:{ARTIFACTS}: has {len(actual)} lines, the signed {MANIFEST} gives "
                                f"{len(expected)}")


def _check_members(archive: AuditArchive, manifest: dict[str, Any], origin: str) -> None:
    """Every member but the manifest and its signature is listed in it, with the sha256 of its bytes."""
    listed = manifest.get("members")
    if not isinstance(listed, dict):
        raise AuditArchiveError(f"{origin}:{MANIFEST}: field members is missing")
    present = {name: data for name, data in archive.members.items() if name not in (MANIFEST, MANIFEST_SIGNATURE)}
    for name in sorted(set(present) | set(listed)):
        if name not in listed:
            raise AuditArchiveError(f"{origin}:{name}: member is not listed in the signed {MANIFEST} (added)")
        if name not in present:
            raise AuditArchiveError(f"{origin}:{name}: member listed in the signed {MANIFEST} is missing")
        actual = raw_digest(present[name])
        if actual != listed[name]:
            raise AuditArchiveError(f"{origin}:{name}: member was edited: its sha256 is {actual}, the signed "
                                    f"{MANIFEST} field members[{name!r}] says {listed[name]}")


def check_archive(archive: AuditArchive, verifier: BundleVerifier, origin: str) -> None:
    """Every side file agrees with signed content, field by field; then every member's bytes with the manifest.

    The field checks come first so that an edit is named where it was made; the member hashes are
    the catch-all for bytes no field check reads (formatting, the policy tarball, the trusted root).
    """
    manifest = _signed_manifest(archive, verifier, origin)
    _check_manifest(archive, manifest, origin)
    _check_documents(archive, origin)
    _check_index(archive, manifest, origin)
    _check_artifacts(archive, origin)
    _check_members(archive, manifest, origin)


def verify_archive(path: Path, verifier: BundleVerifier, engine: RegoEngine, cache_dir: Path,
                   require_timestamp: bool = False) -> ArchiveVerification:
    """Verify the signed decision and the signed manifest, cross-check the side files, then replay offline.

    `require_timestamp` holds the decision's signature (not the manifest's, which export never
    timestamps) to a time a third party vouched for, as `verify --require-timestamp` does.
    """
    archive = read_archive(path)
    verified = verify_decision(archive.record, archive.bundle, verifier, origin=f"{path}:{DECISION}")
    if require_timestamp and verified.verified.time_source is None:
        raise AuditArchiveError(f"{path}:{SIGNATURE}: a trusted timestamp is required, but the decision's signing time "
                                "is only the signer's claim (verify its RFC 3161 timestamp with --trusted-root naming "
                                "a TSA you pinned)")
    check_archive(archive, verifier, str(path))
    chain = check_chain(archive.members, archive.record, verifier, str(path))
    with tempfile.TemporaryDirectory(prefix="readypolicy-audit-") as work:
        workdir = Path(work)
        policy_file = workdir / Path(archive.policy_name).name
        policy_file.write_bytes(archive.policy_bytes)
        policy = read_bundle(policy_file)
        store = open_store(str(workdir / "store.db"), create=True)
        try:
            store.put_evidence(archive.evidence, actor="audit-verify")
            replay = replay_decision(archive.record, store, policy, engine, cache_dir)
        finally:
            store.close()
    return ArchiveVerification(verified=verified, replay=replay, chain=chain)
