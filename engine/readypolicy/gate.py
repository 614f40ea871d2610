"""The gate run behind `readypolicy eval`: who is decided for which lanes, then decide and record each.

The CLI parses options and prints; what is decided, with which policy and waivers, and what is
stored lives here, so the rules of a gate run are in the library and the command stays a shell.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from readypolicy.audit.trail import log_waivers
from readypolicy.canonical import rfc3339, utc_now
from readypolicy.evaluate import Subject, SubjectError, evaluate, resolve_subject, target_lanes
from readypolicy.policy.waivers import lane_lifetimes
from readypolicy.records import DecisionRecord
from readypolicy.store.interface import Store, StoreError
from readypolicy.waivers.gate import configured_waivers
from readypolicy.wiring import Wiring


def choose_subjects(
    store: Store, modules: Sequence[str], revision: str | None, every: bool, environment: tuple[str, str] | None,
    latest: bool = False,
) -> tuple[list[Subject], str | None]:
    """Who is decided at which revision, and a note when the revision was picked rather than named.

    A named revision is never swapped for another one. Each module (one, several or `every` module
    in the store): `revision`, else `environment` ((revision, variable) from $READYPOLICY_REVISION or
    the CI's commit variable), else the revision ingested last (said in the note). `latest` skips
    `environment`: a fleet job in CI whose modules are built at different commits asks for it.

    Before `environment` applied to `every`, a CI job's `eval --all` decided each module at the
    revision ingested last: a module whose ingest for this commit failed was decided on its previous
    commit's passing evidence, and another branch's pipeline ingesting into the same store made this
    commit's gate decide that branch's code; either gave exit 0.
    """
    if every:
        modules = store.modules()
        if not modules:
            raise SubjectError(f"{store.url} holds no evidence: --all has no module to decide")
    named = (revision, "--revision") if revision is not None else None if latest else environment
    if named is not None:
        try:
            return [resolve_subject(store, m, named[0], named[1]) for m in modules], None
        except SubjectError as exc:
            if every and revision is None:
                raise SubjectError(f"{exc}; --all decides every module at {named[1]} (pass --latest to decide "
                                   "each module at its revision ingested last)") from exc
            raise
    subjects = [resolve_subject(store, m, None) for m in modules]
    if every:
        chosen = f"each of the {len(subjects)} module(s) at its revision ingested last"
    else:
        chosen = ", ".join(f"{s.module} at revision {s.revision}" for s in subjects) + ", the one ingested last"
    source = "--latest" if latest else "no --revision, $READYPOLICY_REVISION or CI commit variable"
    return subjects, f"{source}: deciding {chosen}; pass --revision"


def lane_plan(
    store: Store, lanes: Sequence[str], subjects: Sequence[Subject], requested: Sequence[str] | None,
) -> dict[str, list[Subject]]:
    """Which subjects each lane decides, in lane order.

    Lanes named (`requested`): every subject in each. None named: each module up to the target
    lane its manifest names, and only lanes that decide someone.
    """
    if requested is not None:
        return {lane: list(subjects) for lane in requested}
    plan: dict[str, list[Subject]] = {lane: [] for lane in lanes}
    for subject in subjects:
        for lane in target_lanes(store, subject, lanes):
            plan[lane].append(subject)
    return {lane: chosen for lane, chosen in plan.items() if chosen}


def run_evaluations(
    wiring: Wiring, plan: Mapping[str, Sequence[Subject]], bundle: Path | None, pack: str | None, record: bool,
    warn: Callable[[str], None], locked: bool = False, server: str | None = None,
    meanwhile: Callable[[], None] | None = None,
) -> Iterator[DecisionRecord]:
    """Decide every lane of `plan` for its subjects, storing and yielding each decision as it is made.

    Nothing is kept once yielded, so a fleet of any size runs in flat memory.

    With `locked`, each lane is decided by the bundle the lock approved for it; every lane's bundle
    is checked against the lock before anything is evaluated, so a bad lock records nothing.
    Warnings about the waivers in force go to `warn` before the first decision. `meanwhile` runs once,
    while OPA compiles the first batch (see `evaluate`).
    """
    config = wiring.config
    now = rfc3339(utc_now())
    if locked:
        from readypolicy.policy.lock import LOCK_NAME, locked_policy  # tarfile and the lock only with --locked

        lock_path = config.path(config.bundles) / LOCK_NAME
        approvers = config.policy_approver_keys()
        policies = {lane: locked_policy(lock_path, pack or config.pack, lane, approvers, wiring.store)
                    for lane in plan}
    else:
        policies = dict.fromkeys(plan, wiring.policy(pack=pack, bundle=bundle))
    waivers = configured_waivers(config, wiring.store, now, lane_lifetimes(policies))
    for message in waivers.warnings:
        warn(message)
    engine = wiring.engine(server)
    recorded = 0
    for lane, subjects in plan.items():
        for evaluation in evaluate(
            store=wiring.store, engine=engine, policy=policies[lane], cache_dir=wiring.cache_dir, lane=lane,
            subjects=subjects, now=now, waivers=waivers.entries, batch_size=config.batch_size, workers=config.workers,
            meanwhile=meanwhile,
        ):
            if record:
                from readypolicy.decision.record import to_row  # loaded while OPA compiled (`evaluate`)

                try:
                    wiring.store.put_decision(to_row(evaluation.record), config.actor)
                    recorded += 1
                    log_waivers(wiring.store, evaluation.record, config.actor)
                except StoreError as exc:  # say what earlier commits of this run did store
                    if recorded:
                        raise StoreError(f"{exc}; {recorded} decision(s) of this run were recorded") from exc
                    raise
            yield evaluation.record
        meanwhile = None
