"""The capabilities file that keeps policies pure.

A readiness decision must be reproducible months later from the recorded inputs alone, and a
policy must not exfiltrate evidence. So policies are compiled against the engine's own builtin list
minus every builtin OPA itself marks `nondeterministic` (for the OPA version in use: today that
includes `io.jwt.decode_verify`, which reads the clock, and `json.match_schema`, which may fetch
remote references), plus everything that reaches the network, reads the runtime, or depends on the
clock or chance, whatever OPA says; the evaluation time comes in as `input.now` instead.
"""

from __future__ import annotations

import json
from typing import Any

DENIED_EXACT = frozenset({"http.send", "opa.runtime", "time.now_ns", "uuid.rfc4122"})
"""Network, runtime, clock and randomness, denied even if a future OPA stopped flagging them."""
DENIED_PREFIXES = ("net.", "rand.")


def is_denied(builtin: str, nondeterministic: bool = False) -> bool:
    """Whether a builtin is removed from the capabilities policies compile against."""
    return nondeterministic or builtin in DENIED_EXACT or builtin.startswith(DENIED_PREFIXES)


def restrict(capabilities: dict[str, Any]) -> dict[str, Any]:
    """The engine's capabilities with the denied builtins removed and no network access."""
    restricted = dict(capabilities)
    restricted["builtins"] = [
        b for b in capabilities.get("builtins", [])
        if not is_denied(str(b.get("name")), b.get("nondeterministic") is True)
    ]
    restricted["allow_net"] = []
    return restricted


def dumps(capabilities: dict[str, Any]) -> str:
    """Stable serialization of a capabilities document."""
    return json.dumps(capabilities, sort_keys=True, separators=(",", ":"))
