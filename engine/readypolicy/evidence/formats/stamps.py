"""Report timestamps → UTC RFC 3339, or None when a report's stamp cannot be read.

Tools write local times without offsets, epoch seconds or milliseconds, and nanosecond
fractions; an unreadable stamp must not make otherwise good evidence unusable, so it is dropped
(the store still records when the evidence was ingested).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from readypolicy.canonical import parse_rfc3339, rfc3339


def iso(value: Any) -> str | None:
    """An ISO 8601 / RFC 3339 string as UTC RFC 3339 (naive times taken as UTC), else None."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return rfc3339(parse_rfc3339(value))
    except (ValueError, OverflowError):
        return None


def epoch(seconds: Any) -> str | None:
    """Epoch seconds (int or float) as UTC RFC 3339, else None."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return None
    try:
        return rfc3339(datetime.fromtimestamp(seconds, tz=UTC))
    except (ValueError, OverflowError, OSError):
        return None
