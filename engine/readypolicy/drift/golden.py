"""Golden cases: full policy inputs with the outcome they must get, re-run against a policy.

A golden case is a full policy input with the outcome it must get (`allow` and the status of the
checks it names). `policy test` runs every case against the pack's sources, so a change that
flips one fails before it is built; `drift --golden` re-runs them against the approved bundle of
their lane, which catches behaviour that moved while no file did (an OPA upgrade, a changed
builtin). `policy golden update` rewrites the expectations after a reviewed change. Cases live
where pack.yaml `golden` says, outside the Rego tree, so OPA never loads them as data. Cases are
batched: one OPA process per lane, however many cases.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from readypolicy.decision.record import check_policy_result
from readypolicy.drift.interface import Difference, DriftError
from readypolicy.engines.interface import RegoEngine
from readypolicy.policy import stage
from readypolicy.policy.interface import PolicySet
from readypolicy.policy.pack import golden_dir
from readypolicy.records import PolicyResult
from readypolicy.safeio import UnsafeInputError, loads_json, read_limited, write_atomic


@dataclass(frozen=True)
class GoldenCase:
    """One input with the outcome it must get."""

    name: str
    """Case name, unique within the golden directory."""
    lane: str
    """Lane whose decision it checks."""
    input: dict[str, Any]
    """The full policy input."""
    allow: bool
    """Expected `allow`."""
    checks: Mapping[str, str]
    """Check id → expected status (checks not named are not compared)."""
    path: Path
    """The case file."""


@dataclass(frozen=True)
class GoldenRun:
    """What the golden check ran and found."""

    checked: tuple[str, ...]
    """One line per lane: cases run and against which revision, or why none ran."""
    differences: tuple[Difference, ...]
    """One per changed outcome or check status."""


def pack_cases(pack_directory: Path) -> list[GoldenCase]:
    """The cases of a pack (pack.yaml `golden`); DriftError when the pack declares no directory."""
    directory = golden_dir(pack_directory)
    if directory is None:
        raise DriftError(f"{pack_directory / 'pack.yaml'}: declares no golden case directory (golden: PATH)")
    return load_cases(directory)


def load_cases(directory: Path) -> list[GoldenCase]:
    """Every `*.json` case in `directory`, sorted by file name; DriftError on a malformed one."""
    if not directory.is_dir():
        raise DriftError(f"{directory}: no golden case directory")
    cases: list[GoldenCase] = []
    for path in sorted(directory.glob("*.json")):
        try:
            doc = loads_json(read_limited(path), str(path))
            expected = doc["expected"]
            if not isinstance(expected["allow"], bool):
                raise TypeError(f"expected.allow is {expected['allow']!r}, not true or false")
            case = GoldenCase(
                name=str(doc["name"]), lane=str(doc["lane"]), input=dict(doc["input"]),
                allow=bool(expected["allow"]), checks={str(k): str(v) for k, v in dict(expected.get("checks") or {}).items()},
                path=path,
            )
        except UnsafeInputError as exc:
            raise DriftError(str(exc)) from exc
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise DriftError(f"{path}: not a golden case (needs name, lane, input, expected.allow): {exc}") from exc
        cases.append(case)
    names = [c.name for c in cases]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise DriftError(f"{directory}: golden case names used twice: {', '.join(duplicates)}")
    return cases


def _compare(case: GoldenCase, result: PolicyResult) -> list[Difference]:
    lanes = (case.lane,)
    out: list[Difference] = []
    statuses = {c["id"]: c["status"] for c in result["checks"]}
    if bool(result["allow"]) != case.allow:
        blocking = [f"{check} {status}" for check, status in sorted(statuses.items()) if status in ("fail", "missing")]
        detail = f"blocking: {', '.join(blocking)}" if blocking else "no check blocks"
        out.append(Difference("golden", lanes, "outcome", case.name, _verdict(case.allow), _verdict(result["allow"]), detail))
    for check, status in sorted(case.checks.items()):
        if statuses.get(check) != status:
            out.append(Difference("golden", lanes, "check-status", f"{case.name}: {check}", status, statuses.get(check)))
    return out


def _verdict(allow: bool) -> str:
    return "allow" if allow else "deny"


def _decide(
    cases: list[GoldenCase], policies: Mapping[str, PolicySet], engine: RegoEngine, cache_dir: Path,
) -> tuple[list[str], list[tuple[GoldenCase, PolicyResult]]]:
    """Each case's checked decision under its lane's policy (one batch per lane), and what was run."""
    checked: list[str] = []
    decided: list[tuple[GoldenCase, PolicyResult]] = []
    by_lane: dict[str, list[GoldenCase]] = {}
    for case in cases:
        by_lane.setdefault(case.lane, []).append(case)
    for lane, lane_cases in sorted(by_lane.items()):
        policy = policies.get(lane)
        if policy is None:
            checked.append(f"golden {lane}: {len(lane_cases)} case(s) not run (no approved bundle that matches the lock)")
            continue
        query = policy.query(lane)
        results = engine.evaluate(stage.load(policy, cache_dir), query, [c.input for c in lane_cases])
        decided.extend((case, check_policy_result(result, query)) for case, result in zip(lane_cases, results, strict=True))
        checked.append(f"golden {lane}: {len(lane_cases)} case(s) against {policy.revision}")
    return checked, decided


def golden_differences(
    cases: list[GoldenCase], policies: Mapping[str, PolicySet], engine: RegoEngine, cache_dir: Path,
) -> GoldenRun:
    """Run each lane's cases against its policy (one batch per lane) and compare outcomes."""
    checked, decided = _decide(cases, policies, engine, cache_dir)
    found = [difference for case, decision in decided for difference in _compare(case, decision)]
    return GoldenRun(tuple(checked), tuple(found))


def source_policies(policy: PolicySet) -> dict[str, PolicySet]:
    """Every lane of a pack decided by the same policy set (its sources, for `policy test`)."""
    return dict.fromkeys(policy.lanes, policy)


def golden_message(difference: Difference) -> str:
    """One line naming the case and, for a check, the check: what `policy test` prints."""
    if difference.kind == "check-status":
        case, check = difference.subject.split(": ", 1)
        return f"golden {case}: check {check} expected {difference.expected}, got {difference.actual or 'no result'}"
    return f"golden {difference.subject}: expected {difference.expected}, got {difference.actual} ({difference.detail})"


def update_cases(cases: list[GoldenCase], policy: PolicySet, engine: RegoEngine, cache_dir: Path) -> list[str]:
    """Rewrite each case's `expected` with what `policy` decides now: `allow` and every check's status.

    Meant for after a reviewed policy change: the rewritten files show the change as a diff.
    Returns the names of the cases whose expectation changed; files that did not change are not written.
    """
    unknown = sorted({case.lane for case in cases} - set(policy.lanes))
    if unknown:
        raise DriftError(f"pack {policy.pack!r} has no lane {', '.join(unknown)} (named by golden cases)")
    _, decided = _decide(cases, source_policies(policy), engine, cache_dir)
    changed: list[str] = []
    for case, decision in decided:
        expected = {"allow": bool(decision["allow"]), "checks": {c["id"]: c["status"] for c in decision["checks"]}}
        if expected == {"allow": case.allow, "checks": dict(case.checks)}:
            continue
        doc = loads_json(read_limited(case.path), str(case.path))
        doc["expected"] = expected
        write_atomic(case.path, json.dumps(doc, indent=1) + "\n")
        changed.append(case.name)
    return changed
