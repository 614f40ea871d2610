"""Signed decisions: in-toto attestations in Sigstore bundles, key-based or keyless.

The functions a caller needs are re-exported here; the modules hold one concern each
(interface, in-toto statements, DSSE, bundle shape, keys, key-based and keyless implementations,
and the decision-level sign/verify in `attest`).
"""

from readypolicy.signing.attest import (
    VerifiedDecision,
    check_decision_id,
    default_bundle_path,
    read_decision,
    sign_decision,
    summary_lines,
    verify_decision,
    vsa_bundle_path,
)
from readypolicy.signing.bundle import read_bundle, write_bundle
from readypolicy.signing.interface import BundleVerifier, Signer, SigningError, VerifiedStatement
from readypolicy.signing.keyed import KeySigner, KeyVerifier, key_signer, key_verifier
from readypolicy.signing.keyless import SigstoreSigner, SigstoreVerifier, keyless_signer
from readypolicy.signing.keys import PASSWORD_ENV, generate_key_pair, is_encrypted, write_key_pair

__all__ = [
    "PASSWORD_ENV",
    "BundleVerifier",
    "KeySigner",
    "KeyVerifier",
    "Signer",
    "SigningError",
    "SigstoreSigner",
    "SigstoreVerifier",
    "VerifiedDecision",
    "VerifiedStatement",
    "check_decision_id",
    "default_bundle_path",
    "generate_key_pair",
    "is_encrypted",
    "key_signer",
    "key_verifier",
    "keyless_signer",
    "read_bundle",
    "read_decision",
    "sign_decision",
    "summary_lines",
    "verify_decision",
    "vsa_bundle_path",
    "write_bundle",
    "write_key_pair",
]
