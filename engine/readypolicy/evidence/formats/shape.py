"""Tolerant accessors for JSON reports whose optional parts may be missing or of the wrong type.

A crafted or truncated report must end in a clear NormalizeError or in a conservative reading,
never in an AttributeError deep in a normalizer; these helpers give every optional field a
well-typed default so each normalizer only checks the parts it truly requires.
"""

from __future__ import annotations

from typing import Any

from readypolicy.errors import ReadyPolicyError
from readypolicy.evidence.interface import Artifact

MESSAGE_LIMIT = 500


def mapping(value: Any) -> dict[str, Any]:
    """The value if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def items(value: Any) -> list[Any]:
    """The value if it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []


def text(value: Any, default: str = "") -> str:
    """A string field; numbers are rendered (some tools write versions as numbers), anything else is `default`."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return default


def optional_text(value: Any) -> str | None:
    """A non-empty string field, or None."""
    return text(value) or None


def line(value: Any) -> int | None:
    """A 1-based line number, or None when absent or nonsensical."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def message(value: Any) -> str:
    """A one-line, length-capped message (reports embed multi-line tracebacks and code)."""
    return " ".join(text(value).split())[:MESSAGE_LIMIT]


def strings(value: Any) -> list[str]:
    """The string members of a JSON array (others dropped)."""
    return [item for item in items(value) if isinstance(item, str) and item]


def json_or_none(artifact: Artifact) -> Any:
    """The parsed JSON for detectors that must look inside (list-shaped reports), or None if it does not parse.

    Detection must never raise; normalize() reports the parse error. The parse is cached on the artifact.
    """
    try:
        return artifact.json()
    except ReadyPolicyError:
        return None
