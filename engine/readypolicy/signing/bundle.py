"""Sigstore bundle v0.3 JSON: reading, shape-checking and building the key-based variant.

The shape is checked with `sigstore_models` (the Sigstore protobuf-specs as pydantic models), so a
bundle readypolicy accepts or writes is one that cosign and sigstore-python parse the same way.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sigstore_models.bundle.v1 import Bundle as BundleModel

from readypolicy.safeio import UnsafeInputError, loads_json, read_limited, write_atomic
from readypolicy.signing.interface import SigningError

BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
MAX_BUNDLE_BYTES = 4 * 1024 * 1024


def key_bundle(envelope: dict[str, Any], hint: str, timestamps: Sequence[str] = ()) -> dict[str, Any]:
    """A v0.3 bundle whose verification material is an out-of-band public key (no log entry).

    `timestamps` are base64 RFC 3161 tokens over the DSSE signature, where cosign puts them.
    """
    material: dict[str, Any] = {"publicKey": {"hint": hint}, "tlogEntries": []}
    if timestamps:
        material["timestampVerificationData"] = {"rfc3161Timestamps": [{"signedTimestamp": t} for t in timestamps]}
    bundle = {"mediaType": BUNDLE_MEDIA_TYPE, "verificationMaterial": material, "dsseEnvelope": envelope}
    parse_bundle(bundle, "generated bundle")
    return bundle


def parse_bundle(bundle: Any, origin: str) -> BundleModel:
    """Validate a bundle dict against the protobuf-specs model; DSSE content is required."""
    if not isinstance(bundle, dict):
        raise SigningError(f"{origin}: a Sigstore bundle must be a JSON object")
    data = copy.deepcopy(bundle)
    material = data.get("verificationMaterial")
    if isinstance(material, dict):
        # protobuf JSON omits empty repeated fields; cosign does so for bundles without a log entry.
        material.setdefault("tlogEntries", [])
    try:
        model = BundleModel.from_dict(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "bundle"
        raise SigningError(f"{origin}: not a valid Sigstore bundle: {where}: {first['msg']}") from exc
    if model.dsse_envelope is None:
        raise SigningError(f"{origin}: bundle signs a raw message, not a DSSE in-toto statement")
    return model


def read_bundle(path: Path) -> dict[str, Any]:
    """Read a bundle file with the size and nesting limits every untrusted input gets."""
    try:
        value: dict[str, Any] = loads_json(read_limited(path, MAX_BUNDLE_BYTES), str(path))
    except UnsafeInputError as exc:
        raise SigningError(str(exc)) from exc
    parse_bundle(value, str(path))  # refuses anything but a well-formed bundle object
    return value


def write_bundle(bundle: dict[str, Any], path: Path) -> None:
    """Write a bundle as indented JSON (its signature covers the payload, not the file bytes).

    The file appears whole or not at all: it is written under a name no other process uses and
    renamed over `path`, so a concurrent writer or reader never sees half a bundle.
    """
    write_atomic(path, bundle_text(bundle), mode=0o600)


def bundle_text(bundle: dict[str, Any]) -> str:
    """A bundle's file text: indented JSON and a final newline."""
    return json.dumps(bundle, indent=2) + "\n"
