"""`audit export` in the library: find a recorded decision and its signature, pack them, write the archive.

What goes into an archive is `export.export_archive`; this module is the lookup around it (which
decision, which signature file) and the write, so the command only parses options and prints.
"""

from __future__ import annotations

from pathlib import Path

from readypolicy.audit.export import export_archive
from readypolicy.audit.trail import AuditError
from readypolicy.policy.interface import PolicySet
from readypolicy.safeio import write_atomic
from readypolicy.signing.attest import default_bundle_path
from readypolicy.signing.bundle import read_bundle
from readypolicy.signing.decision_files import decision_path
from readypolicy.signing.interface import Signer
from readypolicy.store.interface import DecisionRow, Store


def recorded_decision(store: Store, decision_id: str) -> DecisionRow:
    """The stored decision with this id (or unique hex prefix); `AuditError` when there is none."""
    row = store.get_decision(decision_id)
    if row is None:
        raise AuditError(f"no decision {decision_id} in {store.url}")
    return row


def decision_signature(row: DecisionRow, sign_dir: Path, explicit: Path | None) -> Path:
    """The signature bundle of a decision: `explicit`, else the one `eval --sign` wrote into `sign_dir`."""
    if explicit is not None:
        return explicit
    found = default_bundle_path(decision_path(sign_dir, row.module, row.lane))
    if not found.is_file():
        raise AuditError(f"decision {row.decision_id} has no signature at {found}; pass --bundle")
    return found


def export_decision(
    output: Path, row: DecisionRow, signature: Path, store: Store, policy: PolicySet, signer: Signer,
    trusted_root: Path | None, checkpoint: Path | None,
) -> None:
    """Write the archive of `row` to `output`, whole or not at all (an auditor never gets half an archive)."""
    anchor = (read_bundle(checkpoint), str(checkpoint)) if checkpoint is not None else None
    data = export_archive(row.record, read_bundle(signature), str(signature), store, policy, signer, trusted_root, anchor)
    write_atomic(output, data)
