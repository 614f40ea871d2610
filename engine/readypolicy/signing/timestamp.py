"""RFC 3161 timestamps: a signing time vouched for by a timestamp authority (TSA), not by the signer.

A key-based bundle has no transparency log, so its only time is the decision's own `evaluated_at`,
which whoever holds the key can write as they like. A TSA countersigns the DSSE signature bytes with
its clock; the token goes in the bundle's `timestampVerificationData` (where cosign and
sigstore-python put it), and a verifier that pins the TSA's chain through a Sigstore trusted root
can then say *when* the signature existed. The checks mirror sigstore-python's own verifier: chain
to a `timestampAuthorities` entry, message imprint over the signature, time within the entry's
`validFor`, at most a few tokens and no duplicates.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import requests
from rfc3161_client import (
    HashAlgorithm,
    PKIStatus,
    TimestampRequestBuilder,
    TimeStampResponse,
    VerifierBuilder,
    decode_timestamp_response,
)
from rfc3161_client import VerificationError as TimestampVerificationError
from sigstore.models import TrustedRoot
from sigstore_models.trustroot import v1 as trustroot_v1

from readypolicy.safeio import UnsafeInputError, loads_json, read_limited
from readypolicy.signing.dsse import b64decode_strict, b64encode
from readypolicy.signing.interface import SigningError
from readypolicy.signing.trust import SIGSTORE_FAILURES, describe

TIMESTAMP_QUERY = "application/timestamp-query"
MAX_TIMESTAMPS = 32
"""sigstore-python's limit: more tokens than this is a bundle built to waste a verifier's time."""
MAX_TRUSTED_ROOT_BYTES = 4 * 1024 * 1024
_TIMEOUT_S = 30
_MAX_RESPONSE_BYTES = 64 * 1024


@dataclass(frozen=True)
class TrustedTime:
    """A signing time that a pinned timestamp authority countersigned."""

    time: datetime
    """The TSA's genTime (UTC)."""
    authority: str
    """Subject of the TSA's signing certificate, e.g. `CN=tsa,O=example`."""

    @property
    def source(self) -> str:
        """How summaries name who vouches for the time."""
        return f"RFC 3161 timestamp by {self.authority}"


def request_timestamp(url: str, signature: bytes) -> str:
    """Ask the TSA at `url` to countersign `signature`; the base64 token for the bundle.

    The response is checked against the request (granted, same nonce, imprint of these bytes) so
    a misbehaving or misconfigured TSA fails the signing, not a verification months later.
    """
    request = TimestampRequestBuilder().hash_algorithm(HashAlgorithm.SHA256).data(signature).nonce(nonce=True).build()
    try:
        response = requests.post(url, data=request.as_bytes(), headers={"Content-Type": TIMESTAMP_QUERY},
                                 timeout=_TIMEOUT_S)
        response.raise_for_status()
        if len(response.content) > _MAX_RESPONSE_BYTES:
            raise ValueError(f"response larger than {_MAX_RESPONSE_BYTES} bytes")
        token = decode_timestamp_response(response.content)
    except (requests.RequestException, ValueError) as exc:
        raise SigningError(f"timestamp authority {url}: {describe(exc)}") from exc
    info = token.tst_info
    if PKIStatus(token.status) != PKIStatus.GRANTED:
        raise SigningError(f"timestamp authority {url}: request not granted (status {token.status})")
    if info.nonce != request.nonce or info.message_imprint.message != hashlib.sha256(signature).digest():
        raise SigningError(f"timestamp authority {url}: the response is not for this request (nonce or imprint differ)")
    return b64encode(token.as_bytes())


def load_trusted_root(path: Path) -> TrustedRoot:
    """A Sigstore trusted root file (for a key-based verifier only its `timestampAuthorities` matter).

    protobuf JSON omits empty lists, and cosign writes and reads roots that way (a TSA-only root has
    no `tlogs`); the model requires them, so absent lists are read as empty, as in `parse_bundle`.
    """
    try:
        document = loads_json(read_limited(path, MAX_TRUSTED_ROOT_BYTES), str(path))
        if not isinstance(document, dict):
            raise ValueError("a trusted root must be a JSON object")
        for key in ("tlogs", "certificateAuthorities", "ctlogs", "timestampAuthorities"):
            document.setdefault(key, [])
        return TrustedRoot(trustroot_v1.TrustedRoot.from_json(json.dumps(document)))
    except UnsafeInputError as exc:
        raise SigningError(str(exc)) from exc
    except SIGSTORE_FAILURES as exc:
        raise SigningError(f"{path}: cannot load the trusted root: {describe(exc)}") from exc


def bundle_timestamps(bundle: dict[str, Any]) -> list[Any]:
    """The bundle's raw `rfc3161Timestamps` entries (unverified)."""
    material = bundle.get("verificationMaterial") or {}
    data = material.get("timestampVerificationData") or {}
    stamps = data.get("rfc3161Timestamps") if isinstance(data, dict) else None
    return stamps if isinstance(stamps, list) else []


def _check_one(token: TimeStampResponse, signature: bytes, trusted_root: TrustedRoot) -> TrustedTime | str:
    """The trusted time from the first TSA of the root that vouches for `token`, else why none did."""
    reason = "the trusted root has no timestampAuthorities"
    for authority in trusted_root.get_timestamp_authorities():
        chain = authority.certificates(allow_expired=True)
        if len(chain) < 2:
            reason = "a timestampAuthorities entry has no complete certificate chain"
            continue
        builder = VerifierBuilder().tsa_certificate(chain[0]).add_root_certificate(chain[-1])
        for intermediate in chain[1:-1]:
            builder = builder.add_intermediate_certificate(intermediate)
        try:
            builder.build().verify_message(token, signature)
        except TimestampVerificationError as exc:
            reason = describe(exc)
            continue
        when = token.tst_info.gen_time
        end = authority.validity_period_end
        if when < authority.validity_period_start or (end is not None and when >= end):
            reason = f"time {when.isoformat()} is outside the authority's validFor period"
            continue
        return TrustedTime(time=when, authority=chain[0].subject.rfc4514_string())
    return reason


def verify_timestamps(
    bundle: dict[str, Any], signature: bytes, trusted_root: TrustedRoot, origin: str
) -> TrustedTime | None:
    """The earliest verified timestamp over `signature`; None if the bundle has none.

    A token that is present but does not verify is an error, not "no time": a swapped, forged or
    foreign-TSA timestamp means someone tampered with the bundle.
    """
    stamps = bundle_timestamps(bundle)
    if not stamps:
        return None
    if len(stamps) > MAX_TIMESTAMPS:
        raise SigningError(f"{origin}: {len(stamps)} RFC 3161 timestamps (at most {MAX_TIMESTAMPS})")
    raw = [b64decode_strict(stamp.get("signedTimestamp") if isinstance(stamp, dict) else stamp,
                            f"{origin}: RFC 3161 timestamp") for stamp in stamps]
    if len(set(raw)) != len(raw):
        raise SigningError(f"{origin}: duplicate RFC 3161 timestamp")
    verified: list[TrustedTime] = []
    for index, data in enumerate(raw):
        try:
            token = decode_timestamp_response(data)
        except ValueError as exc:
            raise SigningError(f"{origin}: RFC 3161 timestamp {index} does not parse: {describe(exc)}") from exc
        result = _check_one(token, signature, trusted_root)
        if isinstance(result, str):
            raise SigningError(f"{origin}: RFC 3161 timestamp {index} does not verify against the trusted root: "
                               f"{result}")
        verified.append(result)
    return min(verified, key=lambda item: item.time)
