"""DSSE envelopes: the signed wrapper around an in-toto statement.

DSSE signs PAE(payloadType, payload), not the payload alone, so an attacker cannot re-label a signed
payload as another type. Base64 is decoded strictly: a lenient decoder silently drops stray bytes,
which would let a tampered envelope decode to the original payload and hide the change.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from readypolicy.canonical import canonical_bytes
from readypolicy.safeio import UnsafeInputError, loads_json
from readypolicy.signing.interface import SigningError

INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
# cosign `attest-blob --predicate` still writes v0.1 statements; the layout is the same as v1.
ACCEPTED_STATEMENT_TYPES = (STATEMENT_TYPE, "https://in-toto.io/Statement/v0.1")


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: the exact bytes a DSSE signature covers."""
    type_bytes = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(type_bytes), type_bytes, len(payload), payload)


def b64encode(data: bytes) -> str:
    """Standard padded base64, as protobuf JSON writes `bytes` fields."""
    return base64.b64encode(data).decode("ascii")


def b64decode_strict(text: Any, what: str) -> bytes:
    """Decode standard base64, refusing anything a strict decoder would not round-trip."""
    if not isinstance(text, str):
        raise SigningError(f"{what}: expected a base64 string, found {type(text).__name__}")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SigningError(f"{what}: not valid base64 ({exc})") from exc


def statement_payload(statement: dict[str, Any]) -> bytes:
    """The payload bytes for a statement: canonical JSON, so re-signing is byte-identical."""
    return canonical_bytes(statement)


def make_envelope(payload: bytes, signature: bytes, keyid: str = "") -> dict[str, Any]:
    """A DSSE envelope in protobuf-JSON form (the shape a Sigstore bundle embeds)."""
    sig: dict[str, Any] = {"sig": b64encode(signature)}
    if keyid:
        sig["keyid"] = keyid
    return {"payload": b64encode(payload), "payloadType": INTOTO_PAYLOAD_TYPE, "signatures": [sig]}


def open_envelope(envelope: Any, origin: str) -> tuple[str, bytes, bytes]:
    """Split an envelope into (payloadType, payload, signature); exactly one signature is allowed."""
    if not isinstance(envelope, dict):
        raise SigningError(f"{origin}: bundle has no dsseEnvelope object")
    payload_type = envelope.get("payloadType")
    if payload_type != INTOTO_PAYLOAD_TYPE:
        raise SigningError(
            f"{origin}: DSSE payloadType is {payload_type!r}, expected {INTOTO_PAYLOAD_TYPE!r}"
        )
    signatures = envelope.get("signatures")
    if not isinstance(signatures, list) or len(signatures) != 1 or not isinstance(signatures[0], dict):
        count = len(signatures) if isinstance(signatures, list) else 0
        raise SigningError(f"{origin}: DSSE envelope must carry exactly one signature, found {count}")
    payload = b64decode_strict(envelope.get("payload"), f"{origin}: DSSE payload")
    signature = b64decode_strict(signatures[0].get("sig"), f"{origin}: DSSE signature")
    if not signature:
        raise SigningError(f"{origin}: DSSE signature is empty")
    return payload_type, payload, signature


def decode_statement(payload: bytes, origin: str) -> dict[str, Any]:
    """Parse a payload as an in-toto Statement v1 and check its outer shape."""
    try:
        # The payload is attacker-controlled until its signature is checked (and is decoded before
        # that to explain a mismatch): parse it with the nesting limit, as every untrusted JSON.
        statement = loads_json(payload, f"{origin}: DSSE payload")
    except UnsafeInputError as exc:
        raise SigningError(str(exc)) from exc
    if not isinstance(statement, dict) or statement.get("_type") not in ACCEPTED_STATEMENT_TYPES:
        found = statement.get("_type") if isinstance(statement, dict) else type(statement).__name__
        raise SigningError(f"{origin}: payload is not an in-toto Statement (_type {found!r})")
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or not subjects:
        raise SigningError(f"{origin}: in-toto statement has no subject")
    if not isinstance(statement.get("predicateType"), str):
        raise SigningError(f"{origin}: in-toto statement has no predicateType")
    return statement
