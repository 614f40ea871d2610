"""`--since`: the one reading of a "from this date or time on" option (audit log, report, drift).

Stored times are UTC RFC 3339 strings and windows are compared as text, so a date or a time in any
offset is turned into that same form before it reaches a store query.
"""

from __future__ import annotations

from readypolicy.canonical import parse_rfc3339, rfc3339
from readypolicy.errors import ReadyPolicyError


class SinceError(ReadyPolicyError):
    """A `--since` value is neither a date nor an RFC 3339 time."""


def since_time(text: str) -> str:
    """A date (YYYY-MM-DD, midnight UTC) or RFC 3339 time as the UTC RFC 3339 text stored times are compared with."""
    try:
        return rfc3339(parse_rfc3339(text))
    except ValueError as exc:
        raise SinceError(f"--since {text!r} is not a date (YYYY-MM-DD) or an RFC 3339 time") from exc
