"""Every ingest reads the store's newest event time through an index (issue 17, round 4).

`put_evidence` reads `MAX(ingested_at)` under the write lock so that a runner whose clock is behind
still makes its ingest the newest. Without an index that read scanned the whole `ingests` table once
per batch, a cost that grows with the store; schema migration 3 adds the index on both stores. What
must not change: the floor is the newest event *time* (not the last event written, which a `store
copy` replay can make older), an older schema is refused to readers and upgraded only by a caller that
may migrate, and what was current stays current across the upgrade.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from readypolicy.store import postgres, sqlite
from readypolicy.store.interface import IngestEvent, StoreError
from readypolicy.store.open import open_store
from readypolicy.store.sql import SqlStore
from store_workers import make_record

NEWEST_TIME = "SELECT MAX(ingested_at) FROM ingests"
T_OLD, T_MID, T_NEW = "2026-01-01T00:00:00.000000Z", "2026-01-02T00:00:00.000000Z", "2026-01-03T00:00:00.000000Z"


def _plan(store: SqlStore) -> str:
    """How the store's database runs the newest-time read (a sequential scan is switched off on PostgreSQL,
    so a usable index shows up even on a table too small for the planner to prefer it)."""
    conn = store._conn  # type: ignore[attr-defined]
    if isinstance(store, sqlite.SqliteStore):
        return " ".join(str(row[-1]) for row in conn.execute(f"EXPLAIN QUERY PLAN {NEWEST_TIME}").fetchall())
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute(f"EXPLAIN {NEWEST_TIME}")
        return " ".join(str(row[0]) for row in cur.fetchall())


def _predecessor(patch: pytest.MonkeyPatch) -> None:
    """Make the real migration code know only the first two migrations, as the readypolicy before the index did."""
    for module, cls in ((sqlite, sqlite.SqliteStore), (postgres, postgres.PostgresStore)):
        patch.setattr(module, "MIGRATIONS", module.MIGRATIONS[:2])
        patch.setattr(cls, "migrations", module.MIGRATIONS[:2])


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def two_migrations(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A store as this readypolicy's predecessor left it: schema version 2, no index on the event time."""
    url = f"sqlite:///{tmp_path / 'store.db'}" if request.param == "sqlite" else str(request.getfixturevalue("pg_url"))
    with monkeypatch.context() as patch:
        _predecessor(patch)
        old = open_store(url)
        assert isinstance(old, SqlStore) and old.schema_version() == 2
        assert "ingests_ingested_at" not in _plan(old)
        old.close()
    yield url


def _replayed_older_event_last(store: SqlStore) -> None:
    """Events whose newest time is not the last one written: a `store copy` replays an older event after a newer one."""
    store.put_evidence([dataclasses.replace(make_record("api", 1), ingested_at=T_NEW)], "ci")
    older = dataclasses.replace(make_record("api", 2, scope="smoke"), ingested_at=T_MID)
    store.put_ingests([(IngestEvent.of(older, "other-ci"), older)], "copy")


def test_the_newest_event_time_is_read_through_an_index_not_a_table_scan(store: SqlStore) -> None:
    plan = _plan(store)
    assert "ingests_ingested_at" in plan, plan


def test_a_runner_whose_clock_is_behind_still_becomes_current_when_the_newest_time_is_not_the_last_event(
    store: SqlStore,
) -> None:
    """The index must give the newest time, not the newest row: a stale report would otherwise stay current."""
    _replayed_older_event_last(store)
    behind = dataclasses.replace(make_record("api", 3), ingested_at=T_OLD)  # same slot as record 1, clock behind
    assert store.put_evidence([behind], "late-runner") == [True]
    stored = {event.digest: event for event in store.ingest_events()}
    assert stored[behind.digest].ingested_at == T_NEW  # lifted to the newest time, not to T_MID (the last row's)
    current = {(record.kind, record.scope): record.digest for record in store.latest_evidence("api", "r1")}
    assert current[("tests", "unit")] == behind.digest


def test_a_reader_refuses_a_store_from_before_the_index(two_migrations: str) -> None:
    with pytest.raises(StoreError, match=r"schema version 2 is older than this readypolicy \(3\);"
                                         r" run `readypolicy store migrate` first"):
        open_store(two_migrations, create=False)


def test_migrating_adds_the_index_and_keeps_what_was_current(two_migrations: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as patch:  # the events are written by the predecessor, before the upgrade
        _predecessor(patch)
        old = open_store(two_migrations)
        assert isinstance(old, SqlStore)
        _replayed_older_event_last(old)
        before = [record.digest for record in old.latest_evidence("api", "r1")]
        old.close()
    store = open_store(two_migrations)  # as `store migrate` (or an ingest that may migrate) opens it
    try:
        assert isinstance(store, SqlStore)
        assert store.schema_version() == 3
        assert "ingests_ingested_at" in _plan(store)
        assert [record.digest for record in store.latest_evidence("api", "r1")] == before
        behind = dataclasses.replace(make_record("api", 4), ingested_at=T_OLD)
        store.put_evidence([behind], "late-runner")
        assert {event.digest: event.ingested_at for event in store.ingest_events()}[behind.digest] == T_NEW
    finally:
        store.close()
