"""Speed, round 5: a fleet encodes each policy input once, for OPA and for its digest, and decides exactly as before.

`evaluate()` now hands OPA each input's canonical bytes (RFC 8785) where those are also the JSON
text `json` would write (every number spelled alike), and the record's input digest is their
sha256; an input holding integral floats (module 9 of the synthetic fleet writes `117.0`) goes to
OPA as `json` writes it, since its canonical bytes spell that number `117`. These tests hold that
to the real OPA and the shipped policies: the text OPA reads is the input's value with `json`'s
numbers, the decisions are byte for byte those made from `json`'s text, every digest is the one the
reference serializer gives (computed here with `rfc8785` and `hashlib`, not `canonical`), and an
edited evidence row still fails the whole fleet closed.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from click.testing import CliRunner
from synthetic_fleet import module_name

import readypolicy.evaluate
from readypolicy.cli.main import cli
from readypolicy.engines.opa_binary import OpaProcess
from readypolicy.evaluate import Evaluation, Subject, evaluate
from readypolicy.runtime import Runtime
from readypolicy.store.open import open_store
from support import synthetic_fleet_runtime

MODULES = 12
"""Modules 0..11: module 9's perf evidence holds an integral float (`117.0`), the others none."""
INTEGRAL_FLOAT_MODULE = module_name(9)
NOW = "2026-11-25T12:00:00.000000Z"


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[tuple[Runtime, Path]]:
    """A runtime over a store holding `MODULES` synthetic modules (real normalized evidence), and its config."""
    with synthetic_fleet_runtime(tmp_path, MODULES) as made:
        yield made


def _decide_fleet(rt: Runtime) -> list[Evaluation]:
    """The fleet path: several batches on worker threads."""
    subjects = [Subject(module_name(i), "r1") for i in range(MODULES)]
    return list(evaluate(store=rt.store, engine=rt.engine(), policy=rt.policy(), cache_dir=rt.cache_dir,
                         lane="candidate", subjects=subjects, now=NOW, batch_size=5, workers=2))


def _reference_digest(value: Any) -> str:
    return "sha256:" + hashlib.sha256(rfc8785.dumps(value)).hexdigest()


def _numbers_as_text(text: str | bytes) -> Any:
    """A JSON value with every number kept as the text it was written as (what OPA keeps too)."""
    return json.loads(text, parse_float=str, parse_int=str)


def test_opa_reads_each_input_with_the_numbers_json_writes(
    fleet: tuple[Runtime, Path], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Attack: hand OPA `117` where the evidence says `117.0` (or any number spelled otherwise) and a message or
    comparison that reads the number's text could change. What OPA is fed must be each input, numbers as `json` writes them."""
    rt, _config = fleet
    fed: list[bytes] = []
    feed = OpaProcess.feed

    def recording(self: OpaProcess, data: bytes) -> None:
        fed.append(data)
        feed(self, data)

    monkeypatch.setattr(OpaProcess, "feed", recording)
    evaluations = _decide_fleet(rt)
    sent = [item for data in fed for item in json.loads(data)["batch"]]
    assert len(fed) == 3 and len(sent) == MODULES
    by_module = {e.policy_input["module"]: e.policy_input for e in evaluations}
    canonical_sent = 0
    for data in fed:
        for item in _numbers_as_text(data)["batch"]:
            policy_input = by_module[item["module"]]
            assert item == _numbers_as_text(json.dumps(policy_input))
            canonical_sent += rfc8785.dumps(policy_input) in data
    assert canonical_sent == MODULES - 1  # all but module 9, whose canonical bytes say 117 for 117.0
    integral = by_module[INTEGRAL_FLOAT_MODULE]
    assert rfc8785.dumps(integral) not in b"".join(fed) and b":117.0" in b"".join(fed)


def test_decisions_are_byte_for_byte_those_made_from_json_text(
    fleet: tuple[Runtime, Path], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Attack: a shortcut in what OPA reads changes a verdict. The records must equal those made when OPA gets `json`'s text."""
    rt, _config = fleet
    shortcut = [rfc8785.dumps(dict(e.record)) for e in _decide_fleet(rt)]
    monkeypatch.setattr(readypolicy.evaluate, "plain_canonical_bytes", lambda value: None)
    from_json_text = [rfc8785.dumps(dict(e.record)) for e in _decide_fleet(rt)]
    assert shortcut == from_json_text
    assert len({json.loads(r)["decision_id"] for r in shortcut}) == MODULES


def test_each_record_names_its_input_and_itself_by_the_reference_serializer(fleet: tuple[Runtime, Path]) -> None:
    """Attack: the input digest taken from the bytes sent to OPA names another value than the input recorded
    (or a record id no other JCS implementation reproduces). Both must be the reference serializer's sha256."""
    rt, _config = fleet
    evaluations = _decide_fleet(rt)
    assert {e.policy_input["module"] for e in evaluations} >= {INTEGRAL_FLOAT_MODULE}
    for evaluation in evaluations:
        record = dict(evaluation.record)
        assert record["input_digest"] == _reference_digest(evaluation.policy_input)
        decision_id = record.pop("decision_id")
        assert decision_id == _reference_digest(record)
        for document in evaluation.evidence:
            assert document.digest == _reference_digest(document.document)


@pytest.mark.parametrize("edit", [
    "json_set(document, '$.data.line_percent', 99.5)",
    "json_set(document, '$.data.line_percent', json('99.0'))",
])
def test_an_edited_evidence_row_fails_the_fleet_closed(fleet: tuple[Runtime, Path], edit: str) -> None:
    """Attack: raise one module's coverage in the database, written as a fraction or as an integral float (which
    the digest check now serializes by the integral-float path). `eval --all` must exit 2, naming the row, deciding nothing."""
    rt, config = fleet
    db = Path(str(rt.config.store))
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TRIGGER evidence_immutable")  # what someone with write access to the database can do
        changed = conn.execute(
            f"UPDATE evidence SET document = {edit} WHERE module = ? AND kind = 'coverage'", (module_name(7),),
        ).rowcount
    assert changed == 1
    result = CliRunner().invoke(cli, ["--config", str(config), "eval", "--all", "--lane", "candidate"])
    assert result.exit_code == 2
    assert "no longer matches its content address" in result.stderr and "the store was edited" in result.stderr
    store = open_store(str(db))
    try:
        assert store.list_decisions() == []
    finally:
        store.close()
