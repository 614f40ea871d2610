"""Ingest CPU per artifact, round 5 of issue 17: what the shortcuts must leave exactly as it was.

- The store serializes a document's column text and the size check's text with encoders built once
  per process instead of one `json.dumps` call (and encoder) per value: the same settings, the same text.
- The size check reads a record's fields through `vars()` instead of `dataclasses.fields()`: the same
  fields in the same order, so a refusal names the same place.
- The working tree a batch checks symlinks against is resolved only when a path leads somewhere else
  (most batches hold no symlink); it is still the directory current when the batch began.
- Two sniffs that scanned every artifact's text line by line or with a multi-line regex (`promtool-check`,
  `prometheus-rules`) first test for the plain words any match needs: the same answer on every input.
- A latency file's standard deviation turns each sample into an integer with one multiplication by a
  power of two instead of its integer ratio: the same exact variance, the same float.

Every stored value is checked against figures computed here from the raw files with json, hashlib and
the reference RFC 8785 serializer, never with readypolicy's own digest or normalizer code.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import sqlite3
import statistics
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from synthetic_fleet import module_artifacts, module_name, write_module

from readypolicy.evidence import stats
from readypolicy.evidence.formats import prometheus_rules, promtool_check
from readypolicy.evidence.formats.prometheus_rules import PrometheusRules
from readypolicy.evidence.formats.promtool_check import PromtoolCheck
from readypolicy.evidence.ingest import IngestOptions, WorkingTree, ingest, refuse_escaping_symlink
from readypolicy.evidence.interface import Artifact
from readypolicy.safeio import UnsafeInputError
from readypolicy.store import interface
from readypolicy.store.interface import EvidenceRecord, StoreError, unstorable
from readypolicy.store.open import open_store
from readypolicy.store.sql import SqlStore
from readypolicy.store.sqlite import SqliteStore
from store_workers import make_record
from support import ARTIFACTS, make_project, run_cli

GENESIS = "sha256:" + "0" * 64
FIXTURES = [  # a scanner's report is slotted by the scanner it names (a scope is refused): a third scanner for SARIF
    (ARTIFACTS / "junit-xml" / "pytest-xunit1.xml", "s0"),
    (ARTIFACTS / "coverage-py-json" / "coverage.json", "s1"),
    (ARTIFACTS / "bandit-json" / sorted(os.listdir(ARTIFACTS / "bandit-json"))[0], None),
    (ARTIFACTS / "semgrep-json" / sorted(os.listdir(ARTIFACTS / "semgrep-json"))[0], None),
    (ARTIFACTS / "sarif" / "trivy.sarif", None),
    (ARTIFACTS / "lcov" / sorted(os.listdir(ARTIFACTS / "lcov"))[0], "s5"),
]
FIXTURE_FILES = [path for path, _scope in FIXTURES]


def _sha(value: Any) -> str:
    """The content address of a JSON value, by the reference RFC 8785 serializer."""
    return "sha256:" + hashlib.sha256(rfc8785.dumps(value)).hexdigest()


def _column_text(value: Any) -> str:
    """A SQLite JSON column as readypolicy has always written it: sorted keys, compact, raw UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _rows(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the store's four tables, read with sqlite3 alone."""
    conn = sqlite3.connect(db)
    try:
        return {table: conn.execute(f"SELECT * FROM {table} ORDER BY seq").fetchall()
                for table in ("evidence", "ingests", "audit", "decisions")}
    finally:
        conn.close()


def _ingest_synthetic_fleet(store_url: str, work: Path) -> dict[str, bytes]:
    """Modules 0-7 one batch per module and scope, 8-15 one batch per module (as benchmarks/run.py does),
    and real tool outputs in one batch; returns each file's raw bytes by path."""
    store = open_store(store_url)
    raw: dict[str, bytes] = {}
    try:
        for index in range(16):
            items = write_module(work / str(index), index)
            raw.update((str(path), path.read_bytes()) for path, _scope in items)
            module = module_name(index)
            if index >= 8:
                readers = [IngestOptions(module=module, revision="r1", scope=scope) for _path, scope in items]
                ingest(store, [path for path, _scope in items], readers[0], "bench", per_path=readers)
                continue
            by_scope: dict[str | None, list[Path]] = {}
            for path, scope in items:
                by_scope.setdefault(scope, []).append(path)
            for scope, paths in by_scope.items():
                ingest(store, paths, IngestOptions(module=module, revision="r1", scope=scope), "bench")
        fixtures = IngestOptions(module="fixtures", revision="r9")
        readers = [dataclasses.replace(fixtures, scope=scope) for _path, scope in FIXTURES]
        ingest(store, FIXTURE_FILES, fixtures, "ci-fixtures", per_path=readers)
        raw.update((str(path), path.read_bytes()) for path in FIXTURE_FILES)
    finally:
        store.close()
    return raw


def test_every_stored_byte_digest_and_audit_link_is_what_the_raw_artifacts_give(tmp_path: Path) -> None:
    """Attack: a faster store path that writes a document, digest, event or audit entry any differently.

    Each row is recomputed here: the document text is its own sorted compact JSON, the digest the
    reference RFC 8785 hash of it, the raw digest the sha256 of the file's bytes, each event id and
    audit hash the reference hash of their fields, and the chain unbroken from genesis.
    """
    db = tmp_path / "store.db"
    raw = _ingest_synthetic_fleet(f"sqlite:///{db}", tmp_path / "artifacts")
    rows = _rows(db)
    assert len(rows["evidence"]) == len(raw) > 150 and rows["decisions"] == []
    columns = ("seq", "digest", "module", "revision", "kind", "scope", "schema_version", "document", "raw_sha256",
               "source_path", "producer_tool", "producer_version", "collected_at", "ingested_at")
    evidence = {row[1]: dict(zip(columns, row, strict=True)) for row in rows["evidence"]}
    for row in evidence.values():
        document = json.loads(row["document"])
        assert row["document"] == _column_text(document)
        assert row["digest"] == _sha(document)
        assert row["raw_sha256"] == document["raw_sha256"] == "sha256:" + hashlib.sha256(raw[row["source_path"]]).hexdigest()
        assert [row[key] for key in ("module", "revision", "kind", "scope", "schema_version", "collected_at")] == [
            document[key] for key in ("module", "revision", "kind", "scope", "schema_version", "collected_at")]
        assert (row["producer_tool"], row["producer_version"]) == (document["producer"]["tool"],
                                                                    document["producer"]["version"])
    prev = GENESIS
    for seq, ((_, event_id, digest, module, revision, kind, scope, source, actor, at), audit) in enumerate(
            zip(rows["ingests"], rows["audit"], strict=True), start=1):
        stored = evidence[digest]
        assert event_id == _sha({"digest": digest, "ingested_at": at, "source_path": source, "actor": actor})
        assert (module, revision, kind, scope, source, at) == tuple(
            stored[key] for key in ("module", "revision", "kind", "scope", "source_path", "ingested_at"))
        audit_seq, audit_prev, audit_hash, audit_at, audit_actor, action, audit_module, details_text = audit
        details = {"digest": digest, "raw_sha256": stored["raw_sha256"], "kind": kind, "scope": scope,
                   "revision": revision, "source": source, "event_id": event_id}
        assert (audit_seq, audit_prev, audit_actor, action, audit_module) == (seq, prev, actor, "ingest", module)
        assert details_text == _column_text(details)
        assert audit_hash == _sha({"seq": seq, "prev_hash": prev, "at": audit_at, "actor": actor, "action": "ingest",
                                   "module": module, "details": details})
        prev = audit_hash


def test_a_broken_last_artifact_leaves_the_store_byte_for_byte_unchanged(tmp_path: Path) -> None:
    """Attack: good reports first and a broken one last; nothing of the batch may be stored or logged.

    Through the CLI, as CI runs it: exit 2, one line naming the broken file, and every row of the store
    as it was (not only as many rows: the same bytes).
    """
    project = make_project(tmp_path)
    items = write_module(tmp_path / "good", 0)
    first = run_cli("ingest", items[1][0], "-m", module_name(0), "-r", "r1", cwd=project)
    assert first.returncode == 0, first.stderr
    before = _rows(project / "store.db")
    broken = tmp_path / "broken" / "coverage.json"
    broken.parent.mkdir()
    broken.write_text('{"meta": {"format": 3}, "totals": ')
    good = [path for path, _scope in items if path.name in ("unit.xml", "bandit.json", "latency-ms.json")]
    assert len(good) == 3
    done = run_cli("ingest", *good, broken, "-m", module_name(0), "-r", "r2", cwd=project)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and str(broken) in done.stderr, done.stderr
    assert _rows(project / "store.db") == before


@pytest.fixture
def two_trees(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Path]]:
    """Two working trees, each holding a report and a symlink to the other tree's report."""
    first, second = tmp_path / "first", tmp_path / "second"
    for tree, other in ((first, second), (second, first)):
        tree.mkdir()
        (tree / "coverage.json").write_text("{}")
        (tree / "theirs.json").symlink_to(other / "coverage.json")
    monkeypatch.chdir(first)
    yield first, second


def test_the_tree_a_batch_checks_symlinks_against_is_the_directory_it_began_in(two_trees: tuple[Path, Path]) -> None:
    """Attack: a batch that changes directory before its first symlink must not move the tree it checks against.

    The tree is resolved lazily now; it must still be the directory current when the batch began.
    """
    first, second = two_trees
    tree = WorkingTree()
    os.chdir(second)
    refuse_escaping_symlink(second / "theirs.json", tree)  # leads into the first tree: inside
    with pytest.raises(UnsafeInputError, match=f"outside the working tree {first.resolve()}"):
        refuse_escaping_symlink(first / "theirs.json", tree)  # leads into the second tree: outside


def test_a_batch_without_symlinks_never_resolves_the_tree(two_trees: tuple[Path, Path]) -> None:
    """What the lazy tree saves, and the refusal still there: the tree resolves only when a path leads elsewhere."""
    first, _second = two_trees
    tree = WorkingTree()
    refuse_escaping_symlink(first / "coverage.json", tree)
    assert "root" not in vars(tree)
    with pytest.raises(UnsafeInputError, match="outside the working tree"):
        refuse_escaping_symlink(first / "theirs.json", tree)
    assert tree.root == first.resolve()


def test_a_record_is_checked_field_by_field_in_declaration_order(tmp_path: Path) -> None:
    """Attack: a record with two unstorable values must be refused naming the same one as before.

    `vars()` of a record (made directly or by `dataclasses.replace`) lists the fields in declaration
    order, the dict the check serializes and walks; the refusal is compared with the one that
    `dataclasses.fields()` order gives.
    """
    names = [field.name for field in dataclasses.fields(EvidenceRecord)]
    record = make_record("api", 1)
    twisted = dataclasses.replace(record, source_path="a\x00b", producer_tool="t\x00",
                                  document={**record.document, "note": "\ud800"})
    for candidate in (record, twisted):
        assert list(vars(candidate)) == names
    expected = unstorable({**{name: getattr(twisted, name) for name in names}, "actor": "ci", "source": None}, "$")
    assert expected is not None
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    assert isinstance(store, SqlStore)
    try:
        with pytest.raises(StoreError) as caught:
            store.put_evidence([record, twisted], "ci")
        assert f"holds {expected.replace('$.', '', 1)};" in str(caught.value)
        assert store.modules() == []
    finally:
        store.close()


@pytest.mark.parametrize("value", [
    {"b": 1, "a": [1.0, 1e-06, 2**60, -0.0, None, True], "é": "ünïcødé \u2028 \x01", "\U0001f600": {"z": {}, "y": []}},
    [{"k": "\\u0000 is text"}, 3.14159, "x" * 300],
    {"nan": float("nan"), "inf": float("inf")},
    "a string",
    12,
])
def test_column_text_and_size_check_serialize_as_json_dumps_did(
    value: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The encoders built once write what the per-call `json.dumps` wrote, byte for byte (the size check's
    text measured through its refusal)."""
    store = SqliteStore(tmp_path / "store.db")
    try:
        assert store._json_param(value) == _column_text(value)
    finally:
        store.close()
    compact = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    limit = len(compact) - 1
    assert unstorable(value, "$") is None
    monkeypatch.setattr(interface, "MAX_DOCUMENT_BYTES", limit)
    assert unstorable(value, "$") == f"{len(compact)} bytes of JSON at $, more than the {limit} a store keeps"


def _promtool_check_before(artifact: Artifact) -> bool:
    """`PromtoolCheck.detect` as it was before the word test (the reference the shortcut must agree with)."""
    lines = [line for line in artifact.head.splitlines() if line.strip()]
    if len(artifact.raw) > 4096:
        lines = lines[:-1]
    if not lines:
        return False
    if promtool_check._CHECKING.match(lines[0]):
        return any(promtool_check._SUCCESS.match(line) or promtool_check._FAILED.match(line) for line in lines)
    if any(promtool_check._TABLE_HEADER.match(line) for line in lines):
        return True
    return all(promtool_check._LINT.match(line) for line in lines) and any(
        promtool_check._PROMLINT_TEXT.search(match["text"]) for line in lines if (match := promtool_check._LINT.match(line)))


def _prometheus_rules_before(artifact: Artifact) -> bool:
    """`PrometheusRules.detect` as it was before the substring test."""
    text = artifact.text_or_empty
    return (not artifact.looks_like_json() and bool(prometheus_rules._GROUPS_LINE.search(text))
            and bool(prometheus_rules._RULE_LINE.search(text)) and "rule_files:" not in text)


CRAFTED = [
    "Checking rules.yml\n  SUCCESS: 3 rules found\n", "Checking a.yml\n  FAILED:\nbad\n", "Checking a.yml\n",
    "Metric  Cardinality   Percentage\nup 3 100%\nTotal 3 100%\n", "metric cardinality percentage\n",
    'http_requests counter metrics should have "_total" suffix\n', "foo no help text\nbar use base unit \"seconds\"\n",
    "foo no help text\nnot a lint line at all\n", "x should y\n", "Checkingrules\n", "\n\n  \n",
    '{"a": 1,\n"b": "Metric Cardinality Percentage"}\n', '[\n"Checking x",\n"  SUCCESS: 1 rules found"\n]\n',
    "<x>\nMetric Cardinality Percentage\n</x>\n", "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n",
    "groups: # rules\n  - name: g\n    rules:\n      - record: r\n        expr: up\n", "groups:\n  - rules: []\n",
    "rule_files: [a]\ngroups:\n- alert: A\n", "  groups:\n- alert: A\n", "xgroups:\n- alert: A\n",
    '{"groups": [{"rules": [{"alert": "A"}]}]}\n', "groups:\n- record:x\n",
    "x" * 4090 + "\nMetric Cardinality Percentage\n", "up 1\n" * 900 + "Checking at the end\n",
    "Checking f\n" + "  SUCCESS: 1 rules found\n" * 200, "\ufeffChecking f\n  SUCCESS: 1 rules found\n",
]


def _detection_corpus() -> Iterator[Artifact]:
    """Every fixture file, the synthetic fleet's artifacts, crafted near-misses, and each cut at several lengths."""
    raws = [path.read_bytes() for path in sorted(ARTIFACTS.parent.rglob("*")) if path.is_file()
            and path.stat().st_size <= 1 << 20]
    raws += [item.raw for index in range(40) for item in module_artifacts(index)]
    raws += [text.encode() for text in CRAFTED]
    for raw in raws:
        for cut in (len(raw), 4095, 4097, 200, 37):
            if cut <= len(raw):
                yield Artifact(path=Path("artifact"), raw=raw[:cut])


def test_the_cheap_word_tests_detect_exactly_what_the_full_scans_did() -> None:
    """Attack: a faster sniff that claims, or lets go of, a file the full scan decided otherwise.

    Detection order decides which normalizer reads a file, so each sniff must answer as before on every
    input: fixture files, the synthetic fleet, crafted near-misses and truncations (yes and no both seen).
    """
    detectors = ((PromtoolCheck(), _promtool_check_before), (PrometheusRules(), _prometheus_rules_before))
    seen: dict[str, set[bool]] = {}
    for artifact in _detection_corpus():
        for normalizer, before in detectors:
            expected = before(artifact)
            assert normalizer.detect(artifact) is expected, (normalizer.format, artifact.raw[:200])
            seen.setdefault(normalizer.format, set()).add(expected)
    assert seen == {"promtool-check": {True, False}, "prometheus-rules": {True, False}}


def _latency_samples() -> list[list[float]]:
    """The sample lists of the synthetic fleet's latency files, as `summarize` hands them to `sample_stdev`."""
    found = []
    for index in range(40):
        for item in module_artifacts(index):
            if item.name.startswith("latency"):
                value = json.loads(item.raw)
                found.append(sorted(map(float, value["samples_ms"] if isinstance(value, dict) else value)))
    return found


EDGES = [
    [0.0, 0.0], [-0.0, 0.0, 3.5], [2.0**-971, 1.5], [2.0**-971, 2.0], [2.0**-970, 1.99], [2.0**-1022, 1.0],
    [5e-324, 1.0], [1.7976931348623157e308, 1e308], [1.7976931348623157e308, 1.0], [2.0**60 + 2**8, 2.0**53, 1.0],
    [-3.25, 1e-3, 7.0], [9007199254740993.0, 0.1],
]


@pytest.mark.parametrize("samples", [*EDGES, *_latency_samples()[:25]])
def test_the_stddev_of_scaled_integers_is_statistics_stdev_to_the_bit(samples: list[float]) -> None:
    """Attack: one multiplication per sample instead of its integer ratio, off by a rounding anywhere.

    Every integer over the common power of two is the very sample (compared as exact fractions), and the
    figure is `statistics.stdev`'s bit for bit, at both sides of where the one multiplication stops being
    exact (subnormals, a span past the float range) and on the fleet's latency files.
    """
    integers, common = stats._common_integers(samples)
    assert common & (common - 1) == 0
    assert [Fraction(integer, common) for integer in integers] == [Fraction(sample) for sample in samples]
    assert stats.sample_stdev(samples) == statistics.stdev(samples)


def test_latency_files_take_the_one_multiplication_and_subnormals_do_not() -> None:
    """Both ways of `_common_integers` are used where meant (the test above then covers each)."""
    for samples in _latency_samples():  # the scale the smallest sample sets, not the largest denominator
        assert stats._common_integers(samples)[1] == 1 << (53 - math.frexp(samples[0])[1])
    assert stats._common_integers([2.0**-971, 1.5])[1] == 1 << 1023  # one multiplication, at its limit
    assert stats._common_integers([2.0**-971, 2.0])[1] == 1 << 971  # past it: 2**-971's own integer ratio
    assert stats._common_integers([5e-324, 1.0])[1] == 1 << 1074  # a subnormal: its own integer ratio
