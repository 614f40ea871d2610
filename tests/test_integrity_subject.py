"""Verdict integrity: READY only from the named revision's own, current, unedited evidence in a real store.

Each test is one attack that made `eval` exit 0 (or sign a decision) for a module that was not
ready, run through the real CLI, the real OPA binary and real SQLite/PostgreSQL stores.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import subprocess
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from readypolicy.audit.prune import parse_age, prune_evidence
from readypolicy.canonical import digest, rfc3339, utc_now
from readypolicy.cli.context import REVISION_VARIABLES
from readypolicy.store.copy import copy_store
from readypolicy.store.interface import DecisionRow, EvidenceRecord, Store
from readypolicy.store.open import open_store
from readypolicy.store.postgres import MIGRATIONS as POSTGRES_MIGRATIONS
from readypolicy.store.sqlite import MIGRATIONS as SQLITE_MIGRATIONS
from readypolicy.store.sqlite import _split_sql
from signed_project import PASSWORD, signed_project
from store_workers import make_record
from support import ARTIFACTS, coverage_json, make_project, run_cli

MANIFEST = ARTIFACTS / "lane-manifest-yaml" / "payments.lane.yaml"


def _cli(project: Path, store_url: str, *args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli("--store", store_url, *args, cwd=project, env=env)


def _ingest(project: Path, store_url: str, report: Path, revision: str, module: str = "svc") -> None:
    result = _cli(project, store_url, "ingest", report, "-m", module, "-r", revision)
    assert result.returncode == 0, result.stderr


def _decided(result: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert result.returncode in (0, 1), result.stderr
    record = json.loads(result.stdout)
    assert isinstance(record, dict)
    return record


def _tamper(store_url: str, sqlite_statements: list[str], postgres_statements: list[str]) -> None:
    """Edit the database behind readypolicy's back, as someone with write access to it could."""
    if store_url.startswith("sqlite:///"):
        conn = sqlite3.connect(store_url.removeprefix("sqlite:///"))
        for statement in sqlite_statements:
            conn.execute(statement)
        conn.commit()
        conn.close()
        return
    with psycopg.connect(store_url, autocommit=True) as conn:
        for statement in postgres_statements:
            conn.execute(statement)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path)


@pytest.fixture
def absent_store(store_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A store URL with no store behind it: a mistyped SQLite path, or an empty PostgreSQL database."""
    if store_url.startswith("sqlite:///"):
        return f"sqlite:///{tmp_path / 'stroe.db'}"
    return str(request.getfixturevalue("pg_server").create_database(f"absent_{tmp_path.name}_{os.getpid()}"))


def _still_absent(url: str) -> bool:
    if url.startswith("sqlite:///"):
        return not Path(url.removeprefix("sqlite:///")).exists()
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT to_regclass('evidence'), to_regclass('schema_migrations')").fetchone()
    return row == (None, None)


READ_COMMANDS = [
    ("eval", "-m", "svc", "-r", "r1"),
    ("eval", "--all"),
    ("evidence", "list", "-m", "svc"),
    ("evidence", "show", "-m", "svc"),
    ("report", "--html", "out.html"),
    ("audit", "log"),
    ("audit", "verify-chain"),
    ("audit", "export", "--decision", "abc123", "-o", "out.tar.gz"),
    ("store", "prune", "--older-than", "90d"),
]


@pytest.mark.parametrize("command", READ_COMMANDS, ids=lambda c: "-".join(c[:2]))
def test_read_commands_never_create_a_store(project: Path, absent_store: str, command: tuple[str, ...]) -> None:
    result = _cli(project, absent_store, *command)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert _still_absent(absent_store)
    assert result.stderr.count("\n") == 1
    assert "`readypolicy store migrate` first" in result.stderr  # (PostgreSQL: `ingest` does not create tables)


def test_drift_decisions_against_a_mistyped_store_is_exit_2(project: Path) -> None:
    for step in (("policy", "build"), ("policy", "approve")):  # a lock to compare with (approve logs to store.db)
        done = run_cli(*step, cwd=project)
        assert done.returncode == 0, done.stderr
    typo = project / "stroe.db"
    result = run_cli("--store", typo, "drift", "--decisions", cwd=project)
    assert result.returncode == 2 and f"store {typo} does not exist" in result.stderr
    assert not typo.exists()


def test_mistyped_store_path_is_not_created(project: Path, tmp_path: Path) -> None:
    _ingest(project, "store.db", coverage_json(tmp_path / "c.json", 95, 100), "r1")
    typo = project / "stroe.db"
    result = run_cli("--store", "stroe.db", "eval", "-m", "svc", "-r", "r1", cwd=project)
    assert result.returncode == 2
    assert result.stderr == (
        f"readypolicy: error: store {typo} does not exist; run `readypolicy ingest` or `readypolicy store migrate` first\n"
    )
    assert not typo.exists()
    env_typo = run_cli("eval", "-m", "svc", "-r", "r1", cwd=project, env={"READYPOLICY_STORE": str(typo)})
    assert env_typo.returncode == 2 and not typo.exists()


def test_replay_against_a_mistyped_store_is_exit_2(tmp_path: Path) -> None:
    signed = signed_project(tmp_path)
    typo = signed.root / "stroe.db"
    result = signed.cli("--store", typo, "verify", signed.decision, "--key", signed.public_key, "--replay")
    assert result.returncode == 2 and "replayed" not in result.stdout
    assert f"store {typo} does not exist" in result.stderr
    assert not typo.exists()


def test_eval_all_on_empty_store_is_exit_2(project: Path, store_url: str) -> None:
    created = _cli(project, store_url, "store", "migrate")
    assert created.returncode == 0, created.stderr
    result = _cli(project, store_url, "eval", "--all")
    assert result.returncode == 2
    assert result.stderr.endswith("holds no evidence: --all has no module to decide\n")
    assert result.stdout == ""


def test_eval_without_revision_never_falls_back_to_older_revision(project: Path, tmp_path: Path) -> None:
    """The new commit's ingest failed; its CI job must not be decided on the previous commit's evidence."""
    _ingest(project, "store.db", coverage_json(tmp_path / "c.json", 95, 100), "1.4.0")
    for env in ({"GITHUB_SHA": "1.5.0"}, {"READYPOLICY_REVISION": "1.5.0"}):
        result = run_cli("eval", "-m", "svc", cwd=project, env=env)
        assert result.returncode == 2, result.stdout
        variable = next(iter(env))
        assert f"no evidence stored for module 'svc' at revision '1.5.0' (from ${variable})" in result.stderr
        assert "READY" not in result.stdout
    flagged = run_cli("eval", "-m", "svc", "--revision", "1.5.0", cwd=project)
    assert flagged.returncode == 2 and "at revision '1.5.0' (from --revision)" in flagged.stderr


def test_eval_without_any_revision_says_which_one_it_picked(project: Path, tmp_path: Path) -> None:
    _ingest(project, "store.db", coverage_json(tmp_path / "a.json", 95, 100), "r1")
    _ingest(project, "store.db", coverage_json(tmp_path / "b.json", 50, 100), "r2")
    result = run_cli("eval", "-m", "svc", "--format", "json", cwd=project)
    assert _decided(result)["subject"] == {"module": "svc", "revision": "r2"}
    assert result.stderr == (
        "readypolicy: note: no --revision, $READYPOLICY_REVISION or CI commit variable: "
        "deciding svc at revision r2, the one ingested last; pass --revision\n"
    )


@pytest.mark.parametrize("variable", [variable for variable, _ci in REVISION_VARIABLES])
def test_ci_commit_variable_picks_revision(project: Path, tmp_path: Path, variable: str) -> None:
    """Each CI's commit variable names the subject of eval and the revision of ingest alike."""
    _ingest(project, "store.db", coverage_json(tmp_path / "good.json", 95, 100), "c1")
    _ingest(project, "store.db", coverage_json(tmp_path / "bad.json", 50, 100), "c2")
    picked = run_cli("eval", "-m", "svc", "--format", "json", cwd=project, env={variable: "c1"})
    assert _decided(picked)["subject"] == {"module": "svc", "revision": "c1"}
    assert picked.returncode == 0 and picked.stderr == ""
    stored = run_cli("ingest", tmp_path / "bad.json", "-m", "svc", cwd=project, env={variable: "c3"})
    assert stored.returncode == 0 and "svc@c3" in stored.stdout


def test_readypolicy_revision_comes_before_the_ci_commit(project: Path, tmp_path: Path) -> None:
    _ingest(project, "store.db", coverage_json(tmp_path / "bad.json", 50, 100), "c2")
    _ingest(project, "store.db", coverage_json(tmp_path / "good.json", 95, 100), "c1")
    env = {"READYPOLICY_REVISION": "c2", "GITHUB_SHA": "c1", "CI_COMMIT_SHA": "c1"}
    assert _decided(run_cli("eval", "-m", "svc", "--format", "json", cwd=project, env=env))["subject"] == {
        "module": "svc", "revision": "c2"}


def test_eval_all_decides_the_named_revision_of_every_module(project: Path, tmp_path: Path) -> None:
    _ingest(project, "store.db", coverage_json(tmp_path / "a.json", 95, 100), "r1", module="api")
    _ingest(project, "store.db", coverage_json(tmp_path / "b.json", 95, 100), "r1", module="web")
    _ingest(project, "store.db", coverage_json(tmp_path / "c.json", 50, 100), "r2", module="web")
    result = run_cli("eval", "--all", "--revision", "r1", "--format", "json", cwd=project)
    assert result.returncode == 0, result.stderr
    decided = [record["subject"] for record in json.loads(result.stdout)]
    assert decided == [{"module": "api", "revision": "r1"}, {"module": "web", "revision": "r1"}]
    missing = run_cli("eval", "--all", "--revision", "r2", cwd=project)
    assert missing.returncode == 2 and "module 'api' at revision 'r2'" in missing.stderr
    ci = run_cli("eval", "--all", "--format", "json", cwd=project, env={"GITHUB_SHA": "r1"})
    assert ci.returncode == 0 and ci.stderr == ""  # the CI commit applies to every module, as it does to one
    assert [record["subject"] for record in json.loads(ci.stdout)] == decided
    latest = run_cli("eval", "--all", "--latest", cwd=project, env={"GITHUB_SHA": "r1"})
    assert latest.returncode == 1  # web's latest is r2 (50%): --latest asks for each module's revision ingested last
    assert latest.stderr.startswith("readypolicy: note: --latest: ") and "each of the 2 module(s)" in latest.stderr


def test_reingest_of_older_identical_report_becomes_latest_again(project: Path, tmp_path: Path, store_url: str) -> None:
    """Coverage 60% -> 95% -> 60% (the same file again) is decided on 60%."""
    low, high = coverage_json(tmp_path / "low.json", 60, 100), coverage_json(tmp_path / "high.json", 95, 100)
    _ingest(project, store_url, low, "r1")
    _ingest(project, store_url, high, "r1")
    again = _cli(project, store_url, "ingest", low, "-m", "svc", "-r", "r1")
    assert again.returncode == 0 and again.stdout.startswith("again")
    result = _cli(project, store_url, "eval", "-m", "svc", "-r", "r1", "--format", "json")
    record = _decided(result)
    assert result.returncode == 1 and record["allow"] is False
    low_digest = json.loads(_cli(project, store_url, "evidence", "list", "-m", "svc", "--format", "json").stdout)[0]["digest"]
    assert [e["digest"] for e in record["evidence"]] == [low_digest]  # type: ignore[index]
    entries = json.loads(_cli(project, store_url, "audit", "log", "--format", "json").stdout)
    assert [(e["action"], e["details"].get("again")) for e in entries if e["action"] == "ingest"] == [
        ("ingest", None), ("ingest", None), ("ingest", True)]


def test_reingest_of_an_older_revision_makes_it_the_latest_again(project: Path, tmp_path: Path, store_url: str) -> None:
    report = coverage_json(tmp_path / "r1.json", 95, 100)
    _ingest(project, store_url, report, "r1")
    _ingest(project, store_url, coverage_json(tmp_path / "r2.json", 50, 100), "r2")
    _ingest(project, store_url, report, "r1")
    result = _cli(project, store_url, "eval", "-m", "svc", "--format", "json")
    assert _decided(result)["subject"] == {"module": "svc", "revision": "r1"}
    assert "deciding svc at revision r1, the one ingested last" in result.stderr


def test_manifest_with_scope_is_refused(project: Path) -> None:
    """A manifest ingested once with --scope must not stand beside (or beat) the module's real one."""
    result = run_cli("ingest", MANIFEST, "-m", "payments", "-r", "r1", "--scope", "old", cwd=project)
    assert result.returncode == 2
    assert result.stderr == (
        f"readypolicy: error: {MANIFEST}: a lane manifest has exactly one slot; scope 'old' is refused"
        " (ingest it without --scope)\n"
    )
    assert open_store(str(project / "store.db")).modules() == []
    plain = run_cli("ingest", MANIFEST, "-m", "payments", "-r", "r1", cwd=project)
    assert plain.returncode == 0, plain.stderr


def test_two_documents_for_one_slot_in_a_batch_are_refused(project: Path, tmp_path: Path) -> None:
    """A failing report followed by a passing one for the same slot must not leave only the pass."""
    failing = coverage_json(tmp_path / "failing.json", 50, 100)
    passing = coverage_json(tmp_path / "passing.json", 95, 100)
    result = run_cli("ingest", failing, passing, "-m", "svc", "-r", "r1", cwd=project)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert f"{failing} and {passing} are both coverage/default evidence for svc@r1" in result.stderr
    assert open_store(str(project / "store.db")).modules() == []
    copy = tmp_path / "failing-copy.json"
    copy.write_bytes(failing.read_bytes())
    same_twice = run_cli("ingest", failing, copy, "-m", "svc", "-r", "r1", cwd=project)
    assert same_twice.returncode == 0, same_twice.stderr  # the same document twice is one document for one slot


EDIT_COVERAGE = (
    ["DROP TRIGGER evidence_immutable",
     "UPDATE evidence SET document = replace(document, '\"line_percent\":60.0', '\"line_percent\":99.0')"],
    ["DROP TRIGGER evidence_immutable ON evidence",
     "UPDATE evidence SET document = jsonb_set(document, '{data,line_percent}', '99.0')"],
)


def _edited_store(project: Path, tmp_path: Path, store_url: str) -> str:
    """A store whose coverage row was raised from 60% to 99% in the database; returns the row's digest."""
    _ingest(project, store_url, coverage_json(tmp_path / "c.json", 60, 100), "r1")
    listed = json.loads(_cli(project, store_url, "evidence", "list", "-m", "svc", "--format", "json").stdout)
    _tamper(store_url, *EDIT_COVERAGE)
    shown = json.loads(_cli(project, store_url, "evidence", "show", "-m", "svc", "--format", "json").stdout)
    assert shown["data"]["line_percent"] == 99.0  # the edit took: unguarded, the policy would pass it
    return str(listed[0]["digest"])


def test_edited_evidence_row_is_refused_by_eval(project: Path, tmp_path: Path, store_url: str) -> None:
    edited = _edited_store(project, tmp_path, store_url)
    result = _cli(project, store_url, "eval", "-m", "svc", "-r", "r1")
    assert result.returncode == 2 and "READY" not in result.stdout
    assert f"evidence {edited} in " in result.stderr
    assert "no longer matches its content address (its document now hashes to sha256:" in result.stderr
    assert result.stderr.endswith("the store was edited\n")
    decisions = json.loads(_cli(project, store_url, "audit", "log", "--format", "json").stdout)
    assert [e["action"] for e in decisions] == ["ingest"]  # nothing decided, recorded or signed


def test_edited_evidence_row_is_reported_by_verify_chain(project: Path, tmp_path: Path, store_url: str) -> None:
    edited = _edited_store(project, tmp_path, store_url)
    result = _cli(project, store_url, "audit", "verify-chain")
    assert result.returncode == 2 and "intact" not in result.stdout
    assert f"evidence {edited} no longer matches its content address" in result.stderr


def test_evidence_moved_to_another_revision_is_refused_by_eval(project: Path, tmp_path: Path) -> None:
    """Relabelling an old revision's row (and its ingest event) as the new revision does not make it its evidence."""
    _ingest(project, "store.db", coverage_json(tmp_path / "c.json", 95, 100), "r1")
    _tamper("sqlite:///" + str(project / "store.db"), [
        "DROP TRIGGER evidence_immutable", "DROP TRIGGER ingests_immutable",
        "UPDATE evidence SET revision = 'r2'", "UPDATE ingests SET revision = 'r2'",
    ], [])
    result = run_cli("eval", "-m", "svc", "-r", "r2", cwd=project)
    assert result.returncode == 2
    assert "its revision column says 'r2' but its document says 'r1'" in result.stderr


def test_decision_file_names_do_not_collide(project: Path, tmp_path: Path) -> None:
    """`pay/x` (not ready) and `pay_x` (ready) used to share one signed decision file."""
    assert run_cli("keygen", "--prefix", "team", cwd=project, env=PASSWORD).returncode == 0
    _ingest(project, "store.db", coverage_json(tmp_path / "a.json", 50, 100), "r1", module="pay/x")
    _ingest(project, "store.db", coverage_json(tmp_path / "b.json", 95, 100), "r1", module="pay_x")
    signed = run_cli("eval", "-m", "pay/x", "-m", "pay_x", "-r", "r1", "--sign", "--key", "team.key",
                     cwd=project, env=PASSWORD)
    assert signed.returncode == 1, signed.stderr
    directory = project / ".readypolicy" / "decisions"
    expected = {"pay%2Fx.candidate.decision.json": ("pay/x", False), "pay_x.candidate.decision.json": ("pay_x", True)}
    assert sorted(p.name for p in directory.glob("*.decision.json")) == sorted(expected)
    for name, (module, allow) in expected.items():
        record = json.loads((directory / name).read_text(encoding="utf-8"))
        assert (record["subject"]["module"], record["allow"]) == (module, allow)
        verified = run_cli("verify", directory / name, "--key", "team.pub", cwd=project)
        assert verified.returncode == 0, verified.stderr


def _decision_naming(record_digest: str) -> DecisionRow:
    body = {"subject": {"module": "api", "revision": "r1"}, "lane": "candidate",
            "evidence": [{"kind": "coverage", "scope": "unit", "digest": record_digest}]}
    return DecisionRow(decision_id=digest(body), module="api", revision="r1", lane="candidate", allow=True,
                       policy_digest=digest({}), evaluated_at="2025-01-01T00:00:00.000000Z", record=body)


def test_prune_never_makes_an_older_document_current(store: Store) -> None:
    old = rfc3339(utc_now() - timedelta(days=120))
    decided = dataclasses.replace(make_record("api", 1, kind="coverage", ratio=50), ingested_at=old)
    current = dataclasses.replace(make_record("api", 2, kind="coverage", ratio=95), ingested_at=old)
    store.put_evidence([decided], "ci")
    store.put_evidence([current], "ci")
    store.put_decision(_decision_naming(decided.digest), "ci")
    result = prune_evidence(store, utc_now(), parse_age("90d"), "ops", dry_run=False)
    assert result.removed == 0
    assert [r.digest for r in store.latest_evidence("api", "r1")] == [current.digest]


def test_prune_keeps_a_document_ingested_again_recently(store: Store) -> None:
    old = rfc3339(utc_now() - timedelta(days=120))
    first = dataclasses.replace(make_record("api", 1), ingested_at=old)
    other = dataclasses.replace(make_record("api", 2, scope="smoke"), ingested_at=old)
    store.put_evidence([first, other], "ci")
    store.put_evidence([dataclasses.replace(first, ingested_at=rfc3339(utc_now()))], "ci")
    result = prune_evidence(store, utc_now(), parse_age("90d"), "ops", dry_run=False)
    assert result.digests == (other.digest,)
    assert [r.digest for r in store.latest_evidence("api", "r1")] == [first.digest]


def test_store_copy_keeps_which_document_is_current(store: Store, tmp_path: Path) -> None:
    low, high = make_record("api", 1, ratio=60), make_record("api", 2, ratio=95)
    store.put_evidence([low], "ci")
    store.put_evidence([high], "ci")
    store.put_evidence([dataclasses.replace(low, ingested_at=rfc3339(utc_now() + timedelta(seconds=1)))], "ci")
    copy = open_store(str(tmp_path / "copy.db"))
    try:
        result = copy_store(store, copy, "migrator")
        assert (result.evidence_new, result.evidence_total) == (2, 2)
        assert [r.digest for r in copy.latest_evidence("api", "r1")] == [low.digest]
        assert copy.ingest_events() == store.ingest_events()
        chain = list(copy.audit_entries())
        copy_store(store, copy, "migrator")
        assert list(copy.audit_entries()) == chain and copy.ingest_events() == store.ingest_events()
    finally:
        copy.close()


_V1_INSERT = (
    "INSERT INTO evidence (digest, module, revision, kind, scope, schema_version, document, raw_sha256,"
    " source_path, producer_tool, producer_version, collected_at, ingested_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _v1_store(store_url: str, records: list[EvidenceRecord]) -> None:
    """A store as schema version 1 left it (before ingest events), holding `records` in that order."""
    rows = [(r.digest, r.module, r.revision, r.kind, r.scope, 1, json.dumps(r.document), r.raw_sha256,
             r.source_path, r.producer_tool, r.producer_version, None, r.ingested_at) for r in records]
    if store_url.startswith("sqlite:///"):
        conn = sqlite3.connect(store_url.removeprefix("sqlite:///"), isolation_level=None)
        for statement in _split_sql(SQLITE_MIGRATIONS[0]):
            conn.execute(statement)
        conn.execute("PRAGMA user_version = 1")
        conn.executemany(_V1_INSERT, rows)
        conn.close()
        return
    with psycopg.connect(store_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
        conn.execute(POSTGRES_MIGRATIONS[0])
        conn.execute("INSERT INTO schema_migrations VALUES (1, '2025-01-01T00:00:00Z')")
        with conn.cursor() as cur:
            cur.executemany(_V1_INSERT.replace("?", "%s"), rows)


def test_migration_keeps_what_was_current(absent_store: str) -> None:
    """A store from before ingest events: each document gets one event, in the old order."""
    older, newer = make_record("api", 1), make_record("api", 2)
    _v1_store(absent_store, [older, newer])
    store = open_store(absent_store, create=True)  # as `store migrate` opens it; readers refuse a v1 store
    try:
        assert [r.digest for r in store.latest_evidence("api", "r1")] == [newer.digest]
        assert [e.digest for e in store.ingest_events()] == [older.digest, newer.digest]
        store.put_evidence([dataclasses.replace(older, ingested_at=rfc3339(utc_now()))], "ci")
        assert [r.digest for r in store.latest_evidence("api", "r1")] == [older.digest]
    finally:
        store.close()
