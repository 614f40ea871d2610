"""Canonical JSON (RFC 8785), sha256 digests and UTC RFC 3339 timestamps.

Evidence and decisions are content-addressed: two parties that hold the same document must compute
the same digest, whatever key order or float formatting their JSON library uses. RFC 8785 (JCS)
gives one byte string per JSON value, so every digest in readypolicy is sha256 over that.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import rfc8785


def canonical_bytes(value: Any) -> bytes:
    """Serialize a JSON value to its RFC 8785 canonical bytes."""
    return rfc8785.dumps(value)


def sha256_hex(data: bytes) -> str:
    """Hex sha256 of raw bytes."""
    return hashlib.sha256(data).hexdigest()


def digest(value: Any) -> str:
    """`sha256:<hex>` over the canonical form of a JSON value."""
    return "sha256:" + sha256_hex(canonical_bytes(value))


def raw_digest(data: bytes) -> str:
    """`sha256:<hex>` over raw bytes (an artifact as the tool wrote it)."""
    return "sha256:" + sha256_hex(data)


def utc_now() -> datetime:
    """The current time, timezone-aware UTC, truncated to whole microseconds."""
    return datetime.now(UTC)


def rfc3339(moment: datetime) -> str:
    """Format an aware datetime as UTC RFC 3339 with a `Z` suffix."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: readypolicy only handles timezone-aware times")
    text = moment.astimezone(UTC).isoformat(timespec="microseconds")
    return text.replace("+00:00", "Z")


def parse_rfc3339(text: str) -> datetime:
    """Parse an RFC 3339 / ISO 8601 timestamp; naive values are taken as UTC."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
