"""Signed checkpoints of the audit chain head.

A hash chain shows an edit, a deletion or a reordering, but not a rewrite: someone with write
access to the database can recompute every hash after the entry they changed, or drop the newest
entries. A checkpoint signs the head (sequence number and entry hash) with the same signer as the
decisions; kept outside the store, it pins the chain up to that point, so a later rewrite or
truncation no longer matches it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from readypolicy.audit.trail import AuditError, checked_chain
from readypolicy.signing.dsse import STATEMENT_TYPE
from readypolicy.signing.interface import BundleVerifier, Signer
from readypolicy.signing.intoto import sha256_hex
from readypolicy.store.interface import AuditEntry, Store

CHECKPOINT_PREDICATE_TYPE = "https://readypolicy.dev/attestation/audit-checkpoint/v1"
SUBJECT_NAME = "readypolicy-audit-chain"


@dataclass(frozen=True)
class CheckpointResult:
    """A checkpoint that verified against the signer and still matches the chain."""

    seq: int
    """Sequence number of the checkpointed head."""
    entry_hash: str
    """Its entry hash."""
    signer: str
    """Who signed the checkpoint."""
    checkpointed_at: str
    """When the checkpoint was made (the signer's claim)."""
    entries_since: int
    """Entries appended after the checkpointed head."""


def checkpoint_statement(head: AuditEntry, store_url: str, now: str) -> dict[str, Any]:
    """in-toto Statement v1 over the chain head: subject digest = the head's entry hash."""
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": SUBJECT_NAME, "digest": {"sha256": sha256_hex(head.entry_hash, "chain head")}}],
        "predicateType": CHECKPOINT_PREDICATE_TYPE,
        "predicate": {
            "seq": head.seq,
            "entry_hash": head.entry_hash,
            "entry_at": head.at,
            "store": store_url,
            "checkpointed_at": now,
        },
    }


def sign_checkpoint(store: Store, signer: Signer, now: str) -> tuple[AuditEntry, dict[str, Any]]:
    """Check the whole chain, then sign its head; returns the head and the Sigstore bundle."""
    entries = checked_chain(store)
    if not entries:
        raise AuditError(f"{store.url}: the audit chain is empty; nothing to checkpoint")
    head = entries[-1]
    return head, signer.sign_statement(checkpoint_statement(head, store.url, now))


@dataclass(frozen=True)
class SignedHead:
    """The chain head a verified checkpoint vouches for."""

    seq: int
    """Sequence number of the checkpointed entry."""
    entry_hash: str
    """Its entry hash."""
    signer: str
    """Who signed the checkpoint."""
    checkpointed_at: str
    """When the checkpoint was made (the signer's claim)."""


def signed_head(bundle: dict[str, Any], verifier: BundleVerifier, origin: str) -> SignedHead:
    """Verify a checkpoint's signature and shape; the head it signs (nothing compared with a chain yet)."""
    verified = verifier.verify_bundle(bundle)
    statement = verified.statement
    if statement["predicateType"] != CHECKPOINT_PREDICATE_TYPE:
        raise AuditError(f"{origin}: predicateType {statement['predicateType']!r} is not an audit checkpoint")
    predicate = statement.get("predicate") or {}
    seq, entry_hash = predicate.get("seq"), predicate.get("entry_hash")
    subject = statement["subject"][0] if isinstance(statement["subject"][0], dict) else {}
    if not isinstance(seq, int) or (subject.get("digest") or {}).get("sha256") != sha256_hex(entry_hash, origin):
        raise AuditError(f"{origin}: checkpoint predicate and subject do not name the same chain head")
    return SignedHead(seq, str(entry_hash), verified.signer, str(predicate.get("checkpointed_at")))


def verify_checkpoint(bundle: dict[str, Any], verifier: BundleVerifier, store: Store, origin: str) -> CheckpointResult:
    """Verify the checkpoint signature, the chain, and that the chain still has the signed head."""
    head = signed_head(bundle, verifier, origin)
    seq, entry_hash = head.seq, head.entry_hash
    entries = checked_chain(store)
    if seq < 1 or seq > len(entries):
        raise AuditError(
            f"{origin}: checkpoint is of entry {seq}, but {store.url} has only {len(entries)} entries "
            "(the chain was truncated)"
        )
    actual = entries[seq - 1].entry_hash
    if actual != entry_hash:
        raise AuditError(
            f"{origin}: entry {seq} of {store.url} now hashes to {actual}, not the checkpointed {entry_hash} "
            "(the chain was rewritten up to that entry)"
        )
    return CheckpointResult(
        seq=seq, entry_hash=entry_hash, signer=head.signer, checkpointed_at=head.checkpointed_at,
        entries_since=len(entries) - seq,
    )
