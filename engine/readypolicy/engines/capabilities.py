"""The capabilities file that keeps policies pure.

A readiness decision must be reproducible months later from the recorded inputs alone, and a
policy must not exfiltrate evidence. So policies are compiled against the engine's own builtin list
minus every builtin OPA itself marks `nondeterministic` (for the OPA version in use: today that
includes `io.jwt.decode_verify`, which reads the clock, and `json.match_schema`, which may fetch
remote references), plus everything that reaches the network, reads the runtime, or depends on the
clock or chance, whatever OPA says; the evaluation time comes in as `input.now` instead.

For the pinned OPA the restricted list ships inside the package (`capabilities-restricted.json`,
written by `scripts/gen-capabilities` and checked against the real `opa capabilities --current` by
tests/test_capabilities_shipped.py), so a gate does not spend an OPA process on deriving it. The list
is an allowlist: OPA refuses any builtin absent from it, so it can never allow a denied builtin, and it
is never read from a writable cache (only the cached version of the binary decides whether it
applies). Any other OPA version derives its list per process instead
(`OpaBinary.capabilities_file`), because a newer OPA may flag more builtins nondeterministic and an
older one may not implement every listed builtin or feature.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DENIED_EXACT = frozenset({"http.send", "opa.runtime", "time.now_ns", "uuid.rfc4122"})
"""Network, runtime, clock and randomness, denied even if a future OPA stopped flagging them."""
DENIED_PREFIXES = ("net.", "rand.")

PINNED_OPA_VERSION = "1.22.2"
"""The OPA version `scripts/install-opa` builds and the shipped restricted list was generated from."""
SHIPPED = Path(__file__).with_name("capabilities-restricted.json")
"""The restricted capabilities of PINNED_OPA_VERSION, shipped with the package (never a cache)."""


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


def restricted_text(current: bytes) -> str:
    """The restricted capabilities document for `opa capabilities --current` output; ValueError if it is not one."""
    full = json.loads(current)
    if not isinstance(full, dict) or not isinstance(full.get("builtins"), list) or not full["builtins"]:
        raise ValueError("no builtin list")
    return dumps(restrict(full))


def shipped_for(version: str) -> Path | None:
    """The shipped restricted list if it was generated from this OPA version, else None (derive it)."""
    return SHIPPED if version == PINNED_OPA_VERSION else None
