"""One validator for the names that label evidence and decisions: module, scope, revision, lane.

These names are printed one per line in CI logs, used as store keys and file names, and matched
against waivers. A trailing newline or a control character in one could forge an output line
(`payments\\nREADY`) or create a look-alike module that is stored and decided apart from the real
one. So every entry point (ingest options, a manifest's module, eval options, waivers, config)
refuses them here, with one message, before anything is stored or decided.

Note that JSON Schema `pattern` cannot do this on its own: Python's `re.search` lets `$` match
before a final newline, so `^[a-z]+$` accepts `"payments\\n"`.
"""

from __future__ import annotations

import unicodedata

from readypolicy.errors import ReadyPolicyError

MAX_IDENTIFIER_CHARS = 256
UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
"""Control, format (bidi overrides, zero-width), surrogate, private, unassigned, line/paragraph separators."""


class IdentifierError(ReadyPolicyError):
    """A module, scope, revision or lane name is empty, too long, padded or holds control characters."""


def identifier_problem(value: object) -> str | None:
    """What is wrong with an identifier, or None when it is safe to store, print and match."""
    if not isinstance(value, str):
        return f"must be a string, not {type(value).__name__}"
    if not value:
        return "must not be empty"
    if len(value) > MAX_IDENTIFIER_CHARS:
        return f"is {len(value)} characters, over the limit of {MAX_IDENTIFIER_CHARS}"
    for position, char in enumerate(value):
        if unicodedata.category(char) in UNSAFE_CATEGORIES:
            return f"holds the control or invisible character U+{ord(char):04X} at position {position}"
    if value != value.strip():
        return "has leading or trailing whitespace"
    return None


def check_identifier(what: str, value: object, origin: str = "") -> str:
    """`value` if it is a safe identifier, else IdentifierError naming `what` (e.g. `--module`) and where."""
    problem = identifier_problem(value)
    if problem is not None:
        where = f"{origin}: " if origin else ""
        shown = repr(value)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        raise IdentifierError(f"{where}{what} {shown} {problem}")
    return str(value)
