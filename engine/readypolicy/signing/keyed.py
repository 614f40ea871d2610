"""Key-based signing and verification (no Fulcio, no Rekor): for air-gapped CI.

sigstore-python's Verifier only handles Fulcio certificates, so bundles whose verification material
is a bare public key are signed and checked here with `cryptography`, in the exact bundle shape that
cosign writes and reads (`attest-blob` / `verify-blob-attestation --new-bundle-format`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from sigstore.models import TrustedRoot

from readypolicy.signing.bundle import key_bundle, parse_bundle
from readypolicy.signing.dsse import (
    INTOTO_PAYLOAD_TYPE,
    decode_statement,
    make_envelope,
    open_envelope,
    pae,
    statement_payload,
)
from readypolicy.signing.interface import (
    BundleVerifier,
    SignatureMismatchError,
    Signer,
    SigningError,
    VerifiedStatement,
)
from readypolicy.signing.keys import fingerprint, key_hint, load_private_key, load_public_key
from readypolicy.signing.timestamp import TrustedTime, load_trusted_root, request_timestamp, verify_timestamps


class KeySigner(Signer):
    """Signs statements with a local ECDSA P-256 private key, optionally timestamped by a TSA."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey, timestamp_url: str | None = None) -> None:
        self._key = private_key
        self._timestamp_url = timestamp_url

    def sign_statement(self, statement: dict[str, Any]) -> dict[str, Any]:
        """DSSE-sign the canonical statement; the bundle names the key by its hint only."""
        payload = statement_payload(statement)
        signature = self._key.sign(pae(INTOTO_PAYLOAD_TYPE, payload), ec.ECDSA(hashes.SHA256()))
        stamps = [request_timestamp(self._timestamp_url, signature)] if self._timestamp_url else []
        return key_bundle(make_envelope(payload, signature), key_hint(self._key.public_key()), stamps)


class KeyVerifier(BundleVerifier):
    """Verifies key-based bundles against one trusted public key (and their timestamps against a root)."""

    def __init__(
        self,
        public_key: ec.EllipticCurvePublicKey,
        origin: str = "bundle",
        trusted_root: TrustedRoot | None = None,
        require_timestamp: bool = False,
    ) -> None:
        self._key = public_key
        self._origin = origin
        self._trusted_root = trusted_root
        self._require_timestamp = require_timestamp

    def verify_bundle(self, bundle: dict[str, Any]) -> VerifiedStatement:
        """Check key, payload type and the DSSE signature over PAE, then decode the statement."""
        origin = self._origin
        model = parse_bundle(bundle, origin)
        material = model.verification_material
        if material.public_key is None:
            raise SigningError(
                f"{origin}: bundle carries a Sigstore certificate, not a public-key hint; "
                "verify it with --cert-identity and --cert-oidc-issuer"
            )
        hint = material.public_key.hint
        expected_hint = key_hint(self._key)
        if hint and hint != expected_hint:
            raise SigningError(
                f"{origin}: bundle was signed by the key with hint {hint}, "
                f"but the given public key has hint {expected_hint} ({fingerprint(self._key)})"
            )
        payload_type, payload, signature = open_envelope(bundle.get("dsseEnvelope"), origin)
        try:
            decode_dss_signature(signature)
        except ValueError as exc:
            raise SignatureMismatchError(
                f"{origin}: DSSE signature is not a DER-encoded ECDSA signature (signature bytes altered)",
                payload,
            ) from exc
        try:
            self._key.verify(signature, pae(payload_type, payload), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature as exc:
            raise SignatureMismatchError(
                f"{origin}: DSSE signature does not verify with key {fingerprint(self._key)}", payload
            ) from exc
        stamped = self._signed_time(bundle, signature)
        return VerifiedStatement(
            statement=decode_statement(payload, origin),
            payload_type=payload_type,
            signer=f"key {fingerprint(self._key)}",
            signed_at=stamped.time if stamped else None,
            media_type=model.media_type,
            time_source=stamped.source if stamped else None,
        )

    def _signed_time(self, bundle: dict[str, Any], signature: bytes) -> TrustedTime | None:
        """The TSA-vouched time, or None; an error when one is required and missing or false."""
        origin = self._origin
        if self._trusted_root is None:
            if self._require_timestamp:
                raise SigningError(f"{origin}: a trusted timestamp is required, but no trusted root names the "
                                   "timestamp authorities to check it against (pass --trusted-root)")
            return None
        stamped = verify_timestamps(bundle, signature, self._trusted_root, origin)
        if stamped is None and self._require_timestamp:
            raise SigningError(f"{origin}: a trusted timestamp is required, but the bundle has no RFC 3161 timestamp "
                               "(sign with --timestamp-url)")
        return stamped


def key_signer(private_key_path: Path, passphrase: bytes | None, timestamp_url: str | None = None) -> KeySigner:
    """A `KeySigner` for the PEM private key at `private_key_path`, timestamping at `timestamp_url` if given."""
    return KeySigner(load_private_key(private_key_path, passphrase), timestamp_url)


def key_verifier(
    public_key_path: Path, origin: str = "bundle", trusted_root: Path | None = None, require_timestamp: bool = False
) -> KeyVerifier:
    """A `KeyVerifier` trusting the PEM public key at `public_key_path` (and TSAs of `trusted_root`)."""
    root = load_trusted_root(trusted_root) if trusted_root is not None else None
    return KeyVerifier(load_public_key(public_key_path), origin, root, require_timestamp)
