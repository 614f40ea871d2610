"""Many writers at once, and a writer killed mid-transaction, on both stores.

The writers are separate processes (tests/store_workers.py) so they contend the way CI runners
do: separate connections, separate locks, no shared Python state.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from readypolicy.store.chain import verify_chain
from readypolicy.store.interface import Store
from readypolicy.store.open import open_store
from store_workers import make_record

TESTS = Path(__file__).resolve().parent
WORKER_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS.parent / "engine"), str(TESTS)])}
WORKERS, SPAN, STRIDE, BATCH = 8, 60, 30, 7
KILL_BATCH = 5000
KILL_DELAYS_S = (0.1, 0.05, 0.02, 0.0, 0.0)
"""Pause between seeing the writer start inserting and killing it: deep into the batch first, then
sooner, in case a fast machine finishes the batch within the pause."""


def worker(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(TESTS / "store_workers.py"), *args],
        env=WORKER_ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_parallel_writers_lose_and_duplicate_nothing(store_url: str, tmp_path: Path) -> None:
    gate = tmp_path / "go"
    procs = [worker("ingest", store_url, "api", str(w * STRIDE), str(SPAN), str(BATCH), str(gate))
             for w in range(WORKERS)]
    gate.touch()
    outputs = [proc.communicate(timeout=300) for proc in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    expected = {make_record("api", n).digest for n in range((WORKERS - 1) * STRIDE + SPAN)}
    assert sum(int(out) for out, _ in outputs) == len(expected)

    store = open_store(store_url)
    try:
        stored = [r.digest for r in store.list_evidence("api")]
        assert len(stored) == len(expected)
        assert set(stored) == expected
        entries = list(store.audit_entries())
        events = store.ingest_events()
        assert len(events) == WORKERS * SPAN  # every record put is one ingest event: none lost
        assert verify_chain(entries) == (len(events), None)
        assert [e.details["digest"] for e in entries] == [event.digest for event in events]
        first = [e.details["digest"] for e in entries if e.action == "ingest" and not e.details.get("again")]
        assert sorted(first) == sorted(expected)  # each document logged as new exactly once
    finally:
        store.close()


def writer_is_inserting(url: str) -> bool:
    """Whether the `bigbatch` writer holds the store's write lock and has begun inserting."""
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError as exc:
            assert "locked" in str(exc), exc
            return True
        finally:
            conn.close()
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
            " WHERE a.application_name = 'bigbatch' AND l.relation = 'evidence'::regclass"
            " AND l.mode = 'RowExclusiveLock' AND l.granted"
        ).fetchone()
    return bool(row and row[0])


def assert_consistent(store: Store, url: str) -> None:
    """Every stored document has exactly one ingest entry, and the chain verifies."""
    digests = [r.digest for module in store.modules() for r in store.list_evidence(module)]
    entries = list(store.audit_entries())
    assert verify_chain(entries) == (len(entries), None)
    assert sorted(e.details["digest"] for e in entries if e.action == "ingest") == sorted(digests)
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        finally:
            conn.close()


def test_killed_writer_leaves_all_or_nothing(store_url: str) -> None:
    writer_url = store_url if store_url.startswith("sqlite") else f"{store_url}?application_name=bigbatch"
    open_store(store_url).close()  # schema exists, so the writer's only write lock is its batch
    caught_mid_write = False
    for attempt, delay in enumerate(KILL_DELAYS_S):
        module = f"kill-{attempt}"
        proc = worker("bigbatch", writer_url, module, str(KILL_BATCH))
        while proc.poll() is None and not writer_is_inserting(store_url):
            time.sleep(0.002)
        time.sleep(delay)
        alive = proc.poll() is None
        if alive:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        if not alive:
            assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
        store = open_store(store_url)
        try:
            stored = len(store.list_evidence(module))
            assert stored in (0, KILL_BATCH), f"attempt {attempt}: {stored} of {KILL_BATCH} records survived"
            assert_consistent(store, store_url)
            caught_mid_write = caught_mid_write or (alive and stored == 0)
            assert store.put_evidence([make_record(module, -1)], "after-kill") == [True]
            assert_consistent(store, store_url)
        finally:
            store.close()
        if caught_mid_write:
            break
    assert caught_mid_write, "the writer always finished before the kill; the batch is too small to interrupt"
