"""Behaviour vs lock: golden cases re-run against the approved bundle of their lane.

A golden case is a full policy input with the outcome it must get (`allow` and the status of the
checks it names). Re-running every case against the locked bundle catches behaviour that moved
while no file did (an OPA upgrade, a changed builtin) and proves the lock still means what its
approvers saw. Cases are batched: one OPA process per lane, however many cases.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from readypolicy.decision.record import check_policy_result
from readypolicy.drift.interface import Difference, DriftError
from readypolicy.engines.interface import RegoEngine
from readypolicy.policy import stage
from readypolicy.policy.interface import PolicySet
from readypolicy.safeio import UnsafeInputError, loads_json, read_limited


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


@dataclass(frozen=True)
class GoldenRun:
    """What the golden check ran and found."""

    checked: tuple[str, ...]
    """One line per lane: cases run and against which revision, or why none ran."""
    differences: tuple[Difference, ...]
    """One per changed outcome or check status."""


def load_cases(directory: Path) -> list[GoldenCase]:
    """Every `*.json` case in `directory`, sorted by file name; DriftError on a malformed one."""
    if not directory.is_dir():
        raise DriftError(f"{directory}: no golden case directory")
    cases: list[GoldenCase] = []
    for path in sorted(directory.glob("*.json")):
        try:
            doc = loads_json(read_limited(path), str(path))
            expected = doc["expected"]
            case = GoldenCase(
                name=str(doc["name"]), lane=str(doc["lane"]), input=dict(doc["input"]),
                allow=bool(expected["allow"]), checks={str(k): str(v) for k, v in dict(expected.get("checks") or {}).items()},
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


def _compare(case: GoldenCase, result: dict[str, Any]) -> list[Difference]:
    lanes = (case.lane,)
    out: list[Difference] = []
    if bool(result["allow"]) != case.allow:
        out.append(Difference("golden", lanes, "outcome", case.name, _verdict(case.allow), _verdict(result["allow"])))
    statuses = {c["id"]: c["status"] for c in result["checks"]}
    for check, status in sorted(case.checks.items()):
        if statuses.get(check) != status:
            out.append(Difference("golden", lanes, "check-status", f"{case.name}: {check}", status, statuses.get(check)))
    return out


def _verdict(allow: bool) -> str:
    return "allow" if allow else "deny"


def golden_differences(
    cases: list[GoldenCase], policies: Mapping[str, PolicySet], engine: RegoEngine, cache_dir: Path,
) -> GoldenRun:
    """Run each lane's cases against its approved policy (one batch per lane) and compare outcomes."""
    checked: list[str] = []
    found: list[Difference] = []
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
        for case, result in zip(lane_cases, results, strict=True):
            found.extend(_compare(case, check_policy_result(result, query)))
        checked.append(f"golden {lane}: {len(lane_cases)} case(s) against {policy.revision}")
    return GoldenRun(tuple(checked), tuple(found))
