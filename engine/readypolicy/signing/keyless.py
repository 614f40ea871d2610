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

from pydantic import ValidationError
from requests.exceptions import RequestException
from sigstore.dsse import Statement
from sigstore.errors import Error as SigstoreError
from sigstore.models import Bundle, ClientTrustConfig, TrustedRoot
from sigstore.oidc import IdentityToken, Issuer, detect_credential
from sigstore.sign import SigningContext
from sigstore.verify import Verifier
from sigstore.verify.policy import Identity

from readypolicy.safeio import UnsafeInputError, read_limited
from readypolicy.signing.bundle import parse_bundle
from readypolicy.signing.dsse import b64decode_strict, decode_statement, statement_payload
from readypolicy.signing.interface import (
    BundleVerifier,
    SignatureMismatchError,
    Signer,
    SigningError,
    VerifiedStatement,
)

_SIGSTORE_FAILURES = (SigstoreError, RequestException, OSError, ValueError)
_MAX_TRUST_BYTES = 4 * 1024 * 1024


def _describe(exc: Exception) -> str:
    """One line for a sigstore/pydantic/network failure (pydantic reports span many lines)."""
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return f"{'.'.join(str(part) for part in first['loc'])}: {first['msg']}"
    return " ".join(str(exc).split())


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
    except _SIGSTORE_FAILURES as exc:
        where = path or "Sigstore public-good TUF repository"
        raise SigningError(f"{where}: cannot load the Sigstore client trust config: {_describe(exc)}") from exc


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
    except _SIGSTORE_FAILURES as exc:
        raise SigningError(f"OIDC identity token: {_describe(exc)}") from exc


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
        except _SIGSTORE_FAILURES as exc:
            raise SigningError(
                f"keyless signing failed for identity {self._token.identity}: {_describe(exc)}"
            ) from exc
        return json.loads(bundle.to_json())


class SigstoreVerifier(BundleVerifier):
    """Verifies Fulcio-certificate bundles: chain, SCT, log inclusion, identity and issuer."""

    def __init__(
        self,
        cert_identity: str,
        cert_oidc_issuer: str,
        trusted_root: Path | None = None,
        offline: bool = False,
        origin: str = "bundle",
    ) -> None:
        self._identity = cert_identity
        self._issuer = cert_oidc_issuer
        self._trusted_root = trusted_root
        self._offline = offline
        self._origin = origin

    def _verifier(self) -> Verifier:
        try:
            if self._trusted_root is not None:
                return Verifier(trusted_root=TrustedRoot.from_file(str(self._trusted_root)))
            return Verifier.production(offline=self._offline)
        except _SIGSTORE_FAILURES as exc:
            where = self._trusted_root or "Sigstore public-good trusted root"
            raise SigningError(f"{where}: cannot load the trusted root: {_describe(exc)}") from exc

    def verify_bundle(self, bundle: dict[str, Any]) -> VerifiedStatement:
        """Run sigstore's full DSSE verification under an exact identity + issuer policy."""
        origin = self._origin
        model = parse_bundle(bundle, origin)
        if model.verification_material.public_key is not None:
            raise SigningError(f"{origin}: bundle was signed with a key; verify it with --key PUBLIC.pem")
        try:
            sigstore_bundle = Bundle.from_json(json.dumps(bundle))
        except SigstoreError as exc:
            raise SigningError(f"{origin}: {_describe(exc)}") from exc
        policy = Identity(identity=self._identity, issuer=self._issuer)
        try:
            payload_type, payload = self._verifier().verify_dsse(sigstore_bundle, policy)
        except SigstoreError as exc:
            if "DSSE: invalid signature" in str(exc):
                envelope = bundle["dsseEnvelope"]
                unverified = b64decode_strict(envelope.get("payload"), f"{origin}: DSSE payload")
                raise SignatureMismatchError(
                    f"{origin}: DSSE signature does not verify with the signing certificate", unverified
                ) from exc
            raise SigningError(f"{origin}: Sigstore verification failed: {_describe(exc)}") from exc
        return VerifiedStatement(
            statement=decode_statement(payload, origin),
            payload_type=payload_type,
            signer=f"{self._identity} (OIDC issuer {self._issuer})",
            signed_at=_integrated_time(bundle),
            media_type=model.media_type,
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
