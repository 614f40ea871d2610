"""Red-team attacks on the `ingests` table: which document is current, and whether the chain can tell.

The newest ingest event of a slot names its current document; nothing but the audit chain vouches
for those rows. Each test below changes that table the way someone with database access could
(a DELETE, an INSERT, a delete-and-reinsert with another time or order) and checks that
`audit verify-chain` refuses the store (exit 2, one line naming the event), on SQLite and on a real
PostgreSQL server, for chains written since entries name their event and for older chains.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pgserver import PgServer
from policy_project import ARTIFACTS, Project, make_project
from readypolicy.canonical import parse_rfc3339, rfc3339
from readypolicy.store.chain import evidence_problems
from readypolicy.store.copy import copy_store
from readypolicy.store.interface import EvidenceRecord, IngestEvent, Store, StoreError
from readypolicy.store.open import open_store
from readypolicy.store.sql import EVIDENCE_COLUMNS, INGEST_COLUMNS
from store_workers import make_record
from test_governance import _check
from test_team_store import _cli, _one_line, _set_up_roles

INGEST = ("ingest", "--module", "payments", "--revision", "abc", "--scope", "unit")
EVAL = ("--module", "payments", "--lane", "candidate", "--revision", "abc", "--no-record")


def _perfect_coverage(tmp_path: Path) -> tuple[Path, Path]:
    """The fixture coverage.json (fails coverage.line) and the same report with every line covered (passes)."""
    real = ARTIFACTS / "coverage-py-json" / "coverage.json"
    doc = json.loads(real.read_text(encoding="utf-8"))
    for entry in [*doc["files"].values(), doc]:
        counts = entry.get("summary", entry.get("totals"))
        counts.update(covered_lines=counts["num_statements"], missing_lines=0)
        if "missing_lines" in entry:  # a file's lists as coverage.py would write them for that run
            entry["executed_lines"] = sorted(entry["executed_lines"] + entry["missing_lines"])
            entry["missing_lines"] = []
    perfect = tmp_path / "coverage-earlier.json"
    perfect.write_text(json.dumps(doc), encoding="utf-8")
    return real, perfect


def _later(moment: str) -> str:
    """A time one second after `moment`, in the stores' format."""
    return rfc3339(parse_rfc3339(moment) + timedelta(seconds=1))


def _line_message(project: Project) -> str:
    return str(_check(project.eval_records(*EVAL)[0], "coverage.line")["message"])


def _earlier_then_current(tmp_path: Path) -> tuple[Project, str]:
    """A project whose coverage slot held a passing report, then the failing one (current); the eval message."""
    project = make_project(tmp_path)
    real, perfect = _perfect_coverage(tmp_path)
    assert project.run(*INGEST, str(perfect)).exit_code == 0
    assert project.run(*INGEST, str(real)).exit_code == 0
    return project, _line_message(project)


def _refused(project: Project, *expected: str) -> str:
    """`audit verify-chain` exits 2 with one line holding each of `expected`."""
    result = project.run("audit", "verify-chain")
    assert result.exit_code == 2, f"the store's current evidence changed, the chain says: {result.output}"
    line = result.output.strip()
    assert "\n" not in line and line.endswith("the store was edited"), line
    for text in expected:
        assert text in line, line
    return line


def _events(db: Path, kind: str = "coverage") -> list[tuple[Any, ...]]:
    """The ingest event rows of one kind, in arrival order."""
    with sqlite3.connect(db) as conn:
        return conn.execute(f"SELECT {INGEST_COLUMNS} FROM ingests WHERE kind = ? ORDER BY seq", (kind,)).fetchall()


def test_deleting_an_ingest_event_row_is_caught_by_verify_chain(tmp_path: Path) -> None:
    """One `DELETE FROM ingests` makes the earlier, passing report current again; verify-chain names the event."""
    project, before = _earlier_then_current(tmp_path)
    deleted = _events(project.root / "store.db")[-1]
    with sqlite3.connect(project.root / "store.db") as db:
        db.execute("DELETE FROM ingests WHERE seq = (SELECT MAX(seq) FROM ingests)")
    assert _line_message(project) != before  # the earlier report decides now
    _refused(project, f"logs an ingest of evidence {deleted[1]} whose ingest event is not in the store",
             "(a deleted ingest event)")


def test_inserting_an_ingest_event_row_is_caught_by_verify_chain(tmp_path: Path) -> None:
    """An INSERTed event of the earlier document, timed later, makes it current; verify-chain names it unlogged."""
    project, before = _earlier_then_current(tmp_path)
    *_, earlier, current = _events(project.root / "store.db")
    later = _later(current[8])  # after the current event
    forged = IngestEvent.id_of(earlier[1], later, earlier[6], earlier[7])  # even a well-formed id
    with sqlite3.connect(project.root / "store.db") as db:
        db.execute(_insert("ingests", INGEST_COLUMNS),
                   (forged, *earlier[1:8], later))
    assert _line_message(project) != before
    _refused(project, f"ingest event {forged} of evidence {earlier[1]} (payments@abc coverage/unit) has no ingest "
                      "entry in the audit chain (inserted unlogged)")


def test_reinserting_an_event_with_a_later_time_is_caught_by_verify_chain(tmp_path: Path) -> None:
    """Delete the earlier event and put it back timed later (same id): its columns no longer hash to its id."""
    project, before = _earlier_then_current(tmp_path)
    *_, earlier, current = _events(project.root / "store.db")
    later = _later(current[8])
    with sqlite3.connect(project.root / "store.db") as db:
        db.execute("DELETE FROM ingests WHERE event_id = ?", (earlier[0],))
        db.execute(_insert("ingests", INGEST_COLUMNS), (*earlier[:8], later))
    assert _line_message(project) != before
    _refused(project, f"ingest event {earlier[0]} (payments@abc coverage/unit) does not match entry",
             "its columns now hash to")


def _same_time_pair(store: Store) -> tuple[EvidenceRecord, EvidenceRecord]:
    """Two documents of one slot ingested in one batch with the same time: the second is current by arrival."""
    first, second = make_record("api", 1), make_record("api", 2)
    second = dataclasses.replace(second, ingested_at=first.ingested_at)
    store.put_evidence([first, second], "ci")
    assert [r.digest for r in store.latest_evidence("api", "r1")] == [second.digest]
    return first, second


def test_swapping_the_arrival_order_of_events_of_equal_time_is_caught(tmp_path: Path) -> None:
    """Events of equal time are ordered by `seq`, which no hash covers: re-inserting them swapped is caught."""
    db = tmp_path / "store.db"
    store = open_store(f"sqlite:///{db}")
    try:
        first, _second = _same_time_pair(store)
        rows = _events(db, "tests")
        with sqlite3.connect(db) as conn:
            conn.execute("DELETE FROM ingests")
            conn.executemany(_insert("ingests", INGEST_COLUMNS), rows[::-1])
        assert [r.digest for r in store.latest_evidence("api", "r1")] == [first.digest]
        problems = evidence_problems(store, list(store.audit_entries()))
    finally:
        store.close()
    assert problems == [f"ingest event {rows[0][0]} (api@r1 tests/unit) does not match entry 1: it stands after an "
                        "event of the same time that the chain logs later (events reordered)"]


def _insert(table: str, columns: str) -> str:
    return f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * len(columns.split(',')))})"


def _values(row: object, columns: str) -> list[Any]:
    return [getattr(row, name.strip()) for name in columns.split(",")]


def _old_chain_store(url: str, records: list[EvidenceRecord]) -> None:
    """A store as readypolicy wrote it before ingest entries named their event: the same rows, entries without `event_id`.

    Rows are written as `_put_ingests` wrote them (the schema did not change); entries are appended
    through the store's public `append_audit`, with the details the old code gave.
    """
    store = open_store(url)
    seen: set[str] = set()
    try:
        for record in records:
            document = {**vars(record), "document": json.dumps(record.document)}
            statements = [] if record.digest in seen else [(_insert("evidence", EVIDENCE_COLUMNS),
                                                            [document[name.strip()] for name in EVIDENCE_COLUMNS.split(",")])]
            statements.append((_insert("ingests", INGEST_COLUMNS), _values(IngestEvent.of(record, "ci"), INGEST_COLUMNS)))
            _execute(url, statements)
            details = {"digest": record.digest, "raw_sha256": record.raw_sha256, "kind": record.kind,
                       "scope": record.scope, "revision": record.revision, "source": record.source_path,
                       **({"again": True} if record.digest in seen else {})}
            store.append_audit("ci", "ingest", record.module, details)
            seen.add(record.digest)
    finally:
        store.close()


def _execute(url: str, statements: list[tuple[str, list[Any]]]) -> None:
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            for statement, values in statements:
                conn.execute(statement, values)
        return
    with psycopg.connect(url, autocommit=True) as conn:
        for statement, values in statements:
            conn.execute(statement.replace("?", "%s"), values)


def _problems(url: str) -> list[str]:
    store = open_store(url, create=False)
    try:
        return evidence_problems(store, list(store.audit_entries()))
    finally:
        store.close()


def test_an_old_chain_still_catches_a_deleted_or_inserted_event(store_url: str) -> None:
    """Entries from before `event_id` vouch for one event each of their document: delete or insert one and it shows.

    An untouched old store, and one ingested into since (a chain of both kinds), stay intact.
    """
    older, newer = make_record("api", 1), make_record("api", 2)
    again = dataclasses.replace(older, ingested_at=_later(newer.ingested_at), source_path="again.json")
    _old_chain_store(store_url, [older, newer, again])
    assert _problems(store_url) == []
    store = open_store(store_url)
    try:
        store.put_evidence([make_record("api", 3)], "ci")
        assert [r.digest for r in store.latest_evidence("api", "r1")] == [make_record("api", 3).digest]
    finally:
        store.close()
    assert _problems(store_url) == []
    _execute(store_url, [("DELETE FROM ingests WHERE digest = ? AND source_path = ?", [again.digest, again.source_path])])
    assert _problems(store_url) == [f"entry 3 logs an ingest of evidence {older.digest} whose ingest event is not in "
                                    "the store and no later prune entry removed it (a deleted ingest event)"]
    restored = _values(IngestEvent.of(again, "ci"), INGEST_COLUMNS)
    forged = "sha256:" + "1" * 64
    _execute(store_url, [(_insert("ingests", INGEST_COLUMNS), restored),
                         (_insert("ingests", INGEST_COLUMNS), [forged, *restored[1:]])])
    assert _problems(store_url) == [f"ingest event {forged} of evidence {older.digest} (api@r1 tests/unit)"
                                    " has no ingest entry in the audit chain (inserted unlogged)"]


def test_a_pruned_document_takes_its_events_without_a_problem(store: Store) -> None:
    """Retention deletes a document's events with it and logs a prune: that is not an edit of the table."""
    first, second = make_record("api", 1), make_record("api", 2, revision="r2")
    store.put_evidence([first, second], "ci")
    store.put_evidence([dataclasses.replace(first, ingested_at=second.ingested_at, source_path="again.json")], "ci")
    assert store.delete_evidence([first.digest], "retention", "old") == 1
    assert evidence_problems(store, list(store.audit_entries())) == []
    store.put_evidence([dataclasses.replace(first, ingested_at=_later(second.ingested_at))], "ci")
    assert evidence_problems(store, list(store.audit_entries())) == []


def test_copying_a_store_with_a_deleted_event_is_refused(tmp_path: Path) -> None:
    """`store copy` replays the source's events: a deleted one must not be laundered into a fresh, intact chain."""
    project, _before = _earlier_then_current(tmp_path)
    with sqlite3.connect(project.root / "store.db") as db:
        db.execute("DELETE FROM ingests WHERE seq = (SELECT MAX(seq) FROM ingests)")
    src = open_store(f"sqlite:///{project.root / 'store.db'}", create=False)
    dst = open_store(f"sqlite:///{tmp_path / 'copy.db'}")
    try:
        with pytest.raises(StoreError, match=r"source audit chain is broken: entry \d+ logs an ingest of evidence "
                                             r"sha256:[0-9a-f]{64} whose ingest event is not in the store"):
            copy_store(src, dst, "ops")
        assert dst.ingest_events() == []
    finally:
        src.close()
        dst.close()


@pytest.mark.postgres
def test_the_postgres_writer_role_inserting_an_ingest_event_is_caught(
    tmp_path: Path, pg_server: PgServer, pg_url: str
) -> None:
    """CI's writer role may INSERT into `ingests` (it cannot DELETE): an event it adds alone is refused by the reader."""
    project = make_project(tmp_path)
    assert _cli(project.root, pg_url, "store", "migrate").returncode == 0
    team = _set_up_roles(project.root, pg_server, pg_url)
    real, perfect = _perfect_coverage(tmp_path)
    for report in (perfect, real):
        assert _cli(project.root, team["writer"], *INGEST, report).returncode == 0
    decide = ("eval", *EVAL, "--format", "json")
    before = _check(json.loads(_cli(project.root, team["reader"], *decide).stdout), "coverage.line")["message"]
    with psycopg.connect(team["writer"], autocommit=True) as conn:
        *_, earlier, current = conn.execute(
            f"SELECT {INGEST_COLUMNS} FROM ingests WHERE kind = 'coverage' ORDER BY seq").fetchall()
        later = _later(current[8])
        forged = IngestEvent.id_of(earlier[1], later, earlier[6], earlier[7])
        conn.execute(_insert("ingests", INGEST_COLUMNS).replace("?", "%s"),
                     (forged, *earlier[1:8], later))
    after = _check(json.loads(_cli(project.root, team["reader"], *decide).stdout), "coverage.line")["message"]
    assert after != before  # the earlier, passing report decides now
    line = _one_line(_cli(project.root, team["reader"], "audit", "verify-chain"))
    assert f"ingest event {forged} of evidence {earlier[1]} (payments@abc coverage/unit) has no ingest entry" in line


@pytest.mark.postgres
def test_deleting_an_ingest_event_on_postgres_is_caught(tmp_path: Path, pg_url: str) -> None:
    """The owner (or anyone granted DELETE) removing the newest event: the same refusal as on SQLite."""
    project = make_project(tmp_path)
    real, perfect = _perfect_coverage(tmp_path)
    assert _cli(project.root, pg_url, "store", "migrate").returncode == 0
    for report in (perfect, real):
        assert _cli(project.root, pg_url, *INGEST, report).returncode == 0
    assert _cli(project.root, pg_url, "audit", "verify-chain").returncode == 0
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DELETE FROM ingests WHERE seq = (SELECT MAX(seq) FROM ingests)")
    line = _one_line(_cli(project.root, pg_url, "audit", "verify-chain"))
    assert "whose ingest event is not in the store and no later prune entry removed it (a deleted ingest event)" in line
