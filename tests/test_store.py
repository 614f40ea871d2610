"""Store behaviour, checked identically on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import sqlite3

import psycopg
import pytest

from readypolicy.canonical import digest
from readypolicy.store.chain import verify_chain
from readypolicy.store.interface import DecisionRow, Store, StoreError
from readypolicy.store.open import open_store
from readypolicy.store.sql import SqlStore
from store_workers import make_record


def decision(module: str, n: int, lane: str = "integration", allow: bool = True, at: str = "") -> DecisionRow:
    evaluated_at = at or f"2025-01-01T00:00:{n % 60:02d}.000000Z"
    body = {"module": module, "revision": "r1", "lane": lane, "allow": allow, "n": n,
            "evaluated_at": evaluated_at, "reasons": [] if allow else ["coverage below 80%"]}
    return DecisionRow(
        decision_id=digest(body), module=module, revision="r1", lane=lane, allow=allow,
        policy_digest=digest({"policy": lane}), evaluated_at=evaluated_at,
        record={**body, "id": digest(body)},
    )


def chain_ok(store: Store) -> int:
    checked, problem = verify_chain(store.audit_entries())
    assert problem is None, problem
    return checked


def test_reput_is_idempotent(store: Store) -> None:
    batch = [make_record("api", n) for n in range(3)]
    assert store.put_evidence(batch, "ci") == [True, True, True]
    assert store.put_evidence(batch, "ci") == [False, False, False]
    assert store.put_evidence([make_record("api", 3), make_record("api", 3)], "ci") == [True, False]
    stored = [r.digest for r in store.list_evidence("api")]
    assert stored == [r.digest for r in [*batch, make_record("api", 3)]]
    ingests = [e for e in store.audit_entries() if e.action == "ingest"]
    assert [e.details["digest"] for e in ingests if not e.details.get("again")] == stored
    # The same records again (same ingest time and source) are the same events: nothing new. A new
    # record of a stored document is a new ingest event, logged as such.
    assert [e.details["digest"] for e in ingests if e.details.get("again")] == [make_record("api", 3).digest]
    assert chain_ok(store) == 5


def test_evidence_round_trips_exactly(store: Store) -> None:
    record = make_record("api", 1, floats=[0.1, 5.0, 1e-7, 1e20, -2.5e300, 87.5], text="zoë ✓", empty={})
    store.put_evidence([record], "ci")
    got = store.get_evidence(record.digest)
    assert got == record
    assert digest(got.document) == record.digest
    assert store.get_evidence("sha256:" + "0" * 64) is None


def test_latest_per_kind_and_scope(store: Store) -> None:
    old_unit = make_record("api", 1, kind="tests", scope="unit")
    integration = make_record("api", 2, kind="tests", scope="integration")
    coverage = make_record("api", 3, kind="coverage", scope="unit")
    new_unit = make_record("api", 4, kind="tests", scope="unit")
    other_revision = make_record("api", 5, revision="r2", kind="tests", scope="unit")
    store.put_evidence([old_unit, integration], "ci")
    store.put_evidence([coverage], "ci")
    store.put_evidence([new_unit, other_revision], "ci")
    latest = store.latest_evidence("api", "r1")
    assert [(r.kind, r.scope, r.digest) for r in latest] == [
        ("coverage", "unit", coverage.digest),
        ("tests", "integration", integration.digest),
        ("tests", "unit", new_unit.digest),
    ]
    assert [r.digest for r in store.latest_evidence("api", "r2")] == [other_revision.digest]
    assert store.latest_evidence("api", "r9") == []
    assert store.latest_revision("api") == "r2"
    assert store.latest_revision("web") is None
    # The gate's existence check agrees with the read it stands in for, revision by revision.
    for module, revision in [("api", "r1"), ("api", "r2"), ("api", "r9"), ("web", "r1"), ("API", "r1")]:
        assert store.has_evidence(module, revision) is bool(store.latest_evidence(module, revision))


def test_list_filters(store: Store) -> None:
    api = [make_record("api", 1), make_record("api", 2, kind="coverage"),
           make_record("api", 3, revision="r2")]
    web = [make_record("web", 1)]
    store.put_evidence([*api, *web], "ci")
    assert store.modules() == ["api", "web"]
    assert [r.digest for r in store.list_evidence("api")] == [r.digest for r in api]
    assert [r.digest for r in store.list_evidence("api", revision="r1")] == [api[0].digest, api[1].digest]
    assert [r.digest for r in store.list_evidence("api", kind="coverage")] == [api[1].digest]
    assert [r.digest for r in store.list_evidence("api", revision="r2", kind="coverage")] == []
    assert store.list_evidence("nope") == []


def test_decisions_round_trip_and_filters(store: Store) -> None:
    rows = [decision("api", 1), decision("api", 2, lane="production", allow=False), decision("web", 3)]
    for row in rows:
        store.put_decision(row, "ci")
    store.put_decision(rows[0], "ci")
    assert store.list_decisions() == rows
    assert store.list_decisions(module="api") == rows[:2]
    assert store.list_decisions(lane="production") == [rows[1]]
    assert store.list_decisions(since="2025-01-01T00:00:02.000000Z") == rows[1:]
    assert store.list_decisions(module="api", lane="integration", since="2025-01-01T00:00:02Z") == []
    assert store.get_decision(rows[1].decision_id) == rows[1]
    assert store.get_decision(rows[1].decision_id).allow is False
    decision_entries = [e for e in store.audit_entries() if e.action == "decision"]
    assert [e.details["decision_id"] for e in decision_entries] == [r.decision_id for r in rows]
    assert chain_ok(store) == 3


def test_decision_prefix_lookup_and_ambiguity(store: Store) -> None:
    rows = [decision("api", n) for n in range(17)]  # 17 ids over 16 hex digits: two share a first digit
    for row in rows:
        store.put_decision(row, "ci")
    target = rows[5].decision_id
    hexpart = target.removeprefix("sha256:")
    assert store.get_decision(hexpart[:12]) == rows[5]
    assert store.get_decision("sha256:" + hexpart[:12]) == rows[5]
    assert store.get_decision(hexpart[:12].upper()) == rows[5]
    assert store.get_decision("f" * 64) is None
    firsts = [r.decision_id.removeprefix("sha256:")[0] for r in rows]
    shared = next(c for c in firsts if firsts.count(c) > 1)
    with pytest.raises(StoreError, match="ambiguous"):
        store.get_decision(shared)


def test_audit_chain_records_each_write(store: Store) -> None:
    store.put_evidence([make_record("api", n) for n in range(2)], "alice")
    store.put_decision(decision("api", 1), "bob")
    appended = store.append_audit("carol", "waiver", "api", {"control": "coverage", "until": "2025-02-01"})
    entries = list(store.audit_entries())
    assert [(e.seq, e.action, e.actor) for e in entries] == [
        (1, "ingest", "alice"), (2, "ingest", "alice"), (3, "decision", "bob"), (4, "waiver", "carol"),
    ]
    assert entries[-1] == appended
    assert [e.seq for e in store.audit_entries(module="api")] == [1, 2, 3, 4]
    assert list(store.audit_entries(since="2999-01-01T00:00:00Z")) == []
    assert chain_ok(store) == 4


def test_bad_record_in_batch_stores_nothing(store: Store) -> None:
    store.put_evidence([make_record("api", 0)], "ci")
    broken = dataclasses.replace(make_record("api", 2), module=None)
    batch = [make_record("api", 1), broken, make_record("api", 3)]
    with pytest.raises(StoreError, match="nothing stored") as raised:
        store.put_evidence(batch, "ci")
    assert "\n" not in str(raised.value)
    assert [r.digest for r in store.list_evidence("api")] == [make_record("api", 0).digest]
    assert store.get_evidence(batch[0].digest) is None
    assert chain_ok(store) == 1
    assert store.put_evidence([batch[0]], "ci") == [True]
    assert chain_ok(store) == 2


REFUSED = [
    ("UPDATE evidence SET module = 'x'", "evidence is immutable"),
    ("UPDATE decisions SET lane = 'x'", "decisions are immutable"),
    ("DELETE FROM decisions", "decisions are append-only"),
    ("UPDATE audit SET actor = 'x'", "the audit log is append-only"),
    ("DELETE FROM audit", "the audit log is append-only"),
]


def raw_execute(url: str, statement: str) -> str:
    """Run one statement with the bare driver (as a tamperer would) and return the error it raised."""
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            conn.execute(statement)
            conn.commit()
        except sqlite3.Error as exc:
            return str(exc)
        finally:
            conn.close()
        return ""
    with psycopg.connect(url, autocommit=True) as conn:
        try:
            conn.execute(statement)
        except psycopg.Error as exc:
            return exc.diag.message_primary or str(exc)
    return ""


@pytest.mark.parametrize(("statement", "message"), REFUSED)
def test_triggers_refuse_rewriting_history(
    store: Store, store_url: str, statement: str, message: str
) -> None:
    store.put_evidence([make_record("api", 1)], "ci")
    store.put_decision(decision("api", 1), "ci")
    assert raw_execute(store_url, statement) == message
    assert len(store.list_evidence("api")) == 1
    assert len(store.list_decisions()) == 1
    assert chain_ok(store) == 2


@pytest.mark.postgres
@pytest.mark.parametrize("table", ["decisions", "audit"])
def test_postgres_refuses_truncate(pg_url: str, table: str) -> None:
    opened = open_store(pg_url)
    try:
        opened.put_decision(decision("api", 1), "ci")
        assert "append-only" in raw_execute(pg_url, f"TRUNCATE {table}")
        assert chain_ok(opened) == 1
    finally:
        opened.close()


def test_delete_evidence_logs_prune(store: Store) -> None:
    batch = [make_record("api", n) for n in range(3)]
    store.put_evidence(batch, "ci")
    store.put_decision(decision("api", 1), "ci")
    gone = [batch[0].digest, batch[2].digest, "sha256:" + "0" * 64]
    assert store.delete_evidence(gone, "retention", "older than 90 days") == 2
    assert [r.digest for r in store.list_evidence("api")] == [batch[1].digest]
    prune = list(store.audit_entries())[-1]
    assert (prune.action, prune.actor) == ("prune", "retention")
    assert prune.details == {"digests": gone, "reason": "older than 90 days"}
    assert store.delete_evidence(gone, "retention", "again") == 0
    assert list(store.audit_entries())[-1] == prune
    assert len(store.list_decisions()) == 1
    assert chain_ok(store) == 5


def test_migrate_is_idempotent(store: Store, store_url: str) -> None:
    assert isinstance(store, SqlStore)
    version = store.schema_version()
    assert version >= 1
    store.put_evidence([make_record("api", 1)], "ci")
    assert store.migrate() == version
    reopened = open_store(store_url)
    try:
        assert isinstance(reopened, SqlStore)
        assert reopened.migrate() == version
        assert [r.digest for r in reopened.list_evidence("api")] == [make_record("api", 1).digest]
        assert chain_ok(reopened) == 1
    finally:
        reopened.close()
