"""Evaluate lanes: gather evidence, run the policy in batches, check and record the answers.

One OPA process evaluates a whole batch of subjects, so a single module and a fleet of ten
thousand share one code path; the fleet only has more batches. Nothing here turns an engine
failure into a verdict: every error propagates as a ReadyPolicyError and no record is written.
"""

from __future__ import annotations

import gc
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from readypolicy.canonical import plain_canonical_bytes, raw_digest
from readypolicy.decision.inputs import build_input
from readypolicy.engines.interface import PendingEvaluation, RegoEngine
from readypolicy.errors import ReadyPolicyError
from readypolicy.identifiers import check_identifier
from readypolicy.policy import stage
from readypolicy.policy.interface import PolicySet
from readypolicy.records import DecisionRecord, PolicyInput
from readypolicy.store.interface import EvidenceRecord, Store, checked_evidence

if TYPE_CHECKING:
    from concurrent.futures import Future


class SubjectError(ReadyPolicyError):
    """The module or revision to evaluate has no evidence."""


@dataclass(frozen=True)
class Subject:
    """A module revision to decide on."""

    module: str
    """Module name."""
    revision: str
    """Revision whose evidence is used."""


@dataclass(frozen=True)
class Evaluation:
    """One decision and what it was made from."""

    record: DecisionRecord
    """The decision record."""
    policy_input: PolicyInput
    """The exact input the policy saw (for explain and replay)."""
    evidence: tuple[EvidenceRecord, ...]
    """The evidence documents used."""


def resolve_subject(store: Store, module: str, revision: str | None, named_by: str = "--revision") -> Subject:
    """The subject for a module: the named revision, which must have evidence, else the one ingested last.

    A named revision is never replaced by another one: deciding an older revision's evidence for
    a commit whose own ingest failed would pass a gate on the wrong code. `named_by` says where the
    revision came from (flag or environment variable), for the message.
    """
    check_identifier("module", module)
    if revision is not None:
        check_identifier("revision", revision, named_by)
        if not store.has_evidence(module, revision):
            known = ", ".join(store.modules()) or "none"
            raise SubjectError(
                f"no evidence stored for module {module!r} at revision {revision!r} (from {named_by}); "
                f"ingest that revision's artifacts first (modules with evidence: {known})"
            )
        return Subject(module, revision)
    chosen = store.latest_revision(module)
    if chosen is None:
        known = ", ".join(store.modules()) or "none"
        raise SubjectError(f"no evidence stored for module {module!r} (modules with evidence: {known})")
    return Subject(module, chosen)


def target_lanes(store: Store, subject: Subject, lanes: Sequence[str]) -> tuple[str, ...]:
    """The lanes a module aims at: its manifest's `lanes.target` and every lane below it.

    A module without a manifest is decided for the first lane only, where `manifest.present`
    fails: the honest answer, with nothing skipped silently. A target the pack does not know
    (another pack's lane names) means every lane, the strictest reading.
    """
    manifests = [r for r in store.latest_evidence(subject.module, subject.revision) if r.kind == "manifest"]
    if not manifests:
        return tuple(lanes[:1])
    target = manifests[0].document.get("data", {}).get("target_lane")
    if not isinstance(target, str) or target not in lanes:
        return tuple(lanes)
    return tuple(lanes[: list(lanes).index(target) + 1])


RELAXED_THRESHOLD = 100_000
"""Allocations between two youngest-generation passes of the cycle collector while evaluations run (Python's default: 700)."""


class _Collector:
    """Evaluations under way (any thread, any generator), the thresholds found before the first, and those set."""

    lock = threading.Lock()
    holders = 0
    found: tuple[int, int, int] = (700, 10, 10)
    relaxed: tuple[int, int, int] = (RELAXED_THRESHOLD, 10, 10)


@contextmanager
def collector_relaxed() -> Iterator[None]:
    """Python's cycle collector at `RELAXED_THRESHOLD` from the first evaluation under way to the end of the last one.

    A fleet allocates millions of short-lived, acyclic JSON containers (evidence, inputs, OPA's
    answers, records) that reference counting frees; at the default threshold the collector still
    walked the batches in flight over and over: at N = 1,000 it ran 239 + 21 + 2 passes (youngest
    to oldest) costing about 0.17 s, 13% of the Python CPU; at this threshold one pass, 0.06 s. The
    collector is never switched off, so cyclic garbage (66 objects after such a run) is still
    collected, and an evaluation abandoned inside a reference cycle is itself collected, which
    restores the thresholds. A caller's own higher threshold, or a collector it disabled, is kept;
    thresholds the caller changed during the evaluation are not overwritten. Concurrent and
    interleaved evaluations (threads, `whatif`'s two generators) share the relaxation: the last to
    end restores what the first found.
    """
    with _Collector.lock:
        if _Collector.holders == 0:
            found = gc.get_threshold()
            _Collector.found = found
            _Collector.relaxed = (max(found[0], RELAXED_THRESHOLD), found[1], found[2])
            gc.set_threshold(*_Collector.relaxed)
        _Collector.holders += 1
    try:
        yield
    finally:
        with _Collector.lock:
            _Collector.holders -= 1
            if _Collector.holders == 0 and gc.get_threshold() == _Collector.relaxed:
                gc.set_threshold(*_Collector.found)


def evaluate(
    *,
    store: Store,
    engine: RegoEngine,
    policy: PolicySet,
    cache_dir: Path,
    lane: str,
    subjects: Sequence[Subject],
    now: str,
    waivers: Sequence[dict[str, Any]] = (),
    batch_size: int = 500,
    workers: int = 2,
    meanwhile: Callable[[], None] | None = None,
) -> Generator[Evaluation, None, None]:
    """Decide `lane` for every subject from its latest evidence, one OPA process per batch; yields in subject order.

    One batch (a gate) is decided on this thread: OPA is started first, the evidence is read and the
    input built while OPA starts, and `meanwhile` (work the caller needs only after the decision, such as
    loading its report format) runs while OPA compiles. Several batches (a fleet) keep up to `workers`
    in flight at once, so OPA processes use every core while this thread reads the next batch's
    evidence (store connections stay on this thread); at most `workers` batches are held in memory.
    Python's cycle collector runs less often meanwhile (see `collector_relaxed`).
    """
    with collector_relaxed():
        size = max(1, batch_size)
        batches = [subjects[start : start + size] for start in range(0, len(subjects), size)]
        if len(batches) <= 1 or workers <= 1:
            for chosen in batches:
                yield from _decide(engine=engine, policy=policy, cache_dir=cache_dir, lane=lane, subjects=chosen, now=now,
                                   waivers=waivers, evidence=partial(_read_evidence, store, chosen), meanwhile=meanwhile)
                meanwhile = None
            return
        from concurrent.futures import ThreadPoolExecutor  # only a fleet runs batches side by side

        pending: deque[Future[list[Evaluation]]] = deque()
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="readypolicy-eval") as pool:
            for chosen in batches:
                batch = [(s, current_evidence(store, s)) for s in chosen]
                pending.append(pool.submit(
                    decide, engine=engine, policy=policy, cache_dir=cache_dir, lane=lane, now=now, waivers=waivers,
                    batch=batch,
                ))
                if meanwhile is not None:
                    meanwhile()
                    meanwhile = None
                if len(pending) >= workers:
                    yield from pending.popleft().result()
            while pending:
                yield from pending.popleft().result()


def _read_evidence(store: Store, subjects: Sequence[Subject]) -> list[tuple[EvidenceRecord, ...]]:
    return [current_evidence(store, s) for s in subjects]


def current_evidence(store: Store, subject: Subject) -> tuple[EvidenceRecord, ...]:
    """The subject's current document per slot, each checked against its content address.

    A row edited in the database (a coverage figure raised, a failure removed) no longer hashes
    to its digest; it is refused here, before any policy sees it or any decision is signed.
    """
    return tuple(checked_evidence(record, store.url) for record in store.latest_evidence(subject.module, subject.revision))


def decide(
    *,
    engine: RegoEngine,
    policy: PolicySet,
    cache_dir: Path,
    lane: str,
    batch: Sequence[tuple[Subject, Sequence[EvidenceRecord]]],
    now: str,
    waivers: Sequence[dict[str, Any]],
) -> list[Evaluation]:
    """Decide one batch from explicitly given evidence, time and waivers, in one OPA process.

    Live evaluation passes the latest evidence and the current time; replay passes exactly what a
    recorded decision names. Both go through `_decide`, so a replay exercises the code that decided.
    """
    return _decide(engine=engine, policy=policy, cache_dir=cache_dir, lane=lane, subjects=[s for s, _ in batch],
                   now=now, waivers=waivers, evidence=lambda: [tuple(records) for _, records in batch])


def _decide(
    *,
    engine: RegoEngine,
    policy: PolicySet,
    cache_dir: Path,
    lane: str,
    subjects: Sequence[Subject],
    evidence: Callable[[], Sequence[tuple[EvidenceRecord, ...]]],
    now: str,
    waivers: Sequence[dict[str, Any]],
    meanwhile: Callable[[], None] | None = None,
) -> list[Evaluation]:
    """Start OPA, then get `evidence` (one tuple per subject) and build the inputs, then check the answers.

    OPA reads its whole input before it loads the bundle, so only its start-up overlaps the evidence
    read; everything not needed for the input (`meanwhile`, the check catalog, the record code) runs
    after the input is handed over, while OPA compiles. Each input is encoded once, as its canonical
    bytes where `plain_canonical_bytes` serves it: OPA reads the same value from them as from `json`'s
    text, and the record's input digest is their sha256 (one encoding instead of two, 0.13 ms per
    module). Leaving this function any way ends the OPA process (`with`): an error here never
    leaves one running.
    """
    query = policy.query(lane)
    loaded = stage.load(policy, cache_dir)
    with engine.start(loaded, query) as run:
        records = evidence()
        inputs = [
            build_input(s.module, s.revision, lane, found, now, waivers)
            for s, found in zip(subjects, records, strict=True)
        ]
        texts = [plain_canonical_bytes(policy_input) for policy_input in inputs]
        run.send_texts(inputs, texts)
        if meanwhile is not None:
            meanwhile()
        return _answers(run, engine, policy, lane, subjects, records, inputs, texts, now)


def _answers(
    run: PendingEvaluation, engine: RegoEngine, policy: PolicySet, lane: str, subjects: Sequence[Subject],
    evidence: Sequence[tuple[EvidenceRecord, ...]], inputs: Sequence[PolicyInput], texts: Sequence[bytes | None],
    now: str,
) -> list[Evaluation]:
    """Check OPA's answers and build the records; the code for that loads while OPA compiles."""
    from readypolicy.decision.catalog import lane_rules
    from readypolicy.decision.record import build_record, check_decision

    rules = lane_rules(policy, lane)
    info = engine.info()
    results = run.result()
    out: list[Evaluation] = []
    for subject, records, policy_input, text, result in zip(subjects, evidence, inputs, texts, results, strict=True):
        checked = check_decision(result, query=policy.query(lane), policy_input=policy_input, rules=rules)
        record = build_record(
            module=subject.module, revision=subject.revision, lane=lane, policy=policy, engine=info,
            records=records, policy_input=policy_input, result=checked, evaluated_at=now,
            input_digest=None if text is None else raw_digest(text),
        )
        out.append(Evaluation(record=record, policy_input=policy_input, evidence=records))
    return out
