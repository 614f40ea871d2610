"""Whom a keyless verifier trusts: a certificate identity (SAN) and OIDC issuer, exact or by pattern.

Exact values use sigstore-python's own `Identity` policy. Patterns (`--cert-identity-regexp`,
`--cert-oidc-issuer-regexp`, as cosign spells them) must match the *whole* value (`re.fullmatch`):
cosign searches, so its `.*@example\\.com` also accepts `eve@example.com.attacker.test`; anchoring
here closes that hole without asking every auditor to remember `^...$`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat import asn1
from sigstore.errors import VerificationError
from sigstore.verify.policy import Identity

from readypolicy.signing.interface import SigningError

_ISSUER_V1 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
_ISSUER_V2 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
_OTHERNAME = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.7")


def _compile(pattern: str, option: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise SigningError(f"{option} {pattern!r} is not a valid regular expression: {exc}") from exc


def certificate_issuer(cert: x509.Certificate) -> str | None:
    """The OIDC issuer Fulcio wrote into the certificate (the v2 DER extension, else the v1 raw one)."""
    extensions = cert.extensions
    try:
        raw = extensions.get_extension_for_oid(_ISSUER_V2).value
        return str(asn1.decode_der(str, raw.value))  # type: ignore[attr-defined]
    except x509.ExtensionNotFound:
        pass
    try:
        return bytes(extensions.get_extension_for_oid(_ISSUER_V1).value.value).decode()  # type: ignore[attr-defined]
    except x509.ExtensionNotFound:
        return None


def certificate_identities(cert: x509.Certificate) -> list[str]:
    """The certificate's identities: e-mail, URI and Sigstore other-name SANs, sorted."""
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    found = set(sans.get_values_for_type(x509.RFC822Name)) | set(sans.get_values_for_type(x509.UniformResourceIdentifier))
    found.update(name.value.decode() for name in sans.get_values_for_type(x509.OtherName) if name.type_id == _OTHERNAME)
    return sorted(found)


@dataclass(frozen=True)
class IdentityPolicy:
    """An identity and an issuer, each either exact or a whole-value regular expression.

    Implements sigstore-python's `VerificationPolicy` protocol (`verify(cert)` raising
    `VerificationError`), so sigstore runs it after the chain, SCT, log and time checks.
    """

    identity: str
    """Expected SAN, or a pattern for it when `identity_regexp`."""
    issuer: str
    """Expected OIDC issuer URL, or a pattern for it when `issuer_regexp`."""
    identity_regexp: bool = False
    issuer_regexp: bool = False

    def __post_init__(self) -> None:
        if self.identity_regexp:
            _compile(self.identity, "--cert-identity-regexp")
        if self.issuer_regexp:
            _compile(self.issuer, "--cert-oidc-issuer-regexp")

    def verify(self, cert: x509.Certificate) -> None:
        """Raise `VerificationError` naming the certificate's actual value when it does not match."""
        if not (self.identity_regexp or self.issuer_regexp):
            Identity(identity=self.identity, issuer=self.issuer).verify(cert)
            return
        issuer = certificate_issuer(cert)
        if issuer is None or not self._issuer_matches(issuer):
            raise VerificationError(f"Certificate's OIDC issuer {issuer!r} does not match {self._issuer_text()}")
        if self._matching_identity(cert) is None:
            raise VerificationError(f"Certificate's SANs {certificate_identities(cert)} do not match "
                                    f"{self._identity_text()}")

    def signer(self, cert: x509.Certificate) -> str:
        """`<SAN> (OIDC issuer <URL>)` as found in a certificate this policy accepted."""
        return f"{self._matching_identity(cert)} (OIDC issuer {certificate_issuer(cert)})"

    def _issuer_matches(self, issuer: str) -> bool:
        if self.issuer_regexp:
            return _compile(self.issuer, "--cert-oidc-issuer-regexp").fullmatch(issuer) is not None
        return issuer == self.issuer

    def _matching_identity(self, cert: x509.Certificate) -> str | None:
        for candidate in certificate_identities(cert):
            if self.identity_regexp:
                if _compile(self.identity, "--cert-identity-regexp").fullmatch(candidate):
                    return candidate
            elif candidate == self.identity:
                return candidate
        return None

    def _identity_text(self) -> str:
        return f"pattern {self.identity!r}" if self.identity_regexp else repr(self.identity)

    def _issuer_text(self) -> str:
        return f"pattern {self.issuer!r}" if self.issuer_regexp else repr(self.issuer)
