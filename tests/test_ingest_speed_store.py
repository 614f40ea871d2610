"""The store writes a batch with one statement per table (issue 17), and what that must not change.

`put_evidence` used to run four statements per document (insert the document, insert its event, read
the audit chain's head, append an entry). Now what is already stored is read once per batch under the
write lock, and each table gets one multi-row statement; the audit chain is extended in memory from its
head. Checked on SQLite and PostgreSQL alike: the same answers, events, chain and all-or-nothing batches.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest

from readypolicy.store.chain import verify_chain
from readypolicy.store.interface import Store, StoreError, unstorable
from readypolicy.store.open import open_store
from readypolicy.store.sql import PRESENT_CHUNK, SqlStore
from store_workers import make_record


def _counts(store: Store, module: str) -> tuple[int, int, int]:
    events = [event for event in store.ingest_events() if event.module == module]
    return len(store.list_evidence(module)), len(events), len(list(store.audit_entries()))


def test_a_batch_larger_than_one_lookup_is_stored_and_recognised_whole(store: Store) -> None:
    """More documents than one `IN (...)` lookup holds: every one stored once, then every one known."""
    batch = [make_record("bulk", n) for n in range(PRESENT_CHUNK + 37)]
    assert store.put_evidence(batch, "ci") == [True] * len(batch)
    assert store.put_evidence(batch, "ci") == [False] * len(batch)
    assert [record.digest for record in store.list_evidence("bulk")] == [record.digest for record in batch]
    checked, problem = verify_chain(store.audit_entries())
    assert (checked, problem) == (len(batch), None)


def test_one_document_from_two_files_in_one_batch_is_stored_once_and_ingested_twice(store: Store) -> None:
    """The second copy is not new (`again` in the log) but is its own event: as when each row was its own insert."""
    first = make_record("api", 1)
    second = dataclasses.replace(first, source_path="elsewhere/copy.json")
    assert store.put_evidence([first, second], "ci") == [True, False]
    assert _counts(store, "api") == (1, 2, 2)
    entries = [entry for entry in store.audit_entries() if entry.action == "ingest"]
    assert [entry.details.get("again", False) for entry in entries] == [False, True]
    assert [entry.details["source"] for entry in entries] == [first.source_path, second.source_path]


def test_batched_audit_entries_chain_onto_entries_written_one_at_a_time(store: Store) -> None:
    """An appended action between two batches: the chain stays one unbroken sequence."""
    store.put_evidence([make_record("api", n) for n in range(3)], "ci")
    store.append_audit("ops", "note", "api", {"text": "between two batches"})
    store.put_evidence([make_record("api", n) for n in range(3, 6)], "ci")
    entries = list(store.audit_entries())
    assert [entry.seq for entry in entries] == list(range(1, 8))
    assert verify_chain(entries) == (7, None)


def _stale_store(url: str) -> SqlStore:
    """A real store whose batch lookup forgets what is stored: a writer that skipped the write lock."""
    store = open_store(url)
    assert isinstance(store, SqlStore)

    def nothing_stored(cur: object, table: str, column: str, values: Sequence[str]) -> set[str]:
        return set()

    store._present = nothing_stored  # type: ignore[method-assign]
    return store


def test_a_row_stored_behind_the_lookups_back_fails_the_whole_batch(store_url: str) -> None:
    """Attack: a stale "not stored yet" must not make a batch half-written or report a stored copy as new."""
    honest = open_store(store_url)
    try:
        honest.put_evidence([make_record("api", 1)], "ci")
        before = _counts(honest, "api")
        stale = _stale_store(store_url)
        try:
            with pytest.raises(StoreError, match="nothing stored"):
                stale.put_evidence([make_record("api", 2), make_record("api", 1)], "ci")
        finally:
            stale.close()
        assert _counts(honest, "api") == before
        assert verify_chain(honest.audit_entries()) == (1, None)
    finally:
        honest.close()


@pytest.mark.parametrize(("value", "problem"), [
    ({"a": ["ok", {"b": "x\x00y"}]}, "a NUL character (\\u0000) at $.a[1].b"),
    ({"a": {"k\ud800": 1}}, "text that is not UTF-8 (a lone surrogate) in a key of $.a"),
    ({"a": ["\udfff"]}, "text that is not UTF-8 (a lone surrogate) at $.a[0]"),
])
def test_unstorable_text_is_still_found_and_placed(value: object, problem: str) -> None:
    """The one-serialization fast path finds what the walk found, at the same place."""
    assert unstorable(value, "$") == problem


def test_text_that_only_looks_like_an_escaped_nul_is_storable() -> None:
    """A literal backslash-u0000 (six characters) in a report is text, not a NUL: stored, not refused."""
    assert unstorable({"a": "\\u0000", "b": "\\\\u0000"}, "$") is None
