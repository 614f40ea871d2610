"""Audit archives: one signed decision with everything needed to check it offline.

An auditor months later may have neither the CI nor the store. The archive holds the decision, its
signature bundle, every evidence document it names (canonical JSON, so each file's sha256 is the
evidence digest), the store facts about each document, a `sha256sum`-style list of the raw
artifacts, and the policy bundle with the recorded digest. `verify_archive` checks the signature
and replays the decision from the archive alone: a throwaway SQLite store is filled from it and the
real OPA decides again. Archives are byte-reproducible (sorted members, zero times and owners).

Reading an archive trusts nothing in it: members are read into memory through the same checks as
policy bundles (no absolute paths, `..`, links or oversized members), never extracted, and any
member the format does not define is refused.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from readypolicy.audit.trail import AuditError
from readypolicy.canonical import canonical_bytes, raw_digest
from readypolicy.engines.interface import RegoEngine
from readypolicy.policy.bundle_build import bundle_bytes
from readypolicy.policy.bundle_read import read_bundle, read_members
from readypolicy.policy.interface import PolicySet
from readypolicy.replay import ReplayResult, recorded_evidence, replay_decision
from readypolicy.safeio import UnsafeInputError, loads_json
from readypolicy.signing.attest import VerifiedDecision, differences, verify_decision
from readypolicy.signing.bundle import parse_bundle
from readypolicy.signing.dsse import decode_statement, open_envelope
from readypolicy.signing.interface import BundleVerifier
from readypolicy.signing.intoto import expected_predicate
from readypolicy.store.interface import EvidenceRecord, Store
from readypolicy.store.open import open_store
from readypolicy.tarballs import deterministic_targz

ARCHIVE_SCHEMA = "https://readypolicy.dev/audit-archive/v1"
MANIFEST = "manifest.json"
DECISION = "decision.json"
SIGNATURE = "decision.sigstore.json"
EVIDENCE_INDEX = "evidence/index.json"
ARTIFACTS = "artifacts.sha256"
EVIDENCE_DIR = "evidence/"
POLICY_DIR = "policy/"


class AuditArchiveError(AuditError):
    """An audit archive is malformed, unsafe, incomplete or inconsistent."""


@dataclass(frozen=True)
class AuditArchive:
    """The parsed content of an audit archive (nothing in it verified yet)."""

    record: dict[str, Any]
    """The decision record."""
    bundle: dict[str, Any]
    """Its Sigstore signature bundle."""
    evidence: tuple[EvidenceRecord, ...]
    """The evidence documents with their store facts."""
    policy_name: str
    """File name of the policy bundle inside `policy/`."""
    policy_bytes: bytes
    """The policy bundle tarball."""


@dataclass(frozen=True)
class ArchiveVerification:
    """An archive whose signature verified and whose decision replayed."""

    verified: VerifiedDecision
    """The signature check."""
    replay: ReplayResult
    """The offline replay."""


def check_bundle_signs(record: dict[str, Any], bundle: dict[str, Any], origin: str) -> None:
    """Refuse a bundle whose (not yet verified) statement is about another decision.

    Export cannot verify the signature without the auditor's trust anchor, but it can refuse to
    pack a bundle that was plainly made for a different decision (an overwritten sign-dir file).
    """
    parse_bundle(bundle, origin)
    _, payload, _ = open_envelope(bundle.get("dsseEnvelope"), origin)
    statement = decode_statement(payload, origin)
    changed = differences(expected_predicate(record, statement["predicateType"]), statement.get("predicate"))
    if changed:
        signed = (statement.get("predicate") or {}).get("decision_id", "another decision")
        raise AuditArchiveError(f"{origin}: signs {signed}, not decision {record.get('decision_id')}")


def policy_tarball(policy: PolicySet) -> tuple[str, bytes]:
    """The policy bundle to pack: the recorded bundle file, or one rebuilt reproducibly from the tree."""
    name = f"{policy.pack}-{policy.version}.tar.gz"
    if policy.source == "bundle":
        return name, policy.origin.read_bytes()
    return name, bundle_bytes(policy)


def _store_facts(record: EvidenceRecord) -> dict[str, Any]:
    facts = asdict(record)
    del facts["document"]
    return facts


def _artifact_line(record: EvidenceRecord) -> str:
    path = record.source_path.replace("\\", "\\\\").replace("\n", "\\n")
    return f"{record.raw_sha256.removeprefix('sha256:')}  {path}"


def export_archive(
    record: dict[str, Any], bundle: dict[str, Any], bundle_origin: str, store: Store, policy: PolicySet
) -> bytes:
    """The deterministic .tar.gz audit archive of one decision."""
    check_bundle_signs(record, bundle, bundle_origin)
    if policy.digest != (record.get("policy") or {}).get("digest"):
        raise AuditArchiveError(f"policy {policy.origin} has digest {policy.digest}, not the recorded one")
    evidence = recorded_evidence(record, store)
    policy_name, policy_data = policy_tarball(policy)
    members = {
        MANIFEST: _json({
            "schema": ARCHIVE_SCHEMA,
            "decision_id": record.get("decision_id"),
            "policy": {"file": POLICY_DIR + policy_name, "sha256": raw_digest(policy_data), "digest": policy.digest},
            "evidence": [item.digest for item in evidence],
        }),
        DECISION: _json(record),
        SIGNATURE: _json(bundle),
        EVIDENCE_INDEX: _json(sorted((_store_facts(e) for e in evidence), key=lambda f: f["digest"])),
        ARTIFACTS: "".join(sorted(_artifact_line(e) + "\n" for e in evidence)).encode(),
        POLICY_DIR + policy_name: policy_data,
    }
    for item in evidence:
        members[f"{EVIDENCE_DIR}{item.digest.removeprefix('sha256:')}.json"] = canonical_bytes(item.document)
    return deterministic_targz(members)


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _parse(members: dict[str, bytes], name: str, origin: Path) -> Any:
    if name not in members:
        raise AuditArchiveError(f"{origin}: not a readypolicy audit archive: {name} is missing")
    try:
        return loads_json(members[name], f"{origin}:{name}")
    except UnsafeInputError as exc:
        raise AuditArchiveError(str(exc)) from exc


def read_archive(path: Path) -> AuditArchive:
    """Parse an archive in memory, refusing unsafe members and anything the format does not define."""
    members = read_members(path, root_slash=False)
    manifest = _parse(members, MANIFEST, path)
    if not isinstance(manifest, dict) or manifest.get("schema") != ARCHIVE_SCHEMA:
        raise AuditArchiveError(f"{path}: not a readypolicy audit archive (expected schema {ARCHIVE_SCHEMA})")
    record, bundle, index = (_parse(members, name, path) for name in (DECISION, SIGNATURE, EVIDENCE_INDEX))
    if not isinstance(record, dict) or not isinstance(bundle, dict) or not isinstance(index, list):
        raise AuditArchiveError(f"{path}: decision, signature or evidence index has the wrong JSON type")
    evidence = tuple(_evidence(members, facts, path) for facts in index)
    policies = [name for name in members if name.startswith(POLICY_DIR)]
    if len(policies) != 1:
        raise AuditArchiveError(f"{path}: expected one policy bundle under {POLICY_DIR}, found {len(policies)}")
    known = {MANIFEST, DECISION, SIGNATURE, EVIDENCE_INDEX, ARTIFACTS, policies[0]}
    known.update(f"{EVIDENCE_DIR}{e.digest.removeprefix('sha256:')}.json" for e in evidence)
    unexpected = sorted(set(members) - known)
    if unexpected:
        raise AuditArchiveError(f"{path}: unexpected member {unexpected[0]!r}")
    return AuditArchive(
        record=record, bundle=bundle, evidence=evidence,
        policy_name=policies[0].removeprefix(POLICY_DIR), policy_bytes=members[policies[0]],
    )


def _evidence(members: dict[str, bytes], facts: Any, path: Path) -> EvidenceRecord:
    """An evidence record from its index entry and document; replay re-checks the digest."""
    if not isinstance(facts, dict) or not isinstance(facts.get("digest"), str):
        raise AuditArchiveError(f"{path}: {EVIDENCE_INDEX} has an entry without a digest")
    name = f"{EVIDENCE_DIR}{facts['digest'].removeprefix('sha256:')}.json"
    document = _parse(members, name, path)
    try:
        return EvidenceRecord(**{**facts, "document": document})
    except TypeError as exc:
        raise AuditArchiveError(f"{path}: {EVIDENCE_INDEX} entry {facts['digest']} is malformed: {exc}") from exc


def verify_archive(path: Path, verifier: BundleVerifier, engine: RegoEngine, cache_dir: Path) -> ArchiveVerification:
    """Verify the signed decision, then replay it from the archive's evidence and policy only."""
    archive = read_archive(path)
    verified = verify_decision(archive.record, archive.bundle, verifier, origin=f"{path}:{DECISION}")
    with tempfile.TemporaryDirectory(prefix="readypolicy-audit-") as work:
        workdir = Path(work)
        policy_file = workdir / Path(archive.policy_name).name
        policy_file.write_bytes(archive.policy_bytes)
        policy = read_bundle(policy_file)
        store = open_store(str(workdir / "store.db"))
        try:
            store.put_evidence(archive.evidence, actor="audit-verify")
            replay = replay_decision(archive.record, store, policy, engine, cache_dir)
        finally:
            store.close()
    return ArchiveVerification(verified=verified, replay=replay)
