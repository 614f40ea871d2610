"""ECDSA P-256 key pairs for teams that sign without a Sigstore instance (air-gapped CI).

P-256 with SHA-256 is what cosign and every Sigstore client verify, so a readypolicy key works with
cosign and back. The private key is always stored encrypted (PKCS#8, best available cipher): a
decision signing key left in plain text on a CI disk would make every signature deniable.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from readypolicy.safeio import UnsafeInputError, read_limited
from readypolicy.signing.dsse import b64encode
from readypolicy.signing.interface import SigningError

PASSWORD_ENV = "READYPOLICY_KEY_PASSWORD"
MAX_KEY_BYTES = 64 * 1024


@dataclass(frozen=True)
class KeyPair:
    """A freshly generated signing key pair, serialized for writing to disk."""

    private_pem: bytes
    """PKCS#8 PEM of the private key, encrypted with the passphrase."""
    public_pem: bytes
    """SubjectPublicKeyInfo PEM of the public key (what verifiers and cosign `--key` take)."""
    fingerprint: str
    """`sha256:<hex>` of the DER public key, the name readypolicy prints for this key."""


def fingerprint(public_key: ec.EllipticCurvePublicKey) -> str:
    """`sha256:<hex>` over the DER SubjectPublicKeyInfo: a stable, printable key identity."""
    return "sha256:" + hashlib.sha256(_spki_der(public_key)).hexdigest()


def key_hint(public_key: ec.EllipticCurvePublicKey) -> str:
    """The bundle's publicKey hint: base64 sha256 of the DER key, the form cosign writes."""
    return b64encode(hashlib.sha256(_spki_der(public_key)).digest())


def _spki_der(public_key: ec.EllipticCurvePublicKey) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def generate_key_pair(passphrase: bytes) -> KeyPair:
    """Generate a P-256 key pair; the private half is encrypted with `passphrase`."""
    if not passphrase:
        raise SigningError("refusing to write an unencrypted private key: the passphrase is empty")
    private_key = ec.generate_private_key(ec.SECP256R1())
    public_key = private_key.public_key()
    return KeyPair(
        private_pem=private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(passphrase),
        ),
        public_pem=public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        fingerprint=fingerprint(public_key),
    )


def write_key_pair(pair: KeyPair, private_path: Path, public_path: Path) -> None:
    """Write both halves, never overwriting an existing key; the private file is mode 0600."""
    for path in (private_path, public_path):
        if path.exists():
            raise SigningError(f"{path}: already exists; refusing to overwrite a key")
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pair.private_pem)
    public_path.write_bytes(pair.public_pem)


def _read_key_file(path: Path) -> bytes:
    try:
        return read_limited(path, MAX_KEY_BYTES)
    except UnsafeInputError as exc:
        raise SigningError(str(exc)) from exc


def is_encrypted(path: Path) -> bool:
    """Whether a PEM private key file needs a passphrase (so a CLI knows to ask for one)."""
    return b"ENCRYPTED" in _read_key_file(path).split(b"\n", 1)[0]


def load_private_key(path: Path, passphrase: bytes | None) -> ec.EllipticCurvePrivateKey:
    """Load a PEM private key (encrypted PKCS#8 from `keygen`, or unencrypted PEM) as P-256."""
    data = _read_key_file(path)
    try:
        key = serialization.load_pem_private_key(data, password=passphrase or None)
    except TypeError as exc:
        raise SigningError(f"{path}: private key is encrypted; set {PASSWORD_ENV} or enter it") from exc
    except ValueError as exc:
        raise SigningError(f"{path}: cannot load private key (wrong passphrase or not PEM): {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise SigningError(f"{path}: not an ECDSA P-256 private key")
    return key


def load_public_key(path: Path) -> ec.EllipticCurvePublicKey:
    """Load a PEM SubjectPublicKeyInfo and insist on P-256 (the only curve readypolicy signs with)."""
    data = _read_key_file(path)
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise SigningError(f"{path}: not a valid PEM public key: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise SigningError(f"{path}: not an ECDSA P-256 public key")
    return key
