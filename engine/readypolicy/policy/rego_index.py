"""A pack's Rego as OPA parses it: where each check's rule is, and what that rule reaches.

`policy explain` needs the `result` definitions of a check and the thresholds they read. A
definition names its check in one of two forms: the literal head `result("<id>", lane) := ...`, which
teams' own packs use, or the indexed head `result(id, lane) := ... if id == "<id>"`, which the shipped
packs use because OPA indexes a function by equalities on its arguments in rule bodies, not by the
constants in its heads (see `check_id_of`). Both come from `opa parse` with locations, never from
the text: a rule split over lines, a blank line or comment moved, a string that merely looks like a
rule, or a threshold read inside a renamed helper would each fool a pattern. References are
resolved the way Rego resolves them (imports, then rules of the same package), and a rule "reaches"
every string literal of its own definition and of the pack's rules and functions it refers to,
transitively.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from readypolicy.engines.opa_binary import OpaBinary
from readypolicy.engines.opa_parse import parse_module
from readypolicy.policy.interface import PolicySet

CHECK_RULE = "result"
"""The function every check defines: `result("<check id>", lane) := verdict`, or its indexed form."""


@dataclass(frozen=True)
class ParsedRule:
    """One definition of a rule, with the module it is in."""

    path: str
    """Bundle path of the module."""
    row: int
    """Line of the rule's head."""
    text: str
    """The definition's source text, as OPA's parser delimits it (else branches included)."""
    ast: dict[str, Any]
    """The rule's AST."""

    @property
    def indexed(self) -> bool:
        """Whether the head names its check in its body (`result(id, lane) := ... if id == "<id>"`).

        Under such a head an `else` branch answers for every other check id, since its head matches
        any id: `policy check` refuses it (annotations.py).
        """
        args = self.ast["head"].get("args") or []
        return bool(args) and args[0].get("type") == "var" and check_id_of(self.ast) is not None


def _ref_path(terms: list[dict[str, Any]]) -> list[str]:
    """`data.a.b[x].c` → ["data", "a", "b"]: the leading var and the string segments up to the first non-string."""
    out = [str(terms[0].get("value"))]
    for term in terms[1:]:
        if term.get("type") != "string":
            break
        out.append(str(term["value"]))
    return out


def _rule_name(rule: dict[str, Any]) -> str:
    head = rule["head"]
    ref = head.get("ref") or [{"type": "var", "value": head["name"]}]
    return ".".join(_ref_path(ref))


class RegoIndex:
    """Every rule of a pack's policy modules (tests are not part of a policy set), by full name."""

    def __init__(self, modules: dict[str, dict[str, Any]]) -> None:
        self.modules = modules
        """Bundle path → AST (with locations)."""
        self.rules: dict[str, list[ParsedRule]] = {}
        """`data.<package>.<rule>` → its definitions."""
        self._scopes: dict[str, tuple[str, dict[str, str]]] = {}
        for path, module in sorted(modules.items()):
            package = ".".join(_ref_path(module["package"]["path"]))
            imports: dict[str, str] = {}
            for item in module.get("imports") or []:
                segments = _ref_path(item["path"]["value"])
                imports[str(item.get("alias") or segments[-1])] = ".".join(segments)
            self._scopes[path] = (package, imports)
            for rule in module.get("rules") or []:
                location = rule.get("location") or {}
                text = base64.b64decode(location.get("text") or "").decode("utf-8", errors="replace")
                parsed = ParsedRule(path=path, row=int(location.get("row") or 0), text=text, ast=rule)
                self.rules.setdefault(f"{package}.{_rule_name(rule)}", []).append(parsed)

    @classmethod
    def of(cls, opa: OpaBinary, policy: PolicySet) -> RegoIndex:
        """Parse every Rego module of a policy set (a few at a time: each is one short `opa parse`)."""
        paths = sorted(path for path in policy.files if path.endswith(".rego"))
        with ThreadPoolExecutor(max_workers=4) as pool:
            asts = pool.map(lambda path: parse_module(opa, path, policy.files[path], locations=True), paths)
            return cls(dict(zip(paths, asts, strict=True)))

    def package_of(self, path: str) -> str:
        """The package a module declares, as `data.<package>`."""
        return self._scopes[path][0]

    def data_references(self, path: str) -> set[tuple[str, ...]]:
        """Every `data` path a module's imports and rules name, imports resolved (`lib.x` → data.readiness.lib.x).

        Local variables and rules of the module's own package are left out: they cannot reach another package.
        So is the bare `data` (every `data.x` reference holds it as its first term).
        """
        module = self.modules[path]
        _, imports = self._scopes[path]
        found: set[tuple[str, ...]] = set()
        for kind, value in _terms([module.get("imports") or [], module.get("rules") or []]):
            if kind != "ref":
                continue
            first, rest = value[0], value[1:]
            if first == "data" and rest:  # the bare `data` var is the head of every data reference
                found.add(tuple(value))
            elif first in imports:
                found.add((*imports[first].split("."), *rest))
        return found

    def check_rules(self, check_id: str) -> tuple[ParsedRule, ...]:
        """Definitions of the check's `result` in any package (either head form), in file and line order."""
        found = [
            rule for name, rules in self.rules.items() if name.rsplit(".", 1)[-1] == CHECK_RULE for rule in rules
            if check_id_of(rule.ast) == check_id
        ]
        return tuple(sorted(found, key=lambda r: (r.path, r.row)))

    def checks(self) -> dict[str, tuple[ParsedRule, ...]]:
        """Every check id the pack defines → its `result` definitions."""
        ids = {
            check_id_of(rule.ast) for name, rules in self.rules.items() if name.rsplit(".", 1)[-1] == CHECK_RULE
            for rule in rules
        }
        return {check_id: self.check_rules(check_id) for check_id in sorted(i for i in ids if isinstance(i, str))}

    def strings_reached(self, rules: tuple[ParsedRule, ...]) -> set[str]:
        """String literals of the rules and of every pack rule or function they refer to, transitively."""
        strings: set[str] = set()
        seen: set[str] = set()
        pending = list(rules)
        while pending:
            rule = pending.pop()
            package, imports = self._scopes[rule.path]
            for kind, value in _terms(rule.ast):
                if kind == "string":
                    strings.add(value)
                    continue
                name = self._resolve(value, package, imports)
                if name is not None and name not in seen:
                    seen.add(name)
                    pending.extend(self.rules[name])
        return strings

    def _resolve(self, segments: list[str], package: str, imports: dict[str, str]) -> str | None:
        """The pack rule a reference names (longest match), or None for locals, builtins and plain data."""
        first, rest = segments[0], segments[1:]
        if first == "data":
            full = ["data", *rest]
        elif first in imports:
            full = [*imports[first].split("."), *rest]
        else:
            full = [*package.split("."), first, *rest]
        for end in range(len(full), 1, -1):
            name = ".".join(full[:end])
            if name in self.rules:
                return name
        return None


def check_id_of(rule: dict[str, Any]) -> str | None:
    """The check id a function rule's definition answers for, else None.

    Either the head's literal first argument (`result("<id>", lane)`), or, where that argument is a
    variable, the string its rule body compares it with in the body's first expression, a plain
    `==` in either operand order (`result(id, lane) := ... if id == "<id>"`). Nothing else names a
    check: an equality with a non-literal, a unification (`=`), a negated expression or one under
    `with`, or the comparison anywhere but first; such a definition is no check's rule.
    """
    args = rule["head"].get("args") or []
    if not args:
        return None
    first = args[0]
    if first.get("type") == "string":
        return str(first["value"])
    body = rule.get("body") or []
    if first.get("type") != "var" or not body:
        return None
    expression = body[0]
    terms = expression.get("terms")
    if expression.get("negated") or expression.get("with") or not isinstance(terms, list) or len(terms) != 3:
        return None
    operator, left, right = terms
    if operator.get("type") != "ref" or [_kind(t) for t in operator.get("value") or []] != [("var", "equal")]:
        return None
    for var, literal in ((left, right), (right, left)):
        if _kind(var) == ("var", first.get("value")) and literal.get("type") == "string":
            return str(literal["value"])
    return None


def _kind(term: dict[str, Any]) -> tuple[Any, Any]:
    """(type, value) of an AST term, its location left out."""
    return term.get("type"), term.get("value")


def _terms(node: Any) -> Iterator[tuple[str, Any]]:
    """("string", value) for every string literal and ("ref", segments) for every reference or variable in an AST."""
    if isinstance(node, list):
        for item in node:
            yield from _terms(item)
        return
    if not isinstance(node, dict):
        return
    kind = node.get("type")
    if kind == "string" and isinstance(node.get("value"), str):
        yield "string", node["value"]
    elif kind == "var" and isinstance(node.get("value"), str):
        yield "ref", [node["value"]]
    elif kind == "ref" and isinstance(node.get("value"), list) and node["value"]:
        yield "ref", _ref_path(node["value"])
    for key, value in node.items():
        if key == "head" and isinstance(value, dict):
            # A head's own name is not a reference to follow: `result` would reach every other check.
            yield from _terms({k: v for k, v in value.items() if k not in ("name", "ref")})
        elif key != "location":
            yield from _terms(value)
