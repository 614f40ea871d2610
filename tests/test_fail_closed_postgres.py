"""PostgreSQL stopped in the middle of a fleet evaluation: exit 2, one line, and a consistent store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from pgserver import PgServer
from readypolicy.decision.record import record_id
from readypolicy.evidence.ingest import IngestOptions, ingest
from readypolicy.store.chain import verify_chain
from readypolicy.store.open import open_store
from support import REPO, coverage_json, make_project, start_server_or_skip

MODULES = 300


@pytest.fixture
def private_server() -> PgServer:
    """A cluster of this test's own, since the test stops it."""
    server = start_server_or_skip()
    yield server
    server.stop()


def _decisions(url: str) -> int:
    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            return int(conn.execute("SELECT count(*) FROM decisions").fetchone()[0])
    except psycopg.Error:
        return -1


@pytest.mark.postgres
def test_postgres_stopped_mid_fleet_eval(private_server: PgServer, tmp_path: Path) -> None:
    project = make_project(tmp_path)
    url = private_server.create_database("fleet")
    store = open_store(url)
    for index in range(MODULES):
        report = coverage_json(tmp_path / f"c{index}.json", 50 + index % 50, 100)
        ingest(store, [report], IngestOptions(module=f"m{index:03d}", revision="r1"), "test")
    store.close()

    env = {k: v for k, v in os.environ.items() if not k.startswith(("READYPOLICY_", "COVERAGE_"))}
    env.update({"PYTHONPATH": str(REPO / "engine"), "READYPOLICY_ACTOR": "test", "READYPOLICY_BATCH_SIZE": "10"})
    child = subprocess.Popen(
        [sys.executable, "-m", "readypolicy", "--store", url, "eval", "--all", "--revision", "r1", "--lane", "candidate",
         "--format", "json"],
        cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 120
    while _decisions(url) < 20 and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert child.poll() is None, "the evaluation finished before the fault could be injected"
    private_server.halt()
    out, err = child.communicate(timeout=120)

    assert child.returncode == 2, (child.returncode, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("readypolicy: error: "), err
    assert "postgresql://" in lines[0]
    with pytest.raises(json.JSONDecodeError):  # what streamed out before the fault is no complete report
        json.loads(out)

    private_server.resume()
    store = open_store(url)
    rows = store.list_decisions()
    assert 20 <= len(rows) < MODULES
    for row in rows:  # every stored decision is whole and self-consistent
        assert record_id(row.record) == row.decision_id
        assert row.allow == (row.record["checks"][0]["status"] == "pass")
    count, problem = verify_chain(store.audit_entries())
    assert problem is None and count == MODULES + len(rows)
    store.close()
