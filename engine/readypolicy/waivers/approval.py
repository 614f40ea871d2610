"""The approval of a waiver: an in-toto statement over the canonical waiver, DSSE-signed by the approver.

The statement's subject is the waiver (`waiver:<id>` and the sha256 of its canonical body) and its
predicate is the body itself, so a verifier rebuilds both from the waiver in the file and compares:
a reason, lane or expiry edited after approval no longer matches. Signing and verifying reuse the
decision signing stack (`KeySigner`, `KeyVerifier`): same bundle format, same key files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from readypolicy.canonical import digest
from readypolicy.signing import BundleVerifier, Signer, SigningError
from readypolicy.signing.dsse import STATEMENT_TYPE
from readypolicy.waivers.model import body

APPROVAL_PREDICATE_TYPE = "https://readypolicy.dev/attestation/waiver-approval/v1"


def approval_statement(item: Mapping[str, Any]) -> dict[str, Any]:
    """The in-toto Statement an approver signs for this waiver."""
    signed = body(item)
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": f"waiver:{signed['id']}", "digest": {"sha256": digest(signed).removeprefix("sha256:")}}],
        "predicateType": APPROVAL_PREDICATE_TYPE,
        "predicate": signed,
    }


def sign_approval(item: Mapping[str, Any], signer: Signer) -> dict[str, Any]:
    """The Sigstore bundle of the approval statement."""
    return signer.sign_statement(approval_statement(item))


def verify_approval(
    item: Mapping[str, Any], bundle: Any, verifiers: Sequence[tuple[str, BundleVerifier]],
) -> tuple[str | None, str]:
    """(approver key, "") when one configured key signed exactly this waiver; else (None, why not).

    Every configured key is tried: the first whose signature verifies must also have signed this
    waiver's statement, byte for byte after canonicalization.
    """
    if not isinstance(bundle, Mapping):
        return None, "it has no signed approval (run readypolicy waiver approve --key)"
    refusals: list[str] = []
    for name, verifier in verifiers:
        try:
            verified = verifier.verify_bundle(dict(bundle))
        except SigningError as exc:
            refusals.append(f"{name}: {exc}")
            continue
        if digest(verified.statement) != digest(approval_statement(item)):
            return None, (f"its approval signed by {name} covers other content: the waiver was edited after "
                          "approval (reason, lanes, times or names)")
        return verified.signer, ""
    return None, "its approval does not verify against any configured approver key (" + "; ".join(refusals)[:300] + ")"
