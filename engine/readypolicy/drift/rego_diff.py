"""Rule-level differences between two versions of a Rego module, from OPA's own parser.

Text diffs flag formatting and comments as policy changes and say nothing about which rule moved.
`opa parse --format json` (without locations or comments) gives an AST in which only meaning
remains, so two versions are compared rule by rule: all definitions that share a ground head
reference (incremental rules, function clauses, `default`) form one rule, compared as a multiset
of canonical JSON.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from readypolicy.canonical import canonical_bytes
from readypolicy.drift.interface import RuleChange
from readypolicy.engines.opa_binary import OpaBinary
from readypolicy.engines.opa_parse import parse_module

IMPORTS = "(imports)"


def package_name(module: dict[str, Any]) -> str:
    """`readiness.checks` for `package readiness.checks` (the leading `data` dropped)."""
    terms = module["package"]["path"]
    return ".".join(str(term["value"]) for term in terms[1:])


def rule_key(rule: dict[str, Any]) -> str:
    """The ground prefix of a rule's head reference: `a.b` for `a.b[c] := 1`, `deny` for `deny contains x`."""
    head = rule["head"]
    ref = head.get("ref") or [{"type": "var", "value": head["name"]}]
    parts = [str(ref[0]["value"])]
    for term in ref[1:]:
        if term.get("type") != "string":
            break
        parts.append(str(term["value"]))
    return ".".join(parts)


def rule_definitions(module: dict[str, Any]) -> dict[str, Counter[bytes]]:
    """Rule key → multiset of the canonical JSON of its definitions; the import list is one more entry."""
    out: dict[str, Counter[bytes]] = {}
    for rule in module.get("rules") or []:
        out.setdefault(rule_key(rule), Counter())[canonical_bytes(rule)] += 1
    out[IMPORTS] = Counter([canonical_bytes(module.get("imports") or [])])
    return out


def _count(definitions: Counter[bytes]) -> int:
    return sum(definitions.values())


def diff_modules(old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[RuleChange]:
    """Rules added, removed or changed between two parsed modules (either may be absent)."""
    before = {(package_name(old), k): v for k, v in rule_definitions(old).items()} if old else {}
    after = {(package_name(new), k): v for k, v in rule_definitions(new).items()} if new else {}
    changes: list[RuleChange] = []
    for package, rule in sorted(before.keys() | after.keys()):
        was, now = before.get((package, rule)), after.get((package, rule))
        if rule == IMPORTS and (was is None or now is None):
            continue
        if was is None or now is None:
            changes.append(RuleChange(package, rule, "added" if was is None else "removed"))
        elif was != now:
            counts = f"{_count(was)} -> {_count(now)} definitions" if _count(was) != _count(now) else ""
            changes.append(RuleChange(package, rule, "changed", counts))
    return changes


def diff_rego(opa: OpaBinary, path: str, old: bytes | None, new: bytes | None) -> list[RuleChange]:
    """Rule changes between two versions of the module at `path` (None: the file does not exist there)."""
    parsed_old = parse_module(opa, path, old) if old is not None else None
    parsed_new = parse_module(opa, path, new) if new is not None else None
    return diff_modules(parsed_old, parsed_new)
