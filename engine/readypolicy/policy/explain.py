"""Explain one check of one decision: the rule that produced it, what it read, the thresholds in force.

An author debugging "why did coverage.line fail for payments in integration?" needs four things in
one place: where the rule is (file:line of its `result` definition, `result("<id>", lane)` or the
indexed `result(id, lane) := ... if id == "<id>"`, found in OPA's own parse of the pack by
`policy/rego_index.py`, never by matching text), what it answered,
the evidence documents of the kinds the check needs (digests and data, exactly as the policy saw
them) and every threshold with its pack value, the manifest's override and the value in effect.
The effective values are computed by OPA itself (`lib.threshold`), never re-implemented here, so
the explanation cannot disagree with the decision.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from readypolicy.engines.interface import EngineError, RegoEngine
from readypolicy.engines.opa_binary import OpaBinary
from readypolicy.evaluate import Evaluation, evaluate, resolve_subject
from readypolicy.policy import stage
from readypolicy.policy.interface import PolicyError, PolicySet
from readypolicy.policy.pack import source_dirs
from readypolicy.policy.rego_index import RegoIndex
from readypolicy.policy.source_tree import display_path
from readypolicy.records import CheckResult, InputEvidence, PolicyInput
from readypolicy.store.interface import Store


@dataclass(frozen=True)
class RuleSource:
    """One definition of the check's `result` rule."""

    location: str
    """Source file:line (or bundle!path:line for a built bundle)."""
    text: str
    """The rule's text as OPA's parser delimits it, `else` branches included."""


@dataclass(frozen=True)
class Threshold:
    """A lane threshold as the pack sets it, as the manifest overrides it, and as it is applied."""

    name: str
    """Threshold name, e.g. `coverage_line_min`."""
    base: Any
    """Value from the pack's lane configuration (lower lanes overridden by higher ones)."""
    override: Any
    """Value the module manifest asks for in this lane, or None."""
    effective: Any
    """Value `lib.threshold` applies (an override may tighten but never loosen)."""
    used: bool
    """Whether the check's rule names it, itself or in a pack rule or function it calls."""


@dataclass(frozen=True)
class Explanation:
    """Everything `policy explain` shows about one check."""

    module: str
    """Module evaluated."""
    revision: str
    """Revision whose evidence was used."""
    lane: str
    """Lane decided."""
    policy_revision: str
    """Revision of the policy that answered."""
    check: CheckResult
    """The check as the decision holds it (status, message, evidence digests, catalog fields)."""
    rules: tuple[RuleSource, ...]
    """Definitions of the check's `result` in the pack (either head form)."""
    evidence: dict[str, list[InputEvidence]]
    """Kind → the documents of that kind the policy saw, for every kind the check needs."""
    thresholds: tuple[Threshold, ...]
    """Thresholds of the lane, the ones the rule reads first."""
    thresholds_note: str
    """Why thresholds are absent, when they are."""


def explain(
    *, store: Store, engine: RegoEngine, opa: OpaBinary, policy: PolicySet, cache_dir: Path, lane: str, module: str,
    revision: str | None, check_id: str, now: str, waivers: tuple[dict[str, Any], ...] = (),
) -> Explanation:
    """Evaluate the lane for the module (nothing is recorded) and explain one of its checks; `opa` parses the pack."""
    subject = resolve_subject(store, module, revision)
    evaluation: Evaluation = next(evaluate(
        store=store, engine=engine, policy=policy, cache_dir=cache_dir, lane=lane, subjects=[subject],
        now=now, waivers=waivers,
    ))
    checks = {c["id"]: c for c in evaluation.record["checks"]}
    if check_id not in checks:
        raise PolicyError(f"lane {lane!r} of pack {policy.pack!r} has no check {check_id!r} (checks: {', '.join(checks)})")
    check = checks[check_id]
    index = RegoIndex.of(opa, policy)
    parsed = index.check_rules(check_id)
    rules = tuple(RuleSource(location=f"{_where(policy, rule.path)}:{rule.row}", text=rule.text) for rule in parsed)
    thresholds, note = _thresholds(engine, policy, cache_dir, lane, evaluation.policy_input, index.strings_reached(parsed))
    seen = evaluation.policy_input["evidence"]
    return Explanation(
        module=subject.module, revision=subject.revision, lane=lane, policy_revision=policy.revision, check=check,
        rules=rules, evidence={kind: list(seen.get(kind, [])) for kind in check.get("needs", [])},
        thresholds=thresholds, thresholds_note=note,
    )


def _where(policy: PolicySet, bundle_path: str) -> str:
    """The file an author opens for a bundle path: the source file of a pack, bundle!path for a tarball."""
    if policy.source == "tree":
        for bundle_dir, source in source_dirs(policy.origin).items():
            prefix = f"{policy.root}/{bundle_dir}/"
            if bundle_path.startswith(prefix):
                return display_path(source / bundle_path.removeprefix(prefix))
    return f"{display_path(policy.origin)}!/{bundle_path}"


def _thresholds(
    engine: RegoEngine, policy: PolicySet, cache_dir: Path, lane: str, policy_input: PolicyInput, named: set[str],
) -> tuple[tuple[Threshold, ...], str]:
    """The lane's thresholds as OPA computes them; `named` holds the strings the check's rules reach."""
    lib = f"data.{policy.root}.lib"
    lane_json = json.dumps(lane)
    query = (
        f'{{"base": {lib}.lane_thresholds({lane_json}), '
        f'"effective": {{n: v | some n, _ in {lib}.lane_thresholds({lane_json}); v := {lib}.threshold({lane_json}, n)}}}}'
    )
    try:
        [values] = engine.evaluate(stage.load(policy, cache_dir), query, [policy_input])
    except EngineError as exc:
        return (), f"pack {policy.pack!r} exposes no {lib}.lane_thresholds / {lib}.threshold ({exc})"
    manifest = policy_input.get("manifest") or {}
    overrides = ((manifest.get("thresholds") or {}).get(lane) or {}) if isinstance(manifest, dict) else {}
    rows = [
        Threshold(name=name, base=base, override=overrides.get(name), effective=values["effective"].get(name), used=name in named)
        for name, base in values["base"].items()
    ]
    rows.sort(key=lambda t: (not t.used, t.name))
    return tuple(rows), "" if rows else f"lane {lane!r} sets no thresholds"


def to_json(explanation: Explanation) -> dict[str, Any]:
    """A JSON-ready form, for `--format json`."""
    return {
        "module": explanation.module, "revision": explanation.revision, "lane": explanation.lane,
        "policy_revision": explanation.policy_revision, "check": explanation.check,
        "rules": [{"location": r.location, "text": r.text} for r in explanation.rules],
        "evidence": explanation.evidence,
        "thresholds": [
            {"name": t.name, "base": t.base, "override": t.override, "effective": t.effective, "used_by_rule": t.used}
            for t in explanation.thresholds
        ],
    }


def render_text(explanation: Explanation) -> str:
    """The explanation for a terminal."""
    check = explanation.check
    lines = [
        f"{check['id']} for {explanation.module} @ {explanation.revision} -> {explanation.lane} "
        f"(policy {explanation.policy_revision})",
        f"  result:    {check['status'].upper()}: {check['message']}",
        f"  check:     {check.get('title', '')} [severity {check.get('severity', '?')}]",
    ]
    if check["status"] != "pass" and check.get("remediation"):
        lines.append(f"  fix:       {check['remediation']}")
    lines.append("")
    if explanation.rules:
        for rule in explanation.rules:
            lines.append(f"rule {rule.location}")
            lines.extend(f"  | {line}" for line in rule.text.splitlines())
    else:
        lines.append(f"rule: no result({json.dumps(check['id'])}, ...) definition found (the check is `missing` by default)")
    lines.append("")
    cited = set(check.get("evidence") or [])
    for kind, docs in explanation.evidence.items():
        if not docs:
            lines.append(f"evidence {kind}: none ingested")
            continue
        for doc in docs:
            mark = "  (cited by the check)" if doc["digest"] in cited else ""
            lines.append(f"evidence {kind}/{doc['scope']} {doc['digest']} {doc['format']} "
                         f"collected {doc['collected_at']}{mark}")
            body = json.dumps(doc["data"], indent=2, sort_keys=True).splitlines()
            lines.extend(f"  {line}" for line in body[:60])
            if len(body) > 60:
                lines.append(f"  ... ({len(body) - 60} more lines; `readypolicy evidence show` prints all)")
    lines.append("")
    if explanation.thresholds:
        lines.append(f"thresholds for lane {explanation.lane} (* = read by this rule):")
        width = max(len(t.name) for t in explanation.thresholds)
        lines.append(f"    {'name':<{width}}  {'pack':>10}  {'manifest':>10}  {'effective':>10}")
        for t in explanation.thresholds:
            override = "-" if t.override is None else _show(t.override)
            lines.append(
                f"  {'*' if t.used else ' '} {t.name:<{width}}  {_show(t.base):>10}  {override:>10}  {_show(t.effective):>10}"
            )
    else:
        lines.append(f"thresholds: {explanation.thresholds_note}")
    return "\n".join(lines)


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
