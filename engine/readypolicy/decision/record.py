"""Decision records: check what the policy returned, then write the reproducible record.

A policy's answer is untrusted until checked: it must match the result schema, list each check
once, and its `allow` must agree with its checks (allow exactly when none fails or is missing).
Before it is stored or signed it must also be complete: every check the pack's catalog requires
for the lane, and no other, `waived` only where a waiver in the input names that check,
module and lane and is unexpired at `input.now`, and each check enforced as the catalog says at
`input.now`: an advisory check never `fail`s or is `missing` (it `warn`s), a blocking one never
`warn`s, so a tampered lane rule cannot relax a check. A record then binds the outcome to the exact
policy digest, evidence digests, engine version, evaluation time and input digest, and is
identified by the digest of its own canonical JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from readypolicy.canonical import digest, parse_rfc3339
from readypolicy.decision.catalog import LaneRules
from readypolicy.decision.result_check import result_problem
from readypolicy.engines.interface import EngineError, EngineInfo
from readypolicy.policy.interface import PolicySet
from readypolicy.records import CheckResult, DecisionRecord, PolicyInput, PolicyResult, RecordContent
from readypolicy.store.interface import DecisionRow, EvidenceRecord

RECORD_SCHEMA = "https://readypolicy.dev/decision/v1"
BLOCKING = frozenset({"fail", "missing"})
COUNTED = ("pass", "fail", "missing", "waived", "warn")
"""Statuses a record's `summary` counts apart: waived and advisory (warn) checks are never folded into pass."""


def status_summary(checks: Sequence[CheckResult]) -> dict[str, int]:
    """How many checks have each status (every status in `COUNTED`, zeros included)."""
    return {status: sum(1 for check in checks if check.get("status") == status) for status in COUNTED}


def check_policy_result(result: Any, query: str) -> PolicyResult:
    """Validate a lane policy's `decision`; a malformed or self-contradicting one is an EngineError."""
    problem = result_problem(result)
    if problem is not None:
        where, what = problem
        raise EngineError(f"{query} returned a malformed decision at {where}: {what}")
    checked = cast(PolicyResult, result)  # result_problem found it to hold the result contract
    ids = [check["id"] for check in checked["checks"]]
    duplicates = sorted({i for i in ids if ids.count(i) > 1}) if len(set(ids)) != len(ids) else []
    if duplicates:
        raise EngineError(f"{query} returned duplicate check ids: {', '.join(duplicates)}")
    blocked = any(check["status"] in BLOCKING for check in checked["checks"])
    if checked["allow"] and blocked:
        raise EngineError(f"{query} says allow while some checks fail or are missing; refusing the decision")
    if not checked["allow"] and not blocked:
        raise EngineError(f"{query} says deny while every check passes or is waived; refusing the decision")
    return checked


def check_decision(
    result: Any, query: str, policy_input: PolicyInput, rules: LaneRules,
) -> PolicyResult:
    """`check_policy_result`, then completeness and waivers against the pack's catalog and the input.

    `rules` is what the catalog says of the lane (`catalog.lane_rules`): the checks it requires
    (None only for a pack without a catalog, whose decisions get every other check here), which
    may be waived, and for how long a waiver may run.
    """
    checked = check_policy_result(result, query)
    if "lane" in checked and checked["lane"] != policy_input.get("lane"):
        raise EngineError(f"{query} answered for lane {checked['lane']!r}, not {policy_input.get('lane')!r}; refusing it")
    ids = [check["id"] for check in checked["checks"]]
    if rules.required is not None:
        held, required = set(ids), set(rules.required)
        absent = [i for i in rules.required if i not in held]
        unknown = [i for i in ids if i not in required]
        if absent or unknown:
            parts = [f"lacks required check(s) {_listed(absent)}"] if absent else []
            parts += [f"holds check(s) {_listed(unknown)} the catalog does not list for this lane"] if unknown else []
            raise EngineError(f"{query} returned an incomplete decision: it {' and '.join(parts)}; refusing it")
    _check_enforcement(checked["checks"], query, policy_input, rules)
    for check in checked["checks"]:
        if check["status"] != "waived":
            continue
        if rules.waivable is not None and check["id"] not in rules.waivable:
            raise EngineError(
                f"{query} says check {check['id']} is waived, but the pack's catalog does not let it be waived "
                f"in lane {policy_input.get('lane')!r}; refusing the decision"
            )
        if not waiver_matches(check["id"], policy_input, rules.lifetime_days, rules.owners or {}):
            raise EngineError(
                f"{query} says check {check['id']} is waived, but no waiver in the input names that check, "
                f"module {policy_input.get('module')!r} and lane {policy_input.get('lane')!r} in force at "
                f"{policy_input.get('now')}; refusing the decision"
            )
    return checked


def _check_enforcement(
    checks: Sequence[CheckResult], query: str, policy_input: PolicyInput, rules: LaneRules,
) -> None:
    """Each check's status and `enforcement` must be what the catalog gives at `input.now`.

    A `warn` needs the catalog to make the check advisory at that time; a `fail` or `missing` needs
    it blocking (an advisory failure must never block either). Without a catalog nothing can vouch
    for an advisory check, so a `warn` is refused.
    """
    now = _input_now(policy_input) if rules.enforcement is not None else None
    for check in checks:
        claimed = check.get("enforcement")
        if check["status"] not in ("warn", *BLOCKING) and claimed is None:
            continue
        expected = _expected_enforcement(check["id"], now, rules)
        wrong = (
            (check["status"] == "warn" and expected != "advisory")
            or (check["status"] in BLOCKING and expected == "advisory")
            or (claimed is not None and expected is not None and claimed != expected)
            or (claimed == "advisory" and expected != "advisory")
        )
        if wrong:
            raise EngineError(
                f"{query} says check {check['id']} is {check['status']} ({claimed or 'no enforcement given'}), but the "
                f"pack's catalog makes it {expected or 'unverifiable'} at {policy_input.get('now')}; refusing the decision"
            )


def _input_now(policy_input: PolicyInput) -> datetime | None:
    """The input's `now` (parsed once per decision, not once per check), or None when it cannot be read."""
    try:
        return parse_rfc3339(str(policy_input["now"]))
    except (KeyError, ValueError):
        return None


def _expected_enforcement(check_id: str, now: datetime | None, rules: LaneRules) -> str | None:
    if rules.enforcement is None:
        return None
    entry = rules.enforcement.get(check_id)
    if entry is None:
        return "blocking"
    if now is None:
        return None
    return entry.at(now)


def _listed(ids: Sequence[str], shown: int = 8) -> str:
    more = len(ids) - shown
    return ", ".join(ids[:shown]) + (f" and {more} more" if more > 0 else "")


def waiver_matches(
    check_id: str, policy_input: PolicyInput, lifetime_days: int | None, owners: Mapping[str, frozenset[str]],
) -> bool:
    """Whether a waiver passed in the input covers this check, module and lane at `input.now`.

    In force means: created by `now`, not expired, and (when the pack bounds it) running no longer
    than the lane's lifetime from `created`. A waiver naming an `owner` (a pattern waiver) covers
    only a module `owners` (the pack's `waivers.owners`, `catalog.pack_owners`) gives that team,
    never one whose own manifest merely claims the team. The policy may refuse more; this guards
    against a `waived` with nothing valid behind it, even from a library whose waiver rules were edited.
    """
    try:
        now = parse_rfc3339(str(policy_input["now"]))
    except (KeyError, ValueError):
        return False
    for waiver in policy_input.get("waivers") or []:
        if not isinstance(waiver, Mapping):
            continue
        if (waiver.get("check"), waiver.get("module"), waiver.get("lane")) != (
            check_id, policy_input.get("module"), policy_input.get("lane")
        ):
            continue
        if "owner" in waiver and not _owns(waiver["owner"], policy_input.get("module"), owners):
            continue
        try:
            expires = parse_rfc3339(str(waiver.get("expires")))
            created = parse_rfc3339(str(waiver["created"])) if "created" in waiver or lifetime_days else None
        except (KeyError, ValueError):
            continue
        if expires <= now or (created is not None and created > now):
            continue
        if lifetime_days is not None and created is not None and expires - created > timedelta(days=lifetime_days):
            continue
        return True
    return False


def _owns(team: Any, module: Any, owners: Mapping[str, frozenset[str]]) -> bool:
    """The `lib.owned` reading: a team the table lists, holding the module by its exact name."""
    return isinstance(team, str) and isinstance(module, str) and module in owners.get(team, frozenset())


def build_record(
    *,
    module: str,
    revision: str,
    lane: str,
    policy: PolicySet,
    engine: EngineInfo,
    records: Sequence[EvidenceRecord],
    policy_input: PolicyInput,
    result: PolicyResult,
    evaluated_at: str,
    input_digest: str | None = None,
) -> DecisionRecord:
    """The decision record, with `decision_id` = digest of everything else.

    `input_digest` is `digest(policy_input)` when the caller has it already (a fleet hashes the
    canonical bytes it sent OPA); without it the digest is computed here.
    """
    record: RecordContent = {
        "schema": RECORD_SCHEMA,
        "subject": {"module": module, "revision": revision},
        "lane": lane,
        "pack": policy.pack,
        "allow": bool(result["allow"]),
        "checks": result["checks"],
        "summary": status_summary(result["checks"]),
        "policy": {
            "source": policy.source,
            "pack": policy.pack,
            "revision": policy.revision,
            "digest": policy.digest,
            "bundle_sha256": policy.bundle_sha256,
            "files": policy.file_digests,
        },
        "evidence": [
            {"kind": r.kind, "scope": r.scope, "digest": r.digest, "raw_sha256": r.raw_sha256}
            for r in sorted(records, key=lambda r: (r.kind, r.scope))
        ],
        "waivers": policy_input["waivers"],
        "engine": {"name": engine.name, "version": engine.version},
        "evaluated_at": evaluated_at,
        "input_digest": digest(policy_input) if input_digest is None else input_digest,
    }
    return {"decision_id": digest(record), **record}


def record_id(record: Mapping[str, Any]) -> str:
    """Recompute a record's id from its content (to detect edits)."""
    return digest({k: v for k, v in record.items() if k != "decision_id"})


def to_row(record: DecisionRecord) -> DecisionRow:
    """The store row of a record."""
    return DecisionRow(
        decision_id=record["decision_id"], module=record["subject"]["module"], revision=record["subject"]["revision"],
        lane=record["lane"], allow=record["allow"], policy_digest=record["policy"]["digest"],
        evaluated_at=record["evaluated_at"], record=record,
    )
