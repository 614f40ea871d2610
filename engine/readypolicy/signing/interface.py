"""What a signer and a verifier of readypolicy decisions promise each other.

A decision is only worth keeping if an auditor can check it months later without trusting the CI
that produced it. Every signer therefore emits a standard Sigstore bundle (DSSE envelope around an
in-toto Statement) that tools outside readypolicy (cosign, sigstore-python) can also check, and
every verifier returns the *verified* statement together with who signed it, never the raw payload.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from readypolicy.errors import ReadyPolicyError


class SigningError(ReadyPolicyError):
    """Signing failed or a signature, bundle, key or statement did not verify."""


class SignatureMismatchError(SigningError):
    """The DSSE signature does not verify; carries the unverified payload for diagnosis only."""

    def __init__(self, message: str, unverified_payload: bytes) -> None:
        super().__init__(message)
        self.unverified_payload = unverified_payload
        """The payload as found in the bundle; never trusted, only compared to explain the failure."""


@dataclass(frozen=True)
class VerifiedStatement:
    """An in-toto statement whose DSSE signature checked out, and the facts about its signer."""

    statement: dict[str, Any]
    """The decoded in-toto Statement; only ever built from a payload whose signature verified."""
    payload_type: str
    """The DSSE payloadType the signature covered (always the in-toto JSON media type)."""
    signer: str
    """Who signed: `key sha256:<fingerprint>` or `<certificate SAN> (issuer <OIDC issuer>)`."""
    signed_at: datetime | None
    """When the signature existed, as a third party vouches (TSA or log); None when none does."""
    media_type: str
    """Media type of the Sigstore bundle the statement came from."""
    time_source: str | None = None
    """Who vouches for `signed_at`: `RFC 3161 timestamp by <TSA subject>` or `transparency log`."""


class Signer(ABC):
    """Turns an in-toto statement into a Sigstore bundle."""

    @abstractmethod
    def sign_statement(self, statement: dict[str, Any]) -> dict[str, Any]:
        """Sign `statement` and return the Sigstore bundle as a JSON-ready dict."""


class BundleVerifier(ABC):
    """Checks a Sigstore bundle against one trust anchor (a public key or a Sigstore identity)."""

    @abstractmethod
    def verify_bundle(self, bundle: dict[str, Any]) -> VerifiedStatement:
        """Verify `bundle` and return its statement; raise `SigningError` naming what failed."""
