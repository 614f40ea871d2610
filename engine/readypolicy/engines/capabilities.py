"""The capabilities file that keeps policies pure.

A readiness decision must be reproducible months later from the recorded inputs alone, and a
policy must not exfiltrate evidence. So policies are compiled against the engine's own builtin list
minus everything that reaches the network, reads the runtime, or depends on the clock or chance;
the evaluation time comes in as `input.now` instead.
"""

from __future__ import annotations

import json
from typing import Any

DENIED_EXACT = frozenset({"http.send", "opa.runtime", "time.now_ns", "rand.intn", "uuid.rfc4122"})
DENIED_PREFIXES = ("net.",)


def is_denied(builtin: str) -> bool:
    """Whether a builtin is removed from the capabilities policies compile against."""
    return builtin in DENIED_EXACT or builtin.startswith(DENIED_PREFIXES)


def restrict(capabilities: dict[str, Any]) -> dict[str, Any]:
    """The engine's capabilities with the denied builtins removed."""
    restricted = dict(capabilities)
    restricted["builtins"] = [b for b in capabilities.get("builtins", []) if not is_denied(b["name"])]
    restricted.pop("allow_net", None)
    restricted["allow_net"] = []
    return restricted


def dumps(capabilities: dict[str, Any]) -> str:
    """Stable serialization, so the cached file's digest only changes when the content does."""
    return json.dumps(capabilities, sort_keys=True, separators=(",", ":"))
