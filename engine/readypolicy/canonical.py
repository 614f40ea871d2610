"""Canonical JSON (RFC 8785), sha256 digests and UTC RFC 3339 timestamps.

Evidence and decisions are content-addressed: two parties that hold the same document must compute
the same digest, whatever key order or float formatting their JSON library uses. RFC 8785 (JCS)
gives one byte string per JSON value, so every digest in readypolicy is sha256 over that.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import rfc8785

_SAFE_INT = 2**53 - 1
"""RFC 8785 integers: |n| at most 2^53 - 1 (rfc8785 refuses larger ones)."""
_BMP_MAX = "\uffff"
_SORTED_COMPACT = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
"""The C encoder with JCS's separators, sorted keys (by code point) and raw UTF-8 text."""
_make_c_encoder: Callable[..., Callable[[Any, int], list[str]]] | None = getattr(json.encoder, "c_make_encoder", None)
_C_ENCODE = None if _make_c_encoder is None else _make_c_encoder(
    None, _SORTED_COMPACT.default, json.encoder.encode_basestring, None, ":", ",", True, False, False,
)
"""`_SORTED_COMPACT`'s own C encoder, made once and without its cycle check (markers None).

`JSONEncoder.encode` builds a new one per call, with a dict that records every container to catch
cycles: 10 to 15% of the encoding time on a fleet's documents. Only values a walk here has
finished go through it, and a cyclic value never finishes a walk (it ends in RecursionError), so
the check has nothing left to catch. Holding no state, it serves every thread. The arguments are
`JSONEncoder.iterencode`'s for `_SORTED_COMPACT`; a Python without the C accelerator uses
`_SORTED_COMPACT.encode`.
"""


def canonical_bytes(value: Any) -> bytes:
    """Serialize a JSON value to its RFC 8785 canonical bytes.

    Digests run several times per module in a fleet evaluation, and the reference serializer
    (`rfc8785`, pure Python) was most of readypolicy's own cost there. For values `_json_is_jcs`
    proves equal under both, the C `json` encoder writes the same bytes four to five times faster,
    the proof included (`plain_canonical_bytes`). A value off that path only because it holds
    integral floats (tools write `117.0` for a whole number of milliseconds) takes it once they are
    written as the integers JCS writes for them (`_integral_floats_as_ints`): the reference
    serializer cost 0.6 to 0.8 ms for such a 7 KB policy input. Every other value (and any encoding
    failure) takes the reference path, errors included. tests/test_canonical_fast.py holds the
    paths to the RFC's vectors and each other.
    """
    fast = plain_canonical_bytes(value)
    if fast is not None:
        return fast
    try:
        converted = _integral_floats_as_ints(value)
    except RecursionError:
        converted = _OFF_PATH
    if converted is not _OFF_PATH:
        fast = _c_encoded(converted)
        if fast is not None:
            return fast
    return rfc8785.dumps(value)


def plain_canonical_bytes(value: Any) -> bytes | None:
    """`canonical_bytes(value)` when the C encoder's proven path serves it, else None.

    Such bytes are also the JSON text Python's `json` module writes for `value`, but for key order,
    spacing and string escapes (`ensure_ascii`): every number is written as `json` writes it. So a
    reader that takes JSON text (OPA) reads the same value from them as from `json.dumps(value)`,
    and a caller that needs both a digest and that text encodes once. None (integral floats,
    exponent floats, anything `_json_is_jcs` refuses) means: use `canonical_bytes` and `json` apart.
    """
    try:
        fast = _json_is_jcs(value)
    except RecursionError:
        fast = False
    return _c_encoded(value) if fast else None


def _c_encoded(value: Any) -> bytes | None:
    """The C encoder's UTF-8 bytes for a value `_json_is_jcs` accepted, or None when encoding fails."""
    try:
        text = _SORTED_COMPACT.encode(value) if _C_ENCODE is None else "".join(_C_ENCODE(value, 0))
        return text.encode("utf-8")
    except (UnicodeEncodeError, ValueError, RecursionError):
        return None  # a lone surrogate, a value the walk missed, or nesting deeper than C allows: the reference path decides


_OFF_PATH = object()
"""`_integral_floats_as_ints`'s answer for a value the C encoder cannot write as RFC 8785."""
_EXACT_INTEGRAL = float(2**53)
"""Below this magnitude every integer is a float exactly, so an integral float's shortest digits are its integer's."""


def _integral_floats_as_ints(value: Any) -> Any:
    """`value` with each integral float below 2^53 in magnitude replaced by the int it equals, or `_OFF_PATH`.

    JCS writes such a float as its integer digits (`117.0` as `117`, `-0.0` as `0`), which is what
    the C encoder writes for that int; below 2^53 every integer is exactly a float, so no shorter
    digit string rounds to it and JCS's shortest-digits rule gives those same digits. Containers
    are copied only on the way to a replaced float; everything else must pass `_json_is_jcs` as
    it stands (keys included), or the answer is `_OFF_PATH` and the reference serializer decides.
    """
    kind = type(value)
    if kind is float and value.is_integer() and -_EXACT_INTEGRAL < value < _EXACT_INTEGRAL:
        return int(value)
    if kind is dict:
        copied: dict[str, Any] | None = None
        for key, item in value.items():
            if type(key) is not str or not (key.isascii() or max(key) <= _BMP_MAX):
                return _OFF_PATH
            new = _integral_floats_as_ints(item)
            if new is _OFF_PATH:
                return _OFF_PATH
            if new is not item:
                copied = dict(value) if copied is None else copied
                copied[key] = new
        return value if copied is None else copied
    if kind is list or kind is tuple:
        items = [_integral_floats_as_ints(item) for item in value]
        if any(new is _OFF_PATH for new in items):
            return _OFF_PATH
        return value if all(new is old for new, old in zip(items, value, strict=True)) else items
    return value if _json_is_jcs(value) else _OFF_PATH


def _json_is_jcs(value: Any) -> bool:
    """Whether sorted, compact `json.dumps(ensure_ascii=False)` is RFC 8785 for `value`, by construction.

    Both escape strings alike (`"`, backslash, b f n r t, other controls below U+0020 as lower-case
    `\\u00xx`, nothing else) and write true, false, null and integers alike. They differ only on:
    key order (JCS sorts by UTF-16 code units, Python by code points: the same unless a key holds a
    character above U+FFFF), floats that are integral (JCS `1`, json `1.0`) or that Python prints
    with an exponent (JCS `0.000001`, Python `1e-06`), NaN/infinity and integers beyond 2^53 - 1
    (JCS refuses them), lone surrogates (caught when encoding), and types other than exact dict,
    list, tuple, str, int, float, bool and None (json coerces some; keys must be exact str). Any of
    those answers False. A plain recursive walk: cheaper here than set/map tricks (measured), and
    cheaper than encoding first and scanning the text (a scan for `.0,`, `0e+`, 16-digit runs and
    number-like keys cost more than the walk on records and inputs, measured in the fifth round).
    Strings, booleans, nulls and integers (most leaves) are checked in the loop, without a call; the
    dict and list loops repeat that test on purpose: one shared item loop (a key pass, then the values)
    made the walk 20 to 25% slower on a fleet's inputs and documents (measured in the fifth round).
    """
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not (key.isascii() or max(key) <= _BMP_MAX):
                return False
            kind = type(item)
            if kind is str or kind is bool or item is None:
                continue
            if kind is int:
                if -_SAFE_INT <= item <= _SAFE_INT:
                    continue
                return False
            if not _json_is_jcs(item):
                return False
        return True
    if kind is list or kind is tuple:
        for item in value:
            kind = type(item)
            if kind is str or kind is bool or item is None:
                continue
            if kind is int:
                if -_SAFE_INT <= item <= _SAFE_INT:
                    continue
                return False
            if not _json_is_jcs(item):
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
