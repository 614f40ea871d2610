"""Each check rule describes itself in a METADATA annotation, and the pack's catalog must agree with it.

A check is written twice: the rule (`result("<id>", lane)`, or the indexed
`result(id, lane) := ... if id == "<id>"`) and its catalog entry in the pack's
`config/data.yaml`, whose title, severity and remediation every report shows. Kept apart, the two
drift: a severity raised in the rule's comment but not in the catalog, a check renamed in one place.
So every check rule carries a `# METADATA` block (title, description, and under `custom` its id,
severity and remediation), read back with `opa inspect -a` exactly as OPA parses it, and:

* a check rule without the annotation, or with a field missing or an id that is not its own, is a problem;
* a catalog entry without a check rule is a problem;
* an `else` branch under an indexed head is a problem: that head matches every id, so its else
  would answer for every other check whose own rule is undefined (a verdict under the wrong name);
* where the rule is the pack's own (its file lies inside the pack directory), the catalog entry's
  title, severity and remediation must equal the annotation's. A pack that reuses another pack's
  checks (`sources: {checks: ../../checks}`) speaks to its own audience and may word them its way
  (the priority pack's "P0: ..." titles); the reused rule is held to the catalog of the pack that owns it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from readypolicy.decision.catalog import pack_config
from readypolicy.engines.opa_binary import OpaBinary
from readypolicy.policy.interface import PolicyError, PolicySet
from readypolicy.policy.rego_index import ParsedRule, RegoIndex
from readypolicy.policy.source_tree import SourceTree, display_path, staged_sources

CATALOG_FIELDS = ("title", "severity", "remediation")
"""Fields the catalog entry and the annotation both hold, and must hold alike in the owning pack."""

INDEXED_ELSE = (
    "an else branch under the indexed head result(id, lane) answers for every other check id; "
    "move the branches into a helper function the head calls"
)


@dataclass(frozen=True)
class AnnotationProblem:
    """A check whose annotation is missing, incomplete or disagrees with the catalog."""

    location: str
    """Source file:row of the rule (or the catalog file for an entry without a rule)."""
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


def annotation_problems(opa: OpaBinary, policy: PolicySet) -> list[AnnotationProblem]:
    """Every disagreement between the pack's check rules, their annotations and its catalog (empty: agreed)."""
    if policy.source != "tree":
        raise PolicyError(f"{policy.origin}: annotations are checked on a pack's sources, not on a built bundle")
    catalog = (pack_config(policy) or {}).get("checks", {})
    if not isinstance(catalog, dict):
        raise PolicyError(f"pack {policy.pack!r}: {policy.root}/config/data.yaml 'checks' must be a mapping of check id to entry")
    checks = RegoIndex.of(opa, policy).checks()
    with staged_sources(policy.origin, policy.root) as tree:
        annotated = _rule_annotations(opa, policy, tree)
        catalog_file = next(
            (display_path(source) for staged, source in tree.sources.items() if staged.startswith(f"{policy.root}/config/data.")),
            f"{policy.root}/config/data.yaml",
        )
        problems: list[AnnotationProblem] = []
        for check_id, rules in checks.items():
            for rule in rules:
                source = tree.sources.get(rule.path)
                where = f"{display_path(source) if source else rule.path}:{rule.row}"
                entry = catalog.get(check_id) if source is not None and owned_by(source, policy) else None
                if rule.indexed and "else" in rule.ast:
                    problems.append(AnnotationProblem(where, f"check {check_id}: {INDEXED_ELSE}"))
                problems.extend(
                    AnnotationProblem(where, f"check {check_id}: {message}")
                    for message in _rule_problems(check_id, rule, annotated, entry, catalog_file)
                )
    problems.extend(
        AnnotationProblem(catalog_file, f"catalog entry {check_id} has no check rule result({json.dumps(check_id)}, lane)")
        for check_id in sorted(set(catalog) - set(checks))
    )
    return problems


def _rule_annotations(opa: OpaBinary, policy: PolicySet, tree: SourceTree) -> dict[tuple[str, int], dict[str, Any]]:
    """(bundle path, row) → the rule-scope annotation OPA reads on the rule at that line."""
    done = opa.run(["inspect", "-a", "--format", "json", str(tree.directory)])
    if done.returncode != 0:
        text = tree.source_text((done.stderr or done.stdout).decode("utf-8", errors="replace"))
        raise PolicyError(f"pack {policy.pack!r}: opa inspect failed: {' '.join(text.split())[:800]}")
    try:
        entries = json.loads(done.stdout).get("annotations") or []
    except (ValueError, AttributeError):
        raise PolicyError(f"pack {policy.pack!r}: opa inspect printed no JSON document") from None
    found: dict[tuple[str, int], dict[str, Any]] = {}
    for entry in entries:
        annotation, location = entry.get("annotations") or {}, entry.get("location") or {}
        if annotation.get("scope") != "rule":
            continue
        path = str(location.get("file", "")).removeprefix(str(tree.directory) + os.sep)
        found[(path, int(location.get("row") or 0))] = annotation
    return found


def _rule_problems(
    check_id: str, rule: ParsedRule, annotated: dict[tuple[str, int], dict[str, Any]],
    entry: Any, catalog_file: str,
) -> list[str]:
    annotation = annotated.get((rule.path, rule.row))
    if annotation is None:
        return ["the rule has no METADATA annotation (title, description, custom: {id, severity, remediation})"]
    raw_custom = annotation.get("custom")
    custom: dict[str, Any] = raw_custom if isinstance(raw_custom, dict) else {}
    fields = {
        "title": annotation.get("title"),
        "description": annotation.get("description"),
        "custom.id": custom.get("id"),
        "custom.severity": custom.get("severity"),
        "custom.remediation": custom.get("remediation"),
    }
    lacking = [name for name, value in fields.items() if not isinstance(value, str) or not value.strip()]
    if lacking:
        return [f"its METADATA annotation lacks {', '.join(lacking)}"]
    if fields["custom.id"] != check_id:
        return [f"its METADATA annotation names custom.id {fields['custom.id']!r}, not {check_id!r}"]
    if not isinstance(entry, dict):
        return []
    said = {"title": fields["title"], "severity": fields["custom.severity"], "remediation": fields["custom.remediation"]}
    return [
        f"annotation {name} {said[name]!r} differs from the catalog's {entry.get(name)!r} ({catalog_file})"
        for name in CATALOG_FIELDS if entry.get(name) != said[name]
    ]


def owned_by(source: Path, policy: PolicySet) -> bool:
    """Whether a source file lies inside the pack's own directory (not reused from another pack)."""
    return source.resolve().is_relative_to(policy.origin.resolve())
