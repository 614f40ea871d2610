"""Audit archives: one signed decision with everything needed to check it offline.

An auditor months later may have neither the CI nor the store. The archive holds the decision, its
signature bundle, every evidence document it names (canonical JSON, so each file's sha256 is the
evidence digest), the store facts about each document, a `sha256sum`-style list of the raw
artifacts, the policy bundle with the recorded digest, and a manifest listing the sha256 of every
member, signed (`manifest.sigstore.json`). `archive_verify.verify_archive` checks both signatures,
cross-checks every side file against the hashed content, and replays the decision from the archive
alone. Every member but the manifest signature is reproducible (sorted members, zero times and owners).

Reading an archive trusts nothing in it: members are read into memory through the same checks as
policy bundles (no absolute paths, `..`, links or oversized members), never extracted, and any
member the format does not define is refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from readypolicy.audit.archive_chain import CHAIN, CHECKPOINT, chain_members
from readypolicy.audit.trail import AuditError
from readypolicy.canonical import canonical_bytes, raw_digest
from readypolicy.policy.bundle_build import bundle_bytes
from readypolicy.policy.bundle_read import read_members
from readypolicy.policy.interface import PolicySet
from readypolicy.replay import recorded_evidence
from readypolicy.safeio import UnsafeInputError, loads_json
from readypolicy.signing.attest import differences
from readypolicy.signing.bundle import parse_bundle
from readypolicy.signing.dsse import STATEMENT_TYPE, decode_statement, open_envelope
from readypolicy.signing.interface import Signer
from readypolicy.signing.intoto import expected_predicate, sha256_hex
from readypolicy.signing.timestamp import bundle_timestamps, load_trusted_root, verify_timestamps
from readypolicy.store.interface import EvidenceRecord, Store
from readypolicy.tarballs import deterministic_targz

ARCHIVE_SCHEMA = "https://readypolicy.dev/audit-archive/v1"
MANIFEST = "manifest.json"
DECISION = "decision.json"
SIGNATURE = "decision.sigstore.json"
EVIDENCE_INDEX = "evidence/index.json"
ARTIFACTS = "artifacts.sha256"
MANIFEST_SIGNATURE = "manifest.sigstore.json"
"""Sigstore bundle over `manifest.json`, which lists the sha256 of every other member: the archive's own signature."""
ARCHIVE_PREDICATE_TYPE = "https://readypolicy.dev/attestation/audit-archive/v1"
TRUSTED_ROOT = "trusted_root.json"
"""Sigstore trusted root naming the TSA of the bundle's RFC 3161 timestamp (only when it has one)."""
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
    trusted_root: bytes | None = None
    """The trusted root that checks the bundle's timestamp, as the exporter packed it (not pinned)."""
    members: dict[str, bytes] = field(default_factory=dict)
    """Every member as read, by name: what the signed manifest's `members` list is checked against."""


def check_bundle_signs(record: Mapping[str, Any], bundle: dict[str, Any], origin: str) -> None:
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


def store_facts(record: EvidenceRecord) -> dict[str, Any]:
    facts = asdict(record)
    del facts["document"]
    return facts


def artifact_line(record: EvidenceRecord) -> str:
    path = record.source_path.replace("\\", "\\\\").replace("\n", "\\n")
    return f"{record.raw_sha256.removeprefix('sha256:')}  {path}"


def artifacts_text(evidence: Sequence[EvidenceRecord]) -> bytes:
    """`artifacts.sha256`: one `sha256sum` line per raw artifact, sorted."""
    return "".join(sorted(artifact_line(e) + "\n" for e in evidence)).encode()


def check_trusted_root(bundle: dict[str, Any], bundle_origin: str, trusted_root: Path | None) -> bytes | None:
    """The trusted root to pack: required when the bundle has an RFC 3161 timestamp, and it must check it.

    An archive is what an auditor checks offline; a timestamp it carries without its TSA's root could
    only be shown as the signer's claim. The timestamp is verified here (no key is needed for that) so
    a root for another TSA is refused at export, not discovered by the auditor.
    """
    if not bundle_timestamps(bundle):
        return None
    if trusted_root is None:
        raise AuditArchiveError(f"{bundle_origin} has an RFC 3161 timestamp: pass --trusted-root with its timestamp "
                                "authority so the archive carries what checks it")
    _, _, signature = open_envelope(bundle.get("dsseEnvelope"), bundle_origin)
    verify_timestamps(bundle, signature, load_trusted_root(trusted_root), bundle_origin)
    return trusted_root.read_bytes()


def manifest_statement(manifest_bytes: bytes) -> dict[str, Any]:
    """in-toto Statement v1 over `manifest.json`: subject its sha256, predicate the manifest itself."""
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": MANIFEST, "digest": {"sha256": sha256_hex(raw_digest(manifest_bytes), MANIFEST)}}],
        "predicateType": ARCHIVE_PREDICATE_TYPE,
        "predicate": loads_json(manifest_bytes, MANIFEST),
    }


def export_archive(
    record: Mapping[str, Any], bundle: dict[str, Any], bundle_origin: str, store: Store, policy: PolicySet,
    signer: Signer, trusted_root: Path | None = None, checkpoint: tuple[dict[str, Any], str] | None = None,
) -> bytes:
    """The .tar.gz audit archive of one decision, its manifest (sha256 of every member) signed by `signer`.

    The decision's signature covers the decision, and through its digests the evidence and policy;
    the side files (store facts, artifact paths, the manifest) are the exporter's word unless
    signed too, so the manifest lists every member's sha256 and is signed. Everything but that
    signature is reproducible: exporting twice gives the same members.
    """
    check_bundle_signs(record, bundle, bundle_origin)
    root = check_trusted_root(bundle, bundle_origin, trusted_root)
    if policy.digest != (record.get("policy") or {}).get("digest"):
        raise AuditArchiveError(f"policy {policy.origin} has digest {policy.digest}, not the recorded one")
    evidence = recorded_evidence(record, store)
    policy_name, policy_data = policy_tarball(policy)
    index = sorted((store_facts(e) for e in evidence), key=lambda f: f["digest"])
    members = {
        DECISION: _json(record),
        SIGNATURE: _json(bundle),
        EVIDENCE_INDEX: _json(index),
        ARTIFACTS: artifacts_text(evidence),
        POLICY_DIR + policy_name: policy_data,
    }
    for item in evidence:
        members[f"{EVIDENCE_DIR}{item.digest.removeprefix('sha256:')}.json"] = canonical_bytes(item.document)
    if root is not None:
        members[TRUSTED_ROOT] = root
    if checkpoint is not None:
        members.update(chain_members(record, store, *checkpoint))
    manifest = _json({
        "schema": ARCHIVE_SCHEMA,
        "decision_id": record.get("decision_id"),
        "policy": {"file": POLICY_DIR + policy_name, "sha256": raw_digest(policy_data), "digest": policy.digest},
        "evidence": [item.digest for item in evidence],
        "index": index,
        "members": {name: raw_digest(data) for name, data in sorted(members.items())},
    })
    members[MANIFEST] = manifest
    members[MANIFEST_SIGNATURE] = _json(signer.sign_statement(manifest_statement(manifest)))
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
    known = {MANIFEST, MANIFEST_SIGNATURE, DECISION, SIGNATURE, EVIDENCE_INDEX, ARTIFACTS, TRUSTED_ROOT, CHAIN, CHECKPOINT,
             policies[0]}
    known.update(f"{EVIDENCE_DIR}{e.digest.removeprefix('sha256:')}.json" for e in evidence)
    unexpected = sorted(set(members) - known)
    if unexpected:
        raise AuditArchiveError(f"{path}: unexpected member {unexpected[0]!r}")
    return AuditArchive(
        record=record, bundle=bundle, evidence=evidence,
        policy_name=policies[0].removeprefix(POLICY_DIR), policy_bytes=members[policies[0]],
        trusted_root=members.get(TRUSTED_ROOT), members=members,
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
