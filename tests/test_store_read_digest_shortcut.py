"""Attacks on a read-path shortcut: trusting `sha256(stored text) == digest column` instead of re-encoding.

Every decision reads its evidence through `checked_evidence`, which recomputes the RFC 8785 digest
of the parsed document (12 to 17 µs per document; about 16% of the fleet's Python CPU per module),
while hashing the text SQLite already holds costs about 1 µs. That shortcut is only as sound as the
claim that the stored text *is* the canonical form, and that claim is exactly what a store editor
controls: each test below is a row such a shortcut (or a cheaper stand-in for canonicality, such as
"the text is what Python's sorted compact `json` writes") lets through, run through the real CLI and
OPA on both stores. With the plain text-hash shortcut in place, the spelling tests answered READY
(exit 0) and recorded a decision naming sha256 of the forged text. Expected digests come from the
reference RFC 8785 implementation (`rfc8785`), never from readypolicy's own encoder.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import psycopg
import pytest
import rfc8785

from readypolicy.store.open import open_store
from support import coverage_json, make_project, run_cli

RAISED = 99.5
"""The coverage figure the attacker writes: the mini pack passes it where it refuses the honest 60%."""


def _cli(project: Path, store_url: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return run_cli("--store", store_url, *args, cwd=project)


def _sha256(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _reference_digest(document: Any) -> str:
    """The content address an independent RFC 8785 implementation gives a document."""
    return "sha256:" + hashlib.sha256(rfc8785.dumps(document)).hexdigest()


def _raised(document: dict[str, Any]) -> dict[str, Any]:
    return {**document, "data": {**document["data"], "line_percent": RAISED}}


def _query(store_url: str, sql: str, *params: Any) -> tuple[Any, ...]:
    """The first row of a query on either store (`?` placeholders; PostgreSQL's JSONB read as its text)."""
    if store_url.startswith("sqlite:///"):
        with sqlite3.connect(store_url.removeprefix("sqlite:///")) as conn:
            row = conn.execute(sql.replace("::text", ""), params).fetchone()
    else:
        with psycopg.connect(store_url, autocommit=True) as pg:
            row = pg.execute(sql.replace("?", "%s"), params).fetchone()
    assert row is not None
    return tuple(row)


def _coverage_row(store_url: str) -> tuple[str, dict[str, Any]]:
    """The digest column and the parsed document of the store's one coverage row."""
    digest, text = _query(store_url, "SELECT digest, document::text FROM evidence WHERE kind = 'coverage'")
    return str(digest), json.loads(text)


def _rewrite(store_url: str, old: str, text: str, new: str, columns: dict[str, str] | None = None) -> None:
    """Replace a row's document text and digest (its ingest events follow) as someone with write access could.

    `columns` also rewrites lookup columns (module, kind, ...) of the row and its events alike, so
    the filing check in `latest_evidence` sees a consistent slot and only the document can object.
    """
    sets = "".join(f", {column} = '{value}'" for column, value in (columns or {}).items())
    if store_url.startswith("sqlite:///"):
        conn = sqlite3.connect(store_url.removeprefix("sqlite:///"))
        conn.execute("DROP TRIGGER evidence_immutable")
        conn.execute("DROP TRIGGER ingests_immutable")
        conn.execute(f"UPDATE evidence SET document = ?, digest = ?{sets} WHERE digest = ?", (text, new, old))
        conn.execute(f"UPDATE ingests SET digest = ?{sets} WHERE digest = ?", (new, old))
        conn.commit()
        conn.close()
        return
    with psycopg.connect(store_url, autocommit=True) as pg:
        pg.execute("DROP TRIGGER evidence_immutable ON evidence")
        pg.execute("DROP TRIGGER ingests_immutable ON ingests")
        pg.execute(f"UPDATE evidence SET document = %s::jsonb, digest = %s{sets} WHERE digest = %s", (text, new, old))
        pg.execute(f"UPDATE ingests SET digest = %s{sets} WHERE digest = %s", (new, old))


def _stored_text(store_url: str, digest: str) -> str:
    """The document text the store hands back for a row (PostgreSQL re-serializes JSONB)."""
    return str(_query(store_url, "SELECT document::text FROM evidence WHERE digest = ?", digest)[0])


def _honest(tmp_path: Path, store_url: str) -> tuple[Path, str]:
    """A project whose store holds one honest coverage report at 60% for svc@r1 (NOT READY)."""
    project = make_project(tmp_path)
    result = _cli(project, store_url, "ingest", coverage_json(tmp_path / "c.json", 60, 100), "-m", "svc", "-r", "r1")
    assert result.returncode == 0, result.stderr
    return project, store_url


@pytest.fixture
def ingested(tmp_path: Path, store_url: str) -> tuple[Path, str]:
    """`_honest` on each store."""
    return _honest(tmp_path, store_url)


@pytest.fixture
def sqlite_ingested(tmp_path: Path) -> tuple[Path, str]:
    """`_honest` on SQLite, the store that keeps document text as written (JSONB parses it on write)."""
    return _honest(tmp_path, f"sqlite:///{tmp_path / 'store.db'}")


def _refused_and_nothing_recorded(project: Path, store_url: str, module: str = "svc") -> str:
    """Run `eval`; assert exit 2 with one line saying the store was edited, and no decision stored. Returns stderr."""
    result = _cli(project, store_url, "eval", "-m", module, "-r", "r1")
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "READY" not in result.stdout
    assert result.stderr.count("\n") == 1 and result.stderr.endswith("the store was edited\n"), result.stderr
    log = json.loads(_cli(project, store_url, "audit", "log", "--format", "json").stdout)
    assert [entry["action"] for entry in log] == ["ingest"]  # nothing decided, recorded or signed
    assert _query(store_url, "SELECT COUNT(*) FROM decisions") == (0,)
    return result.stderr


def test_the_raised_figure_would_be_ready_if_honest(tmp_path: Path, store_url: str) -> None:
    # The control: every forged row below carries 99.5%, which the pack passes, so each refusal
    # below is a READY that was stopped, not a NOT READY that stayed one.
    project = make_project(tmp_path)
    report = coverage_json(tmp_path / "c.json", int(RAISED * 2), 200)
    assert _cli(project, store_url, "ingest", report, "-m", "svc", "-r", "r1").returncode == 0
    result = _cli(project, store_url, "eval", "-m", "svc", "-r", "r1")
    assert result.returncode == 0, result.stderr
    assert _coverage_row(store_url)[1]["data"]["line_percent"] == RAISED


def test_canonical_text_edited_under_its_old_digest_is_refused(ingested: tuple[Path, str]) -> None:
    # The edited text is itself RFC 8785 text, so no canonicality test can object: only the hash does.
    project, store_url = ingested
    old, document = _coverage_row(store_url)
    forged = rfc8785.dumps(_raised(document)).decode("utf-8")
    _rewrite(store_url, old, forged, old)
    stderr = _refused_and_nothing_recorded(project, store_url)
    assert f"evidence {old} in " in stderr
    assert f"(its document now hashes to {_reference_digest(_raised(document))})" in stderr


NON_CANONICAL = {
    # Same value, other spelling: JCS text is compact, keys sorted by UTF-16 code units.
    "spaced separators": lambda doc: json.dumps(doc, sort_keys=True, separators=(", ", ": ")),
    "keys in reverse order": lambda doc: json.dumps(dict(sorted(doc.items(), reverse=True)), separators=(",", ":")),
    "escaped non-ASCII": lambda doc: json.dumps({**doc, "note": "café"}, sort_keys=True, separators=(",", ":")),
    # What Python's own sorted compact `json` writes: a whole float as `100.0`, where JCS writes `100`.
    # Text equal to `json.dumps(json.loads(text), sort_keys=True, ...)` is therefore no proof of canonicality.
    "python json's integral float": lambda doc: json.dumps(
        {**doc, "data": {**doc["data"], "line_percent": 100.0}}, sort_keys=True, separators=(",", ":"),
        ensure_ascii=False),
}


@pytest.mark.parametrize("spelling", sorted(NON_CANONICAL))
def test_non_canonical_text_under_its_own_sha256_is_refused(ingested: tuple[Path, str], spelling: str) -> None:
    # THE attack on hashing the stored text: rewrite the document as non-canonical text T and set
    # the digest columns to sha256(T). `sha256(text) == digest` then holds; the RFC 8785 address of
    # what T says does not, and a decision naming sha256(T) could be reproduced by no auditor.
    project, store_url = ingested
    old, document = _coverage_row(store_url)
    text = NON_CANONICAL[spelling](_raised(document))
    decided_on = json.loads(text)
    assert text != rfc8785.dumps(decided_on).decode("utf-8")  # the text is not its value's RFC 8785 form
    forged = _sha256(text)
    _rewrite(store_url, old, text, forged)
    if store_url.startswith("sqlite:///"):
        assert _sha256(_stored_text(store_url, forged)) == forged  # SQLite hands back T itself: the shortcut would hold
    stderr = _refused_and_nothing_recorded(project, store_url)
    assert f"evidence {forged} in " in stderr
    assert f"(its document now hashes to {_reference_digest(decided_on)})" in stderr


@pytest.mark.postgres
def test_postgres_own_text_under_its_sha256_is_refused(tmp_path: Path, pg_url: str) -> None:
    # On PostgreSQL the text in hand is JSONB's re-serialization (`", "` and `": "`, its own key
    # order): a digest column set to the sha256 of that text must be refused like any other.
    open_store(pg_url).close()  # `ingest` never creates PostgreSQL tables unless configured to
    project, store_url = _honest(tmp_path, pg_url)
    old, document = _coverage_row(store_url)
    text = str(_query(store_url, "SELECT ?::jsonb::text", json.dumps(_raised(document)))[0])
    assert text != rfc8785.dumps(json.loads(text)).decode("utf-8")
    _rewrite(store_url, old, text, _sha256(text))
    assert _stored_text(store_url, _sha256(text)) == text  # the text PostgreSQL hands back hashes to the column
    stderr = _refused_and_nothing_recorded(project, store_url)
    assert f"(its document now hashes to {_reference_digest(json.loads(text))})" in stderr


OUT_OF_DOMAIN = {
    # Values JSON text can spell and Python parses, but RFC 8785 has no form for: no content address
    # exists for them, so a row holding one cannot be evidence, whatever its digest column says.
    "NaN": "NaN",
    "overflowing float": "1e400",
    "integer beyond 2^53": "123456789012345678901",
}


@pytest.mark.parametrize("number", sorted(OUT_OF_DOMAIN))
def test_value_without_a_canonical_form_under_its_own_sha256_is_refused(
    sqlite_ingested: tuple[Path, str], number: str,
) -> None:
    # SQLite only: JSONB cannot hold NaN or infinity, and reads big integers back as floats.
    project, store_url = sqlite_ingested
    old, document = _coverage_row(store_url)
    spelled = f'"line_percent":{OUT_OF_DOMAIN[number]}'
    text = json.dumps(_raised(document), sort_keys=True, separators=(",", ":")).replace(
        f'"line_percent":{RAISED}', spelled)
    assert spelled in text
    parsed = json.loads(text)  # Python's parser accepts it...
    with pytest.raises(rfc8785.CanonicalizationError):
        rfc8785.dumps(parsed)  # ...the reference RFC 8785 implementation has no form for it
    forged = _sha256(text)
    _rewrite(store_url, old, text, forged)
    stderr = _refused_and_nothing_recorded(project, store_url)
    assert f"evidence {forged} in " in stderr
    assert "(its document has no RFC 8785 form: " in stderr


def test_document_text_that_is_not_json_is_refused_as_an_edit(sqlite_ingested: tuple[Path, str]) -> None:
    # SQLite only (JSONB parses on write). Text no parser reads has no content address either: one
    # line naming the row, the same as any other edited row, rather than a decoder's crash.
    project, store_url = sqlite_ingested
    old, document = _coverage_row(store_url)
    text = json.dumps(_raised(document))[:-1]  # the closing brace cut off
    forged = _sha256(text)
    _rewrite(store_url, old, text, forged)
    stderr = _refused_and_nothing_recorded(project, store_url)
    assert f"evidence {forged} in " in stderr
    assert "(its document is not JSON: " in stderr


@pytest.mark.parametrize(("column", "value"), [("module", "billing"), ("kind", "tests"), ("scope", "e2e")])
def test_lookup_column_edited_with_an_intact_digest_is_refused(
    ingested: tuple[Path, str], column: str, value: str,
) -> None:
    # The document and its digest are untouched (the content address holds, whichever way it is
    # checked), but the row and its ingest events are refiled: another module borrowing svc's report,
    # a coverage report counted as tests, a unit report filling the e2e slot. The columns must say
    # what the document says.
    project, store_url = ingested
    old, document = _coverage_row(store_url)
    text = rfc8785.dumps(document).decode("utf-8")
    assert _reference_digest(document) == old
    _rewrite(store_url, old, text, old, {column: value})
    stderr = _refused_and_nothing_recorded(project, store_url, module=value if column == "module" else "svc")
    assert f"evidence {old} in " in stderr
    assert f"(its {column} column says {value!r} but its document says {document[column]!r})" in stderr
