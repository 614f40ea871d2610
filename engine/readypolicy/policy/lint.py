"""`opa fmt` and `opa check --strict` over a pack's sources, with messages an author can act on.

Check compiles the sources (tests included) against the restricted capabilities, then makes sure no test file
lends the policy a rule the built bundle would lack (test_isolation.py). OPA's own message
for a removed builtin is "undefined function http.send", which reads like a typo; it is rewritten
to say the builtin is denied and why, still at the file:line of the call.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from readypolicy.engines.capabilities import is_denied
from readypolicy.engines.opa_binary import OpaBinary
from readypolicy.policy.interface import PolicyError, PolicySet
from readypolicy.policy.source_tree import SourceTree, display_path, rego_sources, staged_sources
from readypolicy.policy.test_isolation import test_isolation_problems

UNDEFINED_FUNCTION = "undefined function "


@dataclass(frozen=True)
class CheckProblem:
    """One compile error, located in the author's source file."""

    location: str
    """Source file:row:col."""
    code: str
    """OPA's error code, e.g. `rego_type_error`."""
    message: str
    """What is wrong."""

    def __str__(self) -> str:
        return f"{self.location}: {self.code}: {self.message}"


def unformatted(opa: OpaBinary, policy: PolicySet) -> list[Path]:
    """Source .rego files `opa fmt` would change."""
    files = _sources(policy)
    done = opa.run(["fmt", "--list", *map(str, files)])
    if done.returncode != 0:
        raise PolicyError(f"pack {policy.pack!r}: opa fmt failed: {_text(done.stderr or done.stdout)}")
    listed = {Path(line.strip()).resolve() for line in done.stdout.decode().splitlines() if line.strip()}
    return [path for path in files if path.resolve() in listed]


def format_sources(opa: OpaBinary, policy: PolicySet) -> list[Path]:
    """Rewrite unformatted source files in place; returns the files changed."""
    changed = unformatted(opa, policy)
    if changed:
        done = opa.run(["fmt", "--write", *map(str, changed)])
        if done.returncode != 0:
            raise PolicyError(f"pack {policy.pack!r}: opa fmt --write failed: {_text(done.stderr or done.stdout)}")
    return changed


def check_sources(opa: OpaBinary, policy: PolicySet) -> list[CheckProblem]:
    """Compile errors of the pack's sources under `--strict` and the restricted capabilities (empty: clean)."""
    if policy.source != "tree":
        raise PolicyError(f"{policy.origin}: check runs on a pack's sources, not on a built bundle")
    with staged_sources(policy.origin, policy.root) as tree:
        done = opa.run([
            "check", "--strict", "--format", "json", "--capabilities", str(opa.capabilities_file), str(tree.directory),
        ])
        if done.returncode == 0:
            # It compiled with the tests loaded; the bundle leaves them out, so no test may lend the policy a rule.
            return [CheckProblem(where, "test_isolation", message) for where, message in test_isolation_problems(opa, policy)]
        try:
            errors = json.loads(done.stdout.strip() or done.stderr)["errors"]  # OPA prints the JSON on stderr
        except (ValueError, KeyError, TypeError):
            text = tree.source_text(_text(done.stderr or done.stdout))
            raise PolicyError(f"pack {policy.pack!r}: opa check failed: {text}") from None
        return [_problem(error, tree) for error in errors]


def _problem(error: dict[str, Any], tree: SourceTree) -> CheckProblem:
    location = error.get("location") or {}
    staged = str(location.get("file", ""))
    source = tree.source_of(staged)
    where = f"{display_path(source) if source else staged or '?'}:{location.get('row', '?')}:{location.get('col', '?')}"
    message = tree.source_text(str(error.get("message", "")))
    code = str(error.get("code", "error"))
    if message.startswith(UNDEFINED_FUNCTION):
        builtin = message.removeprefix(UNDEFINED_FUNCTION).strip()
        if is_denied(builtin):
            message = (
                f"builtin {builtin} is not allowed in readiness policies (it reaches the network, the runtime, "
                "the clock or randomness, so decisions could not be replayed); use input.now / evidence instead"
            )
            code = "denied_builtin"
    return CheckProblem(location=where, code=code, message=message)


def _sources(policy: PolicySet) -> list[Path]:
    if policy.source != "tree":
        raise PolicyError(f"{policy.origin}: fmt runs on a pack's sources, not on a built bundle")
    files = rego_sources(policy.origin)
    if not files:
        raise PolicyError(f"{policy.origin}: pack has no .rego sources")
    return files


def _text(data: bytes | str) -> str:
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    return " ".join(text.split())[:800] or "(no output)"
