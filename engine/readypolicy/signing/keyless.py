"""Keyless signing and verification through the `sigstore` library (Fulcio + Rekor).

The signer proves an OIDC identity (a CI workload or a person) to Fulcio, gets a short-lived
certificate, and the signature lands in Rekor; the auditor later trusts an identity and an issuer,
not a key someone has to keep safe. A private Sigstore instance is selected with a client trust
config file; verification works offline against a trusted root file.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sigstore.dsse import Statement
from sigstore.errors import Error as SigstoreError
from sigstore.models import Bundle, ClientTrustConfig, TrustedRoot
from sigstore.oidc import IdentityToken, Issuer, detect_credential
from sigstore.sign import SigningContext
from sigstore.verify import Verifier

from readypolicy.safeio import UnsafeInputError, read_limited
from readypolicy.signing.bundle import parse_bundle
from readypolicy.signing.dsse import b64decode_strict, decode_statement, open_envelope, statement_payload
from readypolicy.signing.identity import IdentityPolicy
from readypolicy.signing.interface import (
    BundleVerifier,
    SignatureMismatchError,
    Signer,
    SigningError,
    VerifiedStatement,
)
from readypolicy.signing.timestamp import load_trusted_root, verify_timestamps
from readypolicy.signing.trust import SERVICE_FAILURES, SIGSTORE_FAILURES, describe

_MAX_TRUST_BYTES = 4 * 1024 * 1024


def _read_text(path: Path) -> str:
    try:
        return read_limited(path, _MAX_TRUST_BYTES).decode("utf-8")
    except (UnsafeInputError, UnicodeDecodeError) as exc:
        raise SigningError(f"{path}: cannot read: {exc}") from exc


def load_trust_config(path: Path | None) -> ClientTrustConfig:
    """The Sigstore instance to sign with: a private one from `path`, else the public good one."""
    try:
        if path is None:
            return ClientTrustConfig.production()
        return ClientTrustConfig.from_json(_read_text(path))
    except SIGSTORE_FAILURES as exc:
        where = path or "Sigstore public-good TUF repository"
        raise SigningError(f"{where}: cannot load the Sigstore client trust config: {describe(exc)}") from exc


def identity_token(explicit: str | None, trust_config: ClientTrustConfig, interactive: bool) -> IdentityToken:
    """An OIDC token: the one given, else the CI's ambient credential, else a browser flow."""
    try:
        raw = explicit or detect_credential()
        if raw:
            return IdentityToken(raw)
        if not interactive:
            raise SigningError(
                "no OIDC identity token: pass --identity-token, run in a CI with an ambient "
                "credential (e.g. GitHub Actions id-token: write), or sign interactively"
            )
        return Issuer(trust_config.signing_config.get_oidc_url()).identity_token()
    except SIGSTORE_FAILURES as exc:
        raise SigningError(f"OIDC identity token: {describe(exc)}") from exc


class SigstoreSigner(Signer):
    """Signs with an ephemeral key certified by Fulcio and logged in Rekor."""

    def __init__(self, token: IdentityToken, trust_config: ClientTrustConfig) -> None:
        self._token = token
        self._trust_config = trust_config

    def sign_statement(self, statement: dict[str, Any]) -> dict[str, Any]:
        """DSSE-sign the canonical statement through Fulcio and Rekor; returns the v0.3 bundle."""
        try:
            context = SigningContext.from_trust_config(self._trust_config)
            with context.signer(self._token) as signer:
                bundle = signer.sign_dsse(Statement(statement_payload(statement)))
        except SERVICE_FAILURES as exc:
            raise SigningError(
                f"keyless signing failed for identity {self._token.identity}: {describe(exc)}"
            ) from exc
        signed: dict[str, Any] = json.loads(bundle.to_json())
        return signed


class SigstoreVerifier(BundleVerifier):
    """Verifies Fulcio-certificate bundles: chain, SCT, log inclusion, signed time, identity and issuer."""

    def __init__(
        self,
        cert_identity: str | IdentityPolicy,
        cert_oidc_issuer: str | None = None,
        trusted_root: Path | None = None,
        offline: bool = False,
        origin: str = "bundle",
    ) -> None:
        if isinstance(cert_identity, IdentityPolicy):
            self._policy = cert_identity
        elif cert_oidc_issuer is not None:
            self._policy = IdentityPolicy(cert_identity, cert_oidc_issuer)
        else:
            raise SigningError("keyless verification needs both an identity and an OIDC issuer")
        self._trusted_root = trusted_root
        self._offline = offline
        self._origin = origin

    def _root(self) -> TrustedRoot:
        if self._trusted_root is not None:
            return load_trusted_root(self._trusted_root)
        try:
            return ClientTrustConfig.production(offline=self._offline).trusted_root
        except SIGSTORE_FAILURES as exc:
            raise SigningError(f"Sigstore public-good trusted root: cannot load it: {describe(exc)}") from exc

    def verify_bundle(self, bundle: dict[str, Any]) -> VerifiedStatement:
        """Run sigstore's full DSSE verification under the identity policy, then name the signed time."""
        origin = self._origin
        model = parse_bundle(bundle, origin)
        if model.verification_material.public_key is not None:
            raise SigningError(f"{origin}: bundle was signed with a key; verify it with --key PUBLIC.pem")
        try:
            sigstore_bundle = Bundle.from_json(json.dumps(bundle))
        except SIGSTORE_FAILURES as exc:
            raise SigningError(f"{origin}: not a verifiable keyless bundle: {describe(exc)}") from exc
        root = self._root()
        try:
            payload_type, payload = Verifier(trusted_root=root).verify_dsse(sigstore_bundle, self._policy)
        except SigstoreError as exc:
            if "DSSE: invalid signature" in str(exc):
                envelope = bundle["dsseEnvelope"]
                unverified = b64decode_strict(envelope.get("payload"), f"{origin}: DSSE payload")
                raise SignatureMismatchError(
                    f"{origin}: DSSE signature does not verify with the signing certificate", unverified
                ) from exc
            raise SigningError(f"{origin}: Sigstore verification failed: {describe(exc)}") from exc
        _, _, signature = open_envelope(bundle.get("dsseEnvelope"), origin)
        stamped = verify_timestamps(bundle, signature, root, origin)
        signed_at, source = (stamped.time, stamped.source) if stamped else (_integrated_time(bundle), "transparency log")
        return VerifiedStatement(
            statement=decode_statement(payload, origin),
            payload_type=payload_type,
            signer=self._policy.signer(sigstore_bundle.signing_certificate),
            signed_at=signed_at,
            media_type=model.media_type,
            time_source=source if signed_at else None,
        )


def _integrated_time(bundle: dict[str, Any]) -> datetime | None:
    """The log's integrated time, only when an inclusion promise (which sigstore verified) binds it."""
    entries = bundle["verificationMaterial"].get("tlogEntries") or []
    for entry in entries:
        if entry.get("integratedTime") and entry.get("inclusionPromise"):
            return datetime.fromtimestamp(int(entry["integratedTime"]), tz=UTC)
    return None


def keyless_signer(token: str | None, trust_config_path: Path | None, interactive: bool) -> SigstoreSigner:
    """A `SigstoreSigner` for the given (or ambient, or interactive) identity and Sigstore instance."""
    trust_config = load_trust_config(trust_config_path)
    return SigstoreSigner(identity_token(token, trust_config, interactive), trust_config)
