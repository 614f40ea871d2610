"""Speed, round 4: `evaluate()` relaxes Python's cycle collector, and nothing about that can outlive it or change a verdict.

The collector's thresholds are process-wide state. These tests hold the relaxation to its contract
with the real OPA and the shipped policies on a small synthetic fleet: the threshold is raised while
a fleet is decided (several batches on worker threads) and is what it was afterwards, whether the
evaluation finished, failed closed on a tampered evidence row, ran interleaved with another, or was
abandoned inside a reference cycle; a caller's own settings are kept; and the decisions are the ones
made without the relaxation.
"""

from __future__ import annotations

import gc
import json
import sqlite3
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from synthetic_fleet import module_name

from readypolicy.evaluate import RELAXED_THRESHOLD, Evaluation, Subject, decide, evaluate
from readypolicy.runtime import Runtime
from readypolicy.store.interface import StoreError
from support import synthetic_fleet_runtime

MODULES = 4
NOW = "2026-11-25T12:00:00.000000Z"


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Runtime]:
    """A runtime over a store holding `MODULES` synthetic modules (real normalized evidence)."""
    with synthetic_fleet_runtime(tmp_path, MODULES) as (rt, _config):
        yield rt


@pytest.fixture(autouse=True)
def _collector_as_found() -> Iterator[None]:
    """Whatever a test does to the collector, the next test finds it as this one did."""
    found = gc.get_threshold()
    yield
    gc.enable()
    gc.set_threshold(*found)


def _evaluations(rt: Runtime, lane: str = "candidate") -> Generator[Evaluation, None, None]:
    """The fleet path: one module per batch, so several batches run on worker threads."""
    subjects = [Subject(module_name(i), "r1") for i in range(MODULES)]
    return evaluate(store=rt.store, engine=rt.engine(), policy=rt.policy(), cache_dir=rt.cache_dir, lane=lane,
                    subjects=subjects, now=NOW, batch_size=1, workers=2)


def test_the_collector_is_relaxed_while_a_fleet_is_decided_and_restored_after(fleet: Runtime) -> None:
    found = gc.get_threshold()
    assert found[0] < RELAXED_THRESHOLD
    seen = [gc.get_threshold() for _ in _evaluations(fleet)]
    assert seen == [(RELAXED_THRESHOLD, *found[1:])] * MODULES
    assert gc.get_threshold() == found and gc.isenabled()


def test_an_evaluation_that_fails_closed_on_a_tampered_row_restores_the_collector(fleet: Runtime, tmp_path: Path) -> None:
    """A raised coverage figure in the database is refused (no decision), and the refusal leaves nothing relaxed."""
    found = gc.get_threshold()
    with sqlite3.connect(tmp_path / "fleet.db") as db:
        db.execute("DROP TRIGGER evidence_immutable")  # what someone with write access to the database can do
        changed = db.execute(
            "UPDATE evidence SET document = json_set(document, '$.data.line_percent', 99.5)"
            " WHERE module = ? AND kind = 'coverage'", (module_name(2),),
        ).rowcount
    assert changed == 1
    decided: list[Evaluation] = []
    with pytest.raises(StoreError, match="no longer matches its content address"):
        decided.extend(_evaluations(fleet))
    assert len(decided) < MODULES
    assert gc.get_threshold() == found


def test_a_callers_own_collector_settings_are_kept(fleet: Runtime) -> None:
    """Disabled stays disabled; a threshold above the relaxed one is not lowered; one changed meanwhile is not undone."""
    gc.disable()
    assert len(list(_evaluations(fleet))) == MODULES
    assert not gc.isenabled()
    gc.enable()
    gc.set_threshold(RELAXED_THRESHOLD * 3, 5, 5)
    assert {gc.get_threshold() for _ in _evaluations(fleet)} == {(RELAXED_THRESHOLD * 3, 5, 5)}
    assert gc.get_threshold() == (RELAXED_THRESHOLD * 3, 5, 5)
    gc.set_threshold(700, 10, 10)
    for _ in _evaluations(fleet):
        gc.set_threshold(2000, 10, 10)
    assert gc.get_threshold() == (2000, 10, 10)


def test_interleaved_evaluations_restore_the_collector_when_the_last_ends(fleet: Runtime) -> None:
    """As `whatif` runs two generators side by side: the first to end must not restore while the other runs."""
    found = gc.get_threshold()
    first, second = _evaluations(fleet), _evaluations(fleet, "integration")
    next(first)
    next(second)
    assert len(list(first)) == MODULES - 1
    assert gc.get_threshold()[0] == RELAXED_THRESHOLD
    assert len(list(second)) == MODULES - 1
    assert gc.get_threshold() == found


def test_an_abandoned_evaluation_caught_in_a_reference_cycle_is_collected_and_restores_the_collector(fleet: Runtime) -> None:
    """A generator nobody closes, kept alive only by a cycle: were the collector switched off, it would never be
    finalized and the process would run without its collector for good. Relaxed, the next pass collects it."""
    found = gc.get_threshold()
    running = _evaluations(fleet)
    next(running)
    holder: list[object] = [running]
    holder.append(holder)
    del running, holder
    assert gc.get_threshold()[0] == RELAXED_THRESHOLD
    gc.collect()
    assert gc.get_threshold() == found


def test_the_relaxation_changes_no_decision(fleet: Runtime) -> None:
    """Each record is byte for byte the one `decide` makes for that module alone (its own OPA process) from the same evidence."""
    for evaluation in _evaluations(fleet):
        subject = Subject(evaluation.record["subject"]["module"], evaluation.record["subject"]["revision"])
        [alone] = decide(engine=fleet.engine(), policy=fleet.policy(), cache_dir=fleet.cache_dir, lane="candidate",
                         batch=[(subject, evaluation.evidence)], now=NOW, waivers=())
        assert json.dumps(alone.record, sort_keys=True) == json.dumps(evaluation.record, sort_keys=True)
