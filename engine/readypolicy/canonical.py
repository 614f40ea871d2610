"""Canonical JSON (RFC 8785), sha256 digests and UTC RFC 3339 timestamps.

Evidence and decisions are content-addressed: two parties that hold the same document must compute
the same digest, whatever key order or float formatting their JSON library uses. RFC 8785 (JCS)
gives one byte string per JSON value, so every digest in readypolicy is sha256 over that.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import UTC, datetime
from typing import Any

import rfc8785

_SAFE_INT = 2**53 - 1
"""RFC 8785 integers: |n| at most 2^53 - 1 (rfc8785 refuses larger ones)."""
_BMP_MAX = "\uffff"
_SORTED_COMPACT = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
"""The C encoder with JCS's separators, sorted keys (by code point) and raw UTF-8 text."""


def canonical_bytes(value: Any) -> bytes:
    """Serialize a JSON value to its RFC 8785 canonical bytes.

    Digests run several times per module in a fleet evaluation, and the reference serializer
    (`rfc8785`, pure Python) was most of readypolicy's own cost there. For values `_json_is_jcs`
    proves equal under both, the C `json` encoder writes the same bytes four to five times faster,
    the proof included; every other value (and any encoding failure) takes the reference path,
    errors included. tests/test_canonical_fast.py holds the two to the RFC's vectors and each other.
    """
    try:
        fast = _json_is_jcs(value)
    except RecursionError:
        fast = False
    if fast:
        try:
            return _SORTED_COMPACT.encode(value).encode("utf-8")
        except (UnicodeEncodeError, ValueError):
            pass  # a lone surrogate or a value the walk missed: the reference path decides (and raises)
    return rfc8785.dumps(value)


def _json_is_jcs(value: Any) -> bool:
    """Whether sorted, compact `json.dumps(ensure_ascii=False)` is RFC 8785 for `value`, by construction.

    Both escape strings alike (`"`, backslash, b f n r t, other controls below U+0020 as lower-case
    `\\u00xx`, nothing else) and write true, false, null and integers alike. They differ only on:
    key order (JCS sorts by UTF-16 code units, Python by code points: the same unless a key holds a
    character above U+FFFF), floats that are integral (JCS `1`, json `1.0`) or that Python prints
    with an exponent (JCS `0.000001`, Python `1e-06`), NaN/infinity and integers beyond 2^53 - 1
    (JCS refuses them), lone surrogates (caught when encoding), and types other than exact dict,
    list, tuple, str, int, float, bool and None (json coerces some; keys must be exact str). Any of
    those answers False. A plain recursive walk: cheaper here than set/map tricks (measured).
    """
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not (key.isascii() or max(key) <= _BMP_MAX):
                return False
            kind = type(item)  # strings, booleans and nulls (most leaves) need no call of their own
            if kind is not str and kind is not bool and item is not None and not _json_is_jcs(item):
                return False
        return True
    if kind is list or kind is tuple:
        for item in value:
            kind = type(item)
            if kind is not str and kind is not bool and item is not None and not _json_is_jcs(item):
                return False
        return True
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        in_range: bool = -_SAFE_INT <= value <= _SAFE_INT
        return in_range
    if kind is float:
        return math.isfinite(value) and not value.is_integer() and "e" not in repr(value)
    return False


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
