"""The team store: PostgreSQL run with least privilege, as a platform team would run it.

Every test is an attack or a failure a real deployment meets, against a real cluster started by
the tests (`pg_server`), through the real CLI as separate processes: CI's writer role rewriting
history, a read-only role tripping over migrations, a typo'd database becoming an empty store, a
copy making stale evidence current, a frozen runner holding the write lock, a password in a log.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pgserver import PgServer
from readypolicy.canonical import digest
from readypolicy.store import interface, sql
from readypolicy.store.chain import verify_chain
from readypolicy.store.copy import copy_store
from readypolicy.store.interface import Store, StoreError
from readypolicy.store.open import open_store
from readypolicy.store.postgres import WRITE_LOCK
from readypolicy.store.roles import APPEND_ONLY, TABLES
from signed_project import PASSWORD
from store_workers import make_record
from support import REPO, coverage_json, make_project, run_cli
from test_integrity_subject import _v1_store
from test_store import decision

pytestmark = pytest.mark.postgres

ROLES = {"owner": "readypolicy_owner", "writer": "readypolicy_writer", "reader": "readypolicy_reader"}


def _as(url: str, role: str) -> str:
    """The same database, connected as another role (the test cluster trusts 127.0.0.1)."""
    return f"postgresql://{role}@{url.split('@', 1)[1]}"


def _cli(project: Path, url: str, *args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli("--store", url, *args, cwd=project, env=env)


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("readypolicy: error: "), result.stderr
    return lines[0]


def _count(url: str, table: str) -> int:
    with psycopg.connect(url) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path)


def _psql(pg_server: PgServer, url: str, script: str) -> None:
    """Run a script with the cluster's own psql, stopping at the first error, as docs/team-store.md does."""
    done = subprocess.run([str(pg_server.bindir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", url], input=script,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr


def _set_up_roles(project: Path, pg_server: PgServer, url: str) -> dict[str, str]:
    printed = run_cli("store", "roles", "--print-sql", cwd=project)
    assert printed.returncode == 0, printed.stderr
    _psql(pg_server, url, printed.stdout)
    return {"admin": url, **{name: _as(url, role) for name, role in ROLES.items()}}


@pytest.fixture
def team(project: Path, pg_server: PgServer, pg_url: str) -> dict[str, str]:
    """A store migrated by the superuser, then set up with the SQL `store roles --print-sql` prints, via psql."""
    assert _cli(project, pg_url, "store", "migrate").returncode == 0
    return _set_up_roles(project, pg_server, pg_url)


def _ingest(project: Path, url: str, module: str, revision: str, covered: int, tmp: Path) -> None:
    report = coverage_json(tmp / f"{module}-{revision}-{covered}.json", covered, 100)
    result = _cli(project, url, "ingest", report, "-m", module, "-r", revision)
    assert result.returncode == 0, result.stderr


# --- 2. least privilege -----------------------------------------------------------------------


def test_ci_writer_cannot_delete_an_audit_entry_or_drop_a_trigger(project: Path, team: dict[str, str], tmp_path: Path) -> None:
    _ingest(project, team["writer"], "svc", "r1", 95, tmp_path)
    decided = _cli(project, team["writer"], "eval", "-m", "svc", "-r", "r1")
    assert decided.returncode == 0, decided.stderr
    entries = _count(team["admin"], "audit")
    assert entries == 2 and _count(team["admin"], "decisions") == 1
    attacks = [
        "DELETE FROM audit WHERE seq = (SELECT MAX(seq) FROM audit)",
        "DROP TRIGGER audit_append_only ON audit",
        "ALTER TABLE audit DISABLE TRIGGER ALL",
        "UPDATE evidence SET revision = 'r0'",
        "DELETE FROM ingests",
        "DELETE FROM decisions",
        "TRUNCATE audit",
        "INSERT INTO schema_migrations VALUES (99, '2030-01-01T00:00:00Z')",
        "CREATE TABLE shadow (x int)",
        "DROP FUNCTION readypolicy_refuse() CASCADE",
    ]
    with psycopg.connect(team["writer"], autocommit=True) as conn:
        for statement in attacks:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
    assert _count(team["admin"], "audit") == entries
    intact = _cli(project, team["reader"], "audit", "verify-chain")
    assert intact.returncode == 0, intact.stderr
    assert intact.stdout.startswith(f"audit chain intact: {entries} entries")


def test_select_only_reader_runs_every_read_command(project: Path, team: dict[str, str], tmp_path: Path) -> None:
    _ingest(project, team["writer"], "svc", "r1", 95, tmp_path)
    reads = [
        ("evidence", "list", "-m", "svc"),
        ("eval", "-m", "svc", "-r", "r1", "--no-record", "--format", "json"),
        ("eval", "--all", "--no-record"),
        ("audit", "log"),
        ("audit", "verify-chain"),
        ("report", "--html", "out.html"),
        ("store", "migrate"),  # already current: reports the version, creates nothing
    ]
    for command in reads:
        result = _cli(project, team["reader"], *command)
        assert result.returncode == 0, (command, result.stderr)
        assert "permission denied" not in result.stderr and "migration" not in result.stderr
    assert _count(team["admin"], "decisions") == 0

    recording = _one_line(_cli(project, team["reader"], "eval", "-m", "svc", "-r", "r1"))
    assert "write failed, nothing stored: permission denied for table decisions" in recording
    assert "were recorded" not in recording
    refused = _one_line(_cli(project, team["reader"], "ingest", coverage_json(tmp_path / "c.json", 10, 100), "-m", "svc"))
    assert "nothing stored: permission denied" in refused
    assert _count(team["admin"], "decisions") == 0 and _count(team["admin"], "evidence") == 1


def test_owner_migrates_and_prunes_the_writer_may_not(project: Path, team: dict[str, str], tmp_path: Path) -> None:
    _ingest(project, team["writer"], "svc", "r1", 95, tmp_path)
    assert _cli(project, team["owner"], "store", "migrate").stdout.endswith(": schema version 3\n")
    denied = _one_line(_cli(project, team["writer"], "store", "prune", "--older-than", "0d"))
    assert "permission denied" in denied and _count(team["admin"], "evidence") == 1
    pruned = _cli(project, team["owner"], "store", "prune", "--older-than", "0d")
    assert pruned.returncode == 0, pruned.stderr


def test_roles_sql_covers_every_table_and_grants_nothing_more(team: dict[str, str]) -> None:
    assert _tables(team["admin"]) == set(TABLES)
    with psycopg.connect(team["admin"]) as conn:
        def allowed(role: str, table: str, privilege: str) -> bool:
            return bool(conn.execute("SELECT has_table_privilege(%s, %s, %s)", (role, table, privilege)).fetchone()[0])

        owners = {row[0] for row in conn.execute("SELECT tableowner FROM pg_tables WHERE schemaname = 'public'")}
        assert owners == {ROLES["owner"]}
        for table in TABLES:
            assert allowed(ROLES["reader"], table, "SELECT") and allowed(ROLES["writer"], table, "SELECT")
            assert allowed(ROLES["writer"], table, "INSERT") == (table in APPEND_ONLY)
            for privilege in ("INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"):
                assert not allowed(ROLES["reader"], table, privilege)
            for privilege in ("UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"):
                assert not allowed(ROLES["writer"], table, privilege)
            assert not allowed("public", table, "SELECT")


def test_reader_backup_restores_to_a_store_whose_chain_verifies(
    project: Path, team: dict[str, str], pg_server: PgServer, tmp_path: Path
) -> None:
    """The documented backup: `pg_dump` as the reader, restore, roles again, `audit verify-chain`."""
    _ingest(project, team["writer"], "svc", "r1", 95, tmp_path)
    assert _cli(project, team["writer"], "eval", "-m", "svc", "-r", "r1").returncode == 0
    dump = tmp_path / "ready.dump"
    dumped = subprocess.run([str(pg_server.bindir / "pg_dump"), "-Fc", "--no-owner", "--no-privileges", "-f", str(dump),
                             team["reader"]], capture_output=True, text=True, timeout=60, check=False)
    assert dumped.returncode == 0, dumped.stderr
    restored = pg_server.create_database(f"restored_{os.getpid()}")
    done = subprocess.run([str(pg_server.bindir / "pg_restore"), "--no-owner", "-d", restored, str(dump)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    roles = _set_up_roles(project, pg_server, restored)
    intact = _cli(project, roles["reader"], "audit", "verify-chain")
    assert intact.returncode == 0, intact.stderr
    assert intact.stdout.startswith("audit chain intact: 2 entries")
    assert _count(restored, "decisions") == 1


def test_roles_sql_refuses_names_that_would_need_quoting(project: Path) -> None:
    result = run_cli("store", "roles", "--print-sql", "--writer", 'ci"; DROP TABLE audit; --', cwd=project)
    assert "DROP TABLE" not in result.stdout
    assert "role name" in _one_line(result)


# --- 1. migrations are an explicit act ------------------------------------------------------


def test_ingest_into_an_empty_postgres_database_creates_nothing(project: Path, pg_url: str, tmp_path: Path) -> None:
    """A typo'd or maintenance database must not silently become an empty store (then `eval --all` exits 0)."""
    report = coverage_json(tmp_path / "c.json", 95, 100)
    line = _one_line(_cli(project, pg_url, "ingest", report, "-m", "svc"))
    assert line.endswith("holds no readypolicy schema; run `readypolicy store migrate` first")
    assert _tables(pg_url) == set()
    allowed = _cli(project, pg_url, "ingest", report, "-m", "svc", env={"READYPOLICY_STORE_AUTO_MIGRATE": "true"})
    assert allowed.returncode == 0, allowed.stderr
    assert _tables(pg_url) == set(TABLES)


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store location with nothing in it yet, per store kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    return str(request.getfixturevalue("pg_url"))


def test_an_older_schema_is_refused_until_migrated(project: Path, fresh_url: str) -> None:
    _v1_store(fresh_url, [make_record("svc", 1)])
    line = _one_line(_cli(project, fresh_url, "evidence", "list", "-m", "svc"))
    assert line.endswith("schema version 1 is older than this readypolicy (3); run `readypolicy store migrate` first")
    migrated = _cli(project, fresh_url, "store", "migrate")
    assert migrated.returncode == 0 and migrated.stdout.endswith(": schema version 3\n")
    store = open_store(fresh_url, create=False)
    try:
        assert [r.digest for r in store.latest_evidence("svc", "r1")] == [make_record("svc", 1).digest]
    finally:
        store.close()


def test_a_newer_schema_is_refused_by_every_command(project: Path, fresh_url: str, tmp_path: Path) -> None:
    open_store(fresh_url).close()
    if fresh_url.startswith("sqlite:///"):
        conn = sqlite3.connect(fresh_url.removeprefix("sqlite:///"))
        conn.execute("PRAGMA user_version = 4")
        conn.close()
    else:
        with psycopg.connect(fresh_url, autocommit=True) as pg:
            pg.execute("INSERT INTO schema_migrations VALUES (4, '2030-01-01T00:00:00Z')")
    report = coverage_json(tmp_path / "c.json", 95, 100)
    for command in (("evidence", "list", "-m", "svc"), ("ingest", report, "-m", "svc"), ("store", "migrate"),
                    ("eval", "--all"), ("audit", "verify-chain")):
        line = _one_line(_cli(project, fresh_url, *command))
        assert line.endswith("schema version 4 is newer than this readypolicy (3); upgrade readypolicy"), command


def test_libpq_keyword_string_is_refused_and_creates_no_file(project: Path, tmp_path: Path) -> None:
    """Read as a SQLite path, it created a file named after the password in the project root."""
    before = sorted(project.rglob("*"))
    keywords = "host=127.0.0.1 port=5432 password=zq7secret dbname=ready"
    report = coverage_json(tmp_path / "c.json", 95, 100)
    by_flag = _one_line(_cli(project, keywords, "ingest", report, "-m", "svc"))
    by_env = _one_line(run_cli("ingest", report, "-m", "svc", cwd=project, env={"READYPOLICY_STORE": keywords}))
    for line in (by_flag, by_env):
        assert "libpq keyword string" in line and "zq7secret" not in line
    assert sorted(project.rglob("*")) == before
    scheme = _one_line(_cli(project, "mysql://ci:zq7secret@db/ready", "evidence", "list", "-m", "svc"))
    assert "unsupported store URL scheme 'mysql'" in scheme and "zq7secret" not in scheme


# --- 3. store copy keeps history --------------------------------------------------------------


def _at(record: Any, when: str) -> Any:
    return dataclasses.replace(record, ingested_at=when)


def test_copy_into_a_newer_store_never_makes_older_evidence_current(tmp_path: Path, pg_url: str) -> None:
    """The copied, older coverage became the latest: NOT READY went to READY, 1.5.0 back to 1.4.0."""
    old_cov, new_cov = make_record("api", 1, kind="coverage"), make_record("api", 2, kind="coverage")
    old_web, new_web = make_record("web", 1, revision="1.4.0"), make_record("web", 2, revision="1.5.0")
    src = open_store(str(tmp_path / "src.db"))
    dst = open_store(pg_url)
    try:
        src.put_evidence([_at(old_cov, "2026-01-01T00:00:00.000000Z"), _at(old_web, "2026-01-01T00:00:00.000000Z")], "a")
        dst.put_evidence([_at(new_cov, "2026-02-01T00:00:00.000000Z"), _at(new_web, "2026-02-01T00:00:00.000000Z")], "b")
        copy_store(src, dst, "ops")
        assert [r.digest for r in dst.latest_evidence("api", "r1")] == [new_cov.digest]
        assert dst.latest_revision("web") == "1.5.0"
        times = {(e.digest, e.ingested_at) for e in dst.ingest_events()}
        assert (old_cov.digest, "2026-01-01T00:00:00.000000Z") in times  # the original ingest time went over
        # Merging the other way, the destination's newer evidence is newer there too.
        copy_store(dst, src, "ops")
        assert [r.digest for r in src.latest_evidence("api", "r1")] == [new_cov.digest]
        assert src.latest_revision("web") == "1.5.0"
    finally:
        src.close()
        dst.close()


def test_fresh_ingest_is_current_even_from_a_runner_with_a_slow_clock(store: Store) -> None:
    store.put_evidence([_at(make_record("api", 1), "2026-06-01T00:00:00.000000Z")], "fast-clock")
    store.put_evidence([_at(make_record("api", 2), "2026-05-01T00:00:00.000000Z")], "slow-clock")
    assert [r.digest for r in store.latest_evidence("api", "r1")] == [make_record("api", 2).digest]


def _fill(store: Store) -> None:
    store.put_evidence([make_record("api", n) for n in range(2)], "ci")
    store.append_audit("lead", "waiver", "api", {"control": "coverage", "until": "2026-03-01"})
    store.put_decision(decision("api", 0), "ci")


def test_copy_back_and_forth_never_duplicates_an_audit_entry(tmp_path: Path, pg_url: str) -> None:
    a = open_store(str(tmp_path / "a.db"))
    b = open_store(pg_url)
    try:
        _fill(a)
        copy_store(a, b, "ops")
        chain_a, chain_b = list(a.audit_entries()), list(b.audit_entries())
        back = copy_store(b, a, "ops")
        assert (back.evidence_new, back.decisions_new, back.audit_replayed) == (0, 0, 0)
        assert list(a.audit_entries()) == chain_a
        copy_store(a, b, "ops")
        assert list(b.audit_entries()) == chain_b
        assert [e.action for e in chain_a].count("waiver") == 1
        assert [e.action for e in chain_b].count("waiver") == 1
    finally:
        a.close()
        b.close()


def test_copy_refuses_a_destination_whose_chain_is_broken(tmp_path: Path, pg_url: str) -> None:
    src = open_store(str(tmp_path / "src.db"))
    dst = open_store(pg_url)
    try:
        _fill(src)
        dst.append_audit("lead", "waiver", "web", {"control": "tests"})
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("ALTER TABLE audit DISABLE TRIGGER audit_immutable")
            conn.execute("UPDATE audit SET actor = 'mallory' WHERE seq = 1")
        with pytest.raises(StoreError, match="destination audit chain is broken: entry 1"):
            copy_store(src, dst, "ops")
        assert _count(pg_url, "audit") == 1 and _count(pg_url, "evidence") == 0
    finally:
        src.close()
        dst.close()


def test_copy_that_stops_part_way_says_what_it_stored(project: Path, team: dict[str, str], tmp_path: Path) -> None:
    """A copy that stored evidence and then failed said "nothing stored"."""
    src_url = str(tmp_path / "src.db")
    src = open_store(src_url)
    _fill(src)
    src.close()
    with psycopg.connect(team["admin"], autocommit=True) as conn:
        conn.execute(f"REVOKE INSERT ON decisions FROM {ROLES['writer']}")
    line = _one_line(run_cli("store", "copy", "--from", src_url, "--to", team["writer"], cwd=project))
    assert "nothing stored: permission denied for table decisions" in line
    assert line.endswith("the copy stopped after storing 2 evidence in "
                         f"{team['writer']}: run it again to add the rest")
    assert _count(team["admin"], "evidence") == 2 and _count(team["admin"], "decisions") == 0


# --- 4. the same input is accepted or refused by either store ---------------------------------

UNSTORABLE = {
    "nul-in-value": ({"name": "a\x00b"}, "a NUL character (\\u0000) at document.name"),
    "nul-in-key": ({"a\x00b": 1}, "a NUL character (\\u0000) in a key of document"),
    "lone-surrogate": ({"name": "\udcff"}, "text that is not UTF-8 (a lone surrogate) at document.name"),
}


@pytest.mark.parametrize("case", sorted(UNSTORABLE))
def test_unstorable_text_is_refused_by_both_stores_alike(store: Store, case: str) -> None:
    extra, where = UNSTORABLE[case]
    record = make_record("api", 1)
    document = {**record.document, **extra}
    record = dataclasses.replace(record, document=document, digest="sha256:" + "0" * 64)
    with pytest.raises(StoreError) as raised:
        store.put_evidence([make_record("api", 2), record], "ci")
    assert str(raised.value) == (
        f"{record.source_path}: evidence {record.digest} holds {where}; no readypolicy store accepts it, nothing stored"
    )
    assert store.modules() == [] and list(store.audit_entries()) == []


def test_nul_in_a_decision_or_audit_entry_is_refused_by_both_stores(store: Store) -> None:
    row = decision("api", 0)
    bad = dataclasses.replace(row, record={**row.record, "note": "x\x00"})
    with pytest.raises(StoreError, match=r"holds a NUL character .* at \$.note; nothing stored"):
        store.put_decision(bad, "ci")
    with pytest.raises(StoreError, match="waiver audit entry holds a NUL character"):
        store.append_audit("ci", "waiver", "api", {"reason": "\x00"})
    assert store.list_decisions() == [] and list(store.audit_entries()) == []


def test_oversized_document_is_refused_by_both_stores(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(interface, "MAX_DOCUMENT_BYTES", 4096)
    big = make_record("api", 1, blob="x" * 5000)
    with pytest.raises(StoreError, match="more than the 4096 a store keeps"):
        store.put_evidence([big], "ci")
    assert store.put_evidence([make_record("api", 2)], "ci") == [True]


def test_nul_in_an_artifact_is_one_line_naming_the_file(project: Path, store_url: str, tmp_path: Path) -> None:
    report = coverage_json(tmp_path / "cov.json", 90, 100)
    data = json.loads(report.read_text())
    data["files"] = {"src/a\x00b.py": next(iter(data["files"].values()))}
    report.write_text(json.dumps(data))
    line = _one_line(_cli(project, store_url, "ingest", report, "-m", "svc"))
    assert line.startswith(f"readypolicy: error: {report}: evidence sha256:")
    assert line.endswith("holds a NUL character (\\u0000) at document.data.per_file[0].path;"
                         " no readypolicy store accepts it, nothing stored")
    listed = _cli(project, store_url, "evidence", "list", "-m", "svc", "--format", "json")
    assert listed.returncode == 0 and json.loads(listed.stdout) == []


def test_copy_names_the_document_that_cannot_go_over(
    project: Path, pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A SQLite store written before the check holds a NUL; the copy stopped part-way naming nothing."""
    src_url = str(tmp_path / "old.db")
    record = make_record("api", 1, name="a\x00b")
    assert record.digest == digest(record.document)
    with monkeypatch.context() as patched:
        patched.setattr(sql, "unstorable", lambda value, where: None)  # as an older readypolicy wrote it
        src = open_store(src_url)
        src.put_evidence([make_record("api", 0), record], "ci")
        src.close()
    open_store(pg_url).close()
    line = _one_line(run_cli("store", "copy", "--from", src_url, "--to", pg_url, cwd=project))
    assert line == (
        f"readypolicy: error: {record.source_path}: evidence {record.digest} holds a NUL character (\\u0000)"
        " at document.name; no readypolicy store accepts it, nothing stored"
    )
    assert _count(pg_url, "evidence") == 0 and _count(pg_url, "audit") == 0


# --- 5. bounded waiting -----------------------------------------------------------------------


def _write_lock_holder(url: str) -> int | None:
    """The backend pid holding readypolicy's write lock, if any."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = %s AND objid = %s",
            (WRITE_LOCK >> 32, WRITE_LOCK & 0xFFFFFFFF),
        ).fetchone()
    return int(row[0]) if row else None


def _wait_until_idle_in_transaction(url: str, pid: int) -> None:
    """Until backend `pid` has finished its statement and waits, idle in transaction (or is gone)."""
    deadline = time.monotonic() + 60
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute("SELECT state FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
            if row is None or row[0] == "idle in transaction":
                return
            time.sleep(0.01)
    raise AssertionError(f"backend {pid} never became idle in transaction")


@pytest.fixture
def stalled_batch(tmp_path: Path) -> Path:
    """A folder of 1500 coverage reports in 1500 scopes: one ingest transaction of a few seconds."""
    folder = tmp_path / "batch"
    for index in range(1500):
        scope = folder / f"s{index}"
        scope.mkdir(parents=True)
        coverage_json(scope / "coverage.json", 50, 100)
    return folder


def test_stalled_writer_never_blocks_others_beyond_the_limit(
    project: Path, pg_url: str, tmp_path: Path, stalled_batch: Path
) -> None:
    """A frozen runner held the write lock idle in transaction with no limit; the others failed after 30 s."""
    open_store(pg_url).close()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("READYPOLICY_", "COVERAGE_"))}
    env.update({"PYTHONPATH": str(REPO / "engine"), "READYPOLICY_ACTOR": "frozen", "READYPOLICY_STORE_TIMEOUT_S": "4"})
    stalled = subprocess.Popen(
        [sys.executable, "-m", "readypolicy", "--store", pg_url, "ingest", stalled_batch, "-m", "big", "-r", "r1"],
        cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 120
        holder = None
        while holder is None and stalled.poll() is None and time.monotonic() < deadline:
            holder = _write_lock_holder(pg_url)
            time.sleep(0.01)
        os.kill(stalled.pid, signal.SIGSTOP)
        assert holder is not None and _write_lock_holder(pg_url) == holder, "the ingest was not caught mid-transaction"
        # The runner may be frozen while the server still runs one of its statements (bounded by
        # statement_timeout, not by the idle limit): the scenario starts once it sits idle in transaction.
        _wait_until_idle_in_transaction(pg_url, holder)

        started = time.monotonic()
        other = run_cli("--store", pg_url, "ingest", coverage_json(tmp_path / "c.json", 95, 100), "-m", "svc",
                        cwd=project, env={"READYPOLICY_STORE_TIMEOUT_S": "4"})
        waited = time.monotonic() - started
        assert other.returncode == 0, other.stderr
        assert waited < 4 + 10  # the lock came free after 2 s idle; the rest is interpreter start-up
        assert _write_lock_holder(pg_url) is None
    finally:
        os.kill(stalled.pid, signal.SIGCONT)
    _out, err = stalled.communicate(timeout=120)
    lines = err.splitlines()
    assert stalled.returncode == 2 and len(lines) == 1 and "write failed, nothing stored" in lines[0], err
    assert "idle-in-transaction timeout" in lines[0] or "connection" in lines[0]
    store = open_store(pg_url, create=False)
    try:
        assert store.modules() == ["svc"]
        assert verify_chain(store.audit_entries()) == (1, None)
    finally:
        store.close()


def test_store_timeout_must_be_a_positive_number(project: Path) -> None:
    line = _one_line(run_cli("evidence", "list", "-m", "svc", cwd=project, env={"READYPOLICY_STORE_TIMEOUT_S": "0"}))
    assert "setting 'store_timeout_s' must be above 0" in line


# --- 6. credentials, what was stored, signed files --------------------------------------------


@pytest.mark.parametrize("password", ["zq7/kw", "zq7#kw", "zq7?kw", "zq7/k#w?x"])
def test_cli_never_prints_a_password_with_url_delimiters(project: Path, password: str, pg_server: PgServer) -> None:
    from urllib.parse import quote

    before = sorted(project.rglob("*"))
    for secret in (password, quote(password, safe="")):
        url = f"postgresql://ci:{secret}@127.0.0.1:{pg_server.port}/no_such_db?connect_timeout=3"
        for command in (("evidence", "list", "-m", "svc"), ("store", "migrate")):
            line = _one_line(_cli(project, url, *command))
            assert "zq7" not in line and "kw" not in line, line
        copied = _one_line(run_cli("store", "copy", "--from", url, "--to", "x.db", cwd=project))
        assert "zq7" not in copied and "kw" not in copied
    assert sorted(project.rglob("*")) == before


def test_failed_decision_after_recorded_ones_says_how_many_were_recorded(
    project: Path, pg_url: str, tmp_path: Path
) -> None:
    """The message said "nothing stored" when the earlier decisions of the run were stored."""
    open_store(pg_url).close()
    for module in ("m1", "m2"):
        _ingest(project, pg_url, module, "r1", 95, tmp_path)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TRIGGER refuse_m2 BEFORE INSERT ON decisions FOR EACH ROW WHEN (NEW.module = 'm2')"
                     " EXECUTE FUNCTION readypolicy_refuse('m2 is refused')")
    line = _one_line(_cli(project, pg_url, "eval", "-m", "m1", "-m", "m2", "-r", "r1"))
    assert line.endswith("write failed, nothing stored: m2 is refused; 1 decision(s) of this run were recorded")
    assert _count(pg_url, "decisions") == 1


@pytest.fixture
def keyed_project(project: Path, tmp_path: Path) -> Iterator[Path]:
    keygen = run_cli("keygen", "--prefix", "team", cwd=project, env=PASSWORD)
    assert keygen.returncode == 0, keygen.stderr
    for revision, covered in (("r1", 95), ("r2", 10)):
        report = coverage_json(tmp_path / f"{revision}.json", covered, 100)
        assert run_cli("ingest", report, "-m", "svc", "-r", revision, cwd=project).returncode == 0
    yield project


def test_concurrent_signed_evals_never_cross_pair_a_decision_and_a_bundle(keyed_project: Path) -> None:
    """Two `eval --sign` runs sharing a sign directory left one run's decision beside the other's bundle."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("READYPOLICY_", "COVERAGE_"))}
    env.update({"PYTHONPATH": str(REPO / "engine"), "READYPOLICY_ACTOR": "test", **PASSWORD})
    decision_file = keyed_project / "shared" / "svc.candidate.decision.json"
    for _round in range(4):
        runs = [
            subprocess.Popen(
                [sys.executable, "-m", "readypolicy", "eval", "-m", "svc", "-r", revision, "--no-record", "--sign",
                 "--key", "team.key", "--sign-dir", "shared"],
                cwd=keyed_project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
            for revision in ("r1", "r2")
        ]
        for run in runs:
            run.communicate(timeout=120)
            assert run.returncode in (0, 1)
        verified = run_cli("verify", decision_file, "--key", "team.pub", cwd=keyed_project)
        assert verified.returncode == 0, verified.stderr
    assert [p.name for p in (keyed_project / "shared").iterdir() if p.name.endswith(".tmp")] == []
