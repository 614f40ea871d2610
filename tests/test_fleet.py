"""Fleet mode: `eval --all` over 200 modules x 3 lanes with the real OPA and the shipped policies.

The evidence is the benchmark's synthetic fleet (real tool outputs and generated reports with
per-module numbers, through the real normalizers), on SQLite and on PostgreSQL. Batching puts
hundreds of inputs in one OPA process, so the tests check that every module got its own answer:
one stored decision per module and lane, built from that module's evidence, and the same answer
a single-module evaluation gives.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from synthetic_fleet import module_name, populate

from readypolicy.cli.main import cli
from readypolicy.store.open import open_store
from support import REPO, require_opa

MODULES = 200
LANES = ("candidate", "integration", "production")


def _project(tmp_path: Path, store_url: str) -> Path:
    config = tmp_path / "readypolicy.yaml"
    config.write_text(
        f"store: {store_url}\npolicies: {REPO / 'policies'}\nopa: {require_opa()}\ncache_dir: {tmp_path / 'cache'}\n"
        f"actor: fleet-test\nbatch_size: 64\n",
        encoding="utf-8",
    )
    return config


def _run(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)
    return result.exit_code, result.stdout


def _check_fleet(tmp_path: Path, store_url: str) -> None:
    store = open_store(store_url)
    try:
        assert populate(store, MODULES) > MODULES * 5
    finally:
        store.close()
    config = _project(tmp_path, store_url)
    lanes = [arg for lane in LANES for arg in ("--lane", lane)]
    code, _ = _run(config, "eval", "--all", *lanes, "--format", "json", "--output", str(tmp_path / "fleet.json"))
    assert code == 1  # no synthetic module is ready for every lane
    printed = json.loads((tmp_path / "fleet.json").read_text(encoding="utf-8"))

    store = open_store(store_url)
    try:
        rows = store.list_decisions()
        assert len(rows) == len(printed) == MODULES * len(LANES)
        assert Counter((row.module, row.lane) for row in rows) == {
            (module_name(i), lane): 1 for i in range(MODULES) for lane in LANES
        }
        assert {row.decision_id for row in rows} == {record["decision_id"] for record in printed}
        decisions_logged = sum(1 for entry in store.audit_entries() if entry.action == "decision")
        assert decisions_logged == len(rows)
        for row in rows[:: len(rows) // 20]:
            evidence = store.latest_evidence(row.module, row.revision)
            assert [e["digest"] for e in row.record["evidence"]] == [e.digest for e in evidence]
    finally:
        store.close()

    # Per-module answers differ across the fleet, so one module's input cannot have leaked into another's.
    coverage = Counter(
        next(c["status"] for c in row.record["checks"] if c["id"] == "coverage.line") for row in rows if row.lane == "candidate"
    )
    assert coverage["pass"] > 20 and coverage["fail"] > 20
    for index in (0, 77, MODULES - 1):
        module = module_name(index)
        code, out = _run(config, "eval", "--module", module, "--lane", "integration", "--format", "json", "--no-record")
        assert code == 1
        alone = json.loads(out)
        batched = next(r for r in printed if r["subject"]["module"] == module and r["lane"] == "integration")
        assert (alone["allow"], alone["checks"]) == (batched["allow"], batched["checks"])


@pytest.mark.slow
def test_fleet_of_200_modules_on_sqlite(tmp_path: Path) -> None:
    _check_fleet(tmp_path, f"sqlite:///{tmp_path / 'store.db'}")


@pytest.mark.slow
@pytest.mark.postgres
def test_fleet_of_200_modules_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    _check_fleet(tmp_path, pg_url)
