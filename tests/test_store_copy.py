"""Copying stores (SQLite <-> PostgreSQL) and the `store` CLI commands."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from readypolicy.canonical import digest
from readypolicy.cli.main import cli
from readypolicy.store.chain import verify_chain
from readypolicy.store.copy import copy_store
from readypolicy.store.interface import Store, StoreError
from readypolicy.store.open import open_store
from store_workers import make_record
from test_store import decision

pytestmark = pytest.mark.postgres


def fill(store: Store) -> None:
    store.put_evidence([make_record("api", n, kind="tests") for n in range(3)], "ci")
    store.put_evidence([make_record("api", 9, kind="coverage", ratio=87.5), make_record("web", 1)], "ci")
    store.put_evidence([make_record("api", 3, revision="r2", big=1e20)], "ci")
    store.delete_evidence([make_record("api", 0).digest], "retention", "expired")
    store.append_audit("lead", "waiver", "api", {"control": "coverage", "until": "2025-03-01"})
    for n, lane in enumerate(["integration", "production", "integration"]):
        store.put_decision(decision("api" if n < 2 else "web", n, lane=lane, allow=n != 1), "ci")


def snapshot(store: Store) -> dict[str, object]:
    """Everything a copy must carry, in order."""
    evidence = {m: [(r.digest, r.document, r.kind, r.scope, r.revision) for r in store.list_evidence(m)]
                for m in store.modules()}
    return {"evidence": evidence, "decisions": store.list_decisions(),
            "latest": {m: store.latest_evidence(m, "r1") for m in store.modules()}}


def test_copy_sqlite_to_postgres_and_back(tmp_path: Path, pg_url: str) -> None:
    src = open_store(f"sqlite:///{tmp_path / 'src.db'}")
    mid = open_store(pg_url)
    back = open_store(str(tmp_path / "back.db"))
    try:
        fill(src)
        first = copy_store(src, mid, "migrator")
        assert (first.evidence_new, first.evidence_total) == (5, 5)
        assert (first.decisions_new, first.decisions_total, first.audit_replayed) == (3, 3, 2)
        assert snapshot(mid) == snapshot(src)
        for module in mid.modules():
            for record in mid.list_evidence(module):
                assert digest(record.document) == record.digest
                assert record == src.get_evidence(record.digest)

        entries = list(mid.audit_entries())
        assert verify_chain(entries) == (len(entries), None)
        assert [e.action for e in entries] == ["ingest"] * 5 + ["decision"] * 3 + ["prune", "waiver", "copy"]
        assert {e.actor for e in entries} == {"migrator"}
        waiver = entries[-2]
        assert waiver.details["control"] == "coverage"
        assert waiver.details["copied_from"]["actor"] == "lead"
        assert entries[-1].details["source_chain_head"] == list(src.audit_entries())[-1].entry_hash

        again = copy_store(src, mid, "migrator")
        assert (again.evidence_new, again.decisions_new, again.audit_replayed) == (0, 0, 0)
        assert list(mid.audit_entries()) == entries

        copy_store(mid, back, "migrator")
        assert snapshot(back) == snapshot(src)
        assert verify_chain(back.audit_entries())[1] is None
    finally:
        for opened in (src, mid, back):
            opened.close()


def test_copy_refuses_a_tampered_source(tmp_path: Path, pg_url: str) -> None:
    src_path = tmp_path / "src.db"
    src = open_store(str(src_path))
    dst = open_store(pg_url)
    try:
        fill(src)
        src.close()
        conn = sqlite3.connect(src_path)
        conn.execute("DROP TRIGGER audit_immutable")
        conn.execute("UPDATE audit SET actor = 'mallory' WHERE seq = 2")
        conn.commit()
        conn.close()
        src = open_store(str(src_path))
        with pytest.raises(StoreError, match=r"audit chain is broken.*entry 2"):
            copy_store(src, dst, "migrator")
        assert dst.modules() == []
    finally:
        src.close()
        dst.close()


def test_cli_migrate_and_copy(tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no readypolicy.yaml from the surroundings
    runner = CliRunner()
    src_url = f"sqlite:///{tmp_path / 'cli.db'}"
    for _ in range(2):
        result = runner.invoke(cli, ["--store", src_url, "store", "migrate"])
        assert result.exit_code == 0, result.output
        assert result.output == f"{src_url}: schema version 3\n"
    result = runner.invoke(cli, ["store", "migrate"], env={"READYPOLICY_STORE": pg_url})
    assert result.output == f"{pg_url}: schema version 3\n"

    src = open_store(src_url)
    fill(src)
    src.close()
    args = ["--actor", "ops", "store", "copy", "--from", src_url, "--to", pg_url]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "evidence 5 new of 5, decisions 3 new of 3, audit entries replayed 2" in result.output
    result = runner.invoke(cli, args)
    assert "evidence 0 new of 5, decisions 0 new of 3, audit entries replayed 0" in result.output
    dst = open_store(pg_url)
    try:
        assert {e.actor for e in dst.audit_entries()} == {"ops"}
    finally:
        dst.close()


def test_cli_copy_failure_exits_2_without_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    open_store(str(tmp_path / "a.db")).close()  # the source exists, so the failure is the destination's
    args = ["store", "copy", "--from", str(tmp_path / "a.db"),
            "--to", "postgresql://ops:hunter2@127.0.0.1:1/ready?connect_timeout=2"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert "postgresql://ops:***@127.0.0.1:1/ready" in result.output
    assert "hunter2" not in result.output
