"""`eval --all` prints every module's ladder without keeping the fleet in memory (issue 17).

The tally moves its rungs to SQLite's temporary database past a bound; these tests check that the
lines it prints do not change when it does (the same records, spilled at once or never), and that the
Python memory it holds stops growing with the number of modules.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from readypolicy.decision.ladder import SPILL_AFTER, LadderTally, describe
from readypolicy.store.interface import Store
from readypolicy.store.open import open_store

LANES = ("candidate", "integration", "production")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(str(tmp_path / "store.db"), create=True)
    yield opened
    opened.close()


def _record(module: str, revision: str, lane: str, failing: int) -> dict[str, Any]:
    checks = [{"id": f"check.{n}", "status": "fail" if n < failing else "pass"} for n in range(6)]
    checks.append({"id": "manifest.present", "status": "missing" if failing > 4 else "pass"})
    return {"subject": {"module": module, "revision": revision}, "lane": lane, "allow": failing == 0,
            "checks": checks, "evidence": []}


def _fleet(modules: int) -> Iterator[dict[str, Any]]:
    """Lane after lane, as `eval` streams them; some modules ready, some re-decided, two revisions of one."""
    for depth, lane in enumerate(LANES):
        for n in range(modules):
            yield _record(f"m{n:05d}", "r1", lane, (n * 7 + depth) % 6 if n % 3 else 0)
        yield _record("m00001", "r2", lane, depth)
    yield _record("m00002", "r1", "candidate", 3)  # decided again: the last rung counts


def _lines(tally: LadderTally, records: Iterator[dict[str, Any]]) -> list[str]:
    for record in records:
        tally.add(record)
    return [describe(ladder) for ladder in tally.ladders()]


def test_spilled_tally_prints_the_same_lines_as_one_kept_in_memory(store: Store) -> None:
    kept = _lines(LadderTally(LANES, store, spill_after=10_000), _fleet(300))
    spilled_at_once = _lines(LadderTally(LANES, store, spill_after=0), _fleet(300))
    spilled_midway = _lines(LadderTally(LANES, store, spill_after=150), _fleet(300))
    assert len(kept) == 301
    assert kept[:3] == [
        "m00000 @ r1: ready for production, target production: at target",
        "m00001 @ r1: ready for no lane, target production; 3 check(s) stand between: candidate: check.0 (fail); "
        "integration: check.1 (fail); production: check.2 (fail)",
        "m00002 @ r1: ready for no lane, target production; 4 check(s) stand between: candidate: check.0 (fail); "
        "candidate: check.1 (fail); candidate: check.2 (fail); production: check.3 (fail)",
    ]
    assert kept[-1].startswith("m00001 @ r2: ready for candidate, target production; 2 check(s) stand between")
    assert spilled_at_once == kept
    assert spilled_midway == kept


def _held_bytes(store: Store, modules: int, spill_after: int = SPILL_AFTER) -> int:
    tracemalloc.start()
    try:
        tally = LadderTally(LANES, store, spill_after)
        for record in _fleet(modules):
            tally.add(record)
        gc.collect()  # live memory only: garbage awaiting the cycle collector depends on what ran before
        held, _ = tracemalloc.get_traced_memory()
        assert sum(1 for _ in tally.ladders()) == modules + 1
        return held
    finally:
        tracemalloc.stop()


def test_tally_memory_does_not_grow_with_the_fleet(store: Store) -> None:
    """Python memory held after 6,000 modules is within 128 KiB of that after 1,500 (kept in memory: MiBs more)."""
    _held_bytes(store, SPILL_AFTER + 1)  # one-time allocations (SQLite module state, caches) out of the comparison
    small, large = _held_bytes(store, 1_500), _held_bytes(store, 6_000)
    assert large - small < 128 * 1024, (small, large)
    unbounded = _held_bytes(store, 6_000, spill_after=10**9) - _held_bytes(store, 1_500, spill_after=10**9)
    assert unbounded > 1024 * 1024, "the fleet is too small to show the difference"
