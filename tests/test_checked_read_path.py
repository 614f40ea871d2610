"""Rows edited in the store are refused on the read path every decision uses (`checked_evidence`).

The fleet reads thousands of documents per run, which tempts shortcuts: hashing the stored text
instead of re-serializing it, or checking only part of a document. Each test is an edit such a
shortcut would let through.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from synthetic_fleet import module_name, module_records

from readypolicy.store.interface import StoreError, checked_evidence
from readypolicy.store.open import open_store

STAMP = "2026-11-01T00:00:00.000000Z"


def _rewrite(db: Path, statements: list[str], *params: Any) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TRIGGER IF EXISTS evidence_immutable")
        conn.execute("DROP TRIGGER IF EXISTS ingests_immutable")
        for statement in statements:
            conn.execute(statement, params)


def _non_canonical(text: str) -> tuple[str, str]:
    """The same document written with a space after each separator, and the sha256 of that text."""
    spaced = json.dumps(json.loads(text), sort_keys=True, separators=(", ", ": "), ensure_ascii=False)
    return spaced, "sha256:" + hashlib.sha256(spaced.encode()).hexdigest()


EDITS = {
    "data raised": ["UPDATE evidence SET document = replace(document, '\"line_percent\":', '\"line_percent\":9')"
                    " WHERE kind = 'coverage'"],
    "envelope before data": ["UPDATE evidence SET document = json_set(document, '$.collected_at', '2030-01-01')"
                             " WHERE kind = 'coverage'"],
    "envelope after data": ["UPDATE evidence SET document = json_set(document, '$.producer.version', '9.9')"
                            " WHERE kind = 'coverage'"],
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_edited_rows_are_refused_on_the_checked_read_path(edit: str, tmp_path: Path) -> None:
    # Edits to the document text on either side of its `data` must still fail the content address.
    db = tmp_path / "store.db"
    store = open_store(str(db))
    store.put_evidence(module_records(0, "r1", STAMP), "test")
    store.close()
    _rewrite(db, EDITS[edit])
    store = open_store(str(db), create=False)
    with pytest.raises(StoreError, match=r"no longer matches its content address .*the store was edited"):
        [checked_evidence(record, store.url) for record in store.latest_evidence(module_name(0), "r1")]
    store.close()


def test_non_canonical_text_with_its_own_sha256_as_digest_is_refused(tmp_path: Path) -> None:
    # Hashing the stored text instead of the canonical bytes would accept a row rewritten by someone
    # who also set its digest columns to the sha256 of their (non-canonical) text. The digest must be
    # sha256 over RFC 8785 bytes of the document: such a row is refused.
    db = tmp_path / "store.db"
    store = open_store(str(db))
    store.put_evidence(module_records(0, "r1", STAMP), "test")
    store.close()
    with sqlite3.connect(db) as conn:
        old, text = conn.execute("SELECT digest, document FROM evidence WHERE kind = 'coverage'").fetchone()
    spaced, forged = _non_canonical(text)
    _rewrite(db, ["UPDATE evidence SET document = ?, digest = ? WHERE digest = ?"], spaced, forged, old)
    _rewrite(db, ["UPDATE ingests SET digest = ? WHERE digest = ?"], forged, old)
    store = open_store(str(db), create=False)
    records = store.latest_evidence(module_name(0), "r1")
    assert forged in [record.digest for record in records]  # the forged row is what the read returns
    with pytest.raises(StoreError, match=rf"evidence {forged} .*its document now hashes to {old}"):
        [checked_evidence(record, store.url) for record in records]
    store.close()
