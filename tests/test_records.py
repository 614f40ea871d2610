"""The typed shapes of readypolicy.records say what the published JSON Schemas say, and real documents meet both.

`mypy --strict` holds the code to the TypedDicts; auditors hold decisions to the JSON Schemas shipped
beside them (docs/audit.md). If the two drift, the type checker vouches for a shape no auditor can
verify, so every field, required or not, and every enum is compared here. A real evaluation (real
OPA, real artifacts) then has to produce documents that validate against the published schemas, and
the published input schema must describe the very input whose digest the record carries.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any, get_args

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from readypolicy.canonical import digest, rfc3339, utc_now
from readypolicy.decision.result_check import ENFORCEMENTS, SEVERITIES, STATUSES
from readypolicy.engines.opa_binary import OpaBinary
from readypolicy.engines.opa_cli import OpaCliEngine
from readypolicy.evaluate import Subject, evaluate
from readypolicy.evidence.ingest import IngestOptions, ingest
from readypolicy.policy.pack import load_pack
from readypolicy.records import (
    CheckResult,
    DecisionRecord,
    Enforcement,
    EvidenceDocument,
    InputEvidence,
    PolicyInput,
    PolicyResult,
    Producer,
    RecordEngine,
    RecordEvidence,
    RecordPolicy,
    RecordSubject,
    Severity,
    Status,
)
from readypolicy.store.open import open_store
from support import ARTIFACTS, FIXTURES, coverage_json, require_opa

MINI_PACK = FIXTURES / "packs" / "mini"


def _schema(package: str, name: str) -> dict[str, Any]:
    return json.loads((resources.files(package) / name).read_text(encoding="utf-8"))


RESULT = _schema("readypolicy.decision", "result.schema.json")
RECORD = _schema("readypolicy.decision", "record.schema.json")
INPUT = _schema("readypolicy.decision", "policy-input.schema.json")
ENVELOPE = _schema("readypolicy.evidence", "schemas/evidence.v1.json")

SHAPES: list[tuple[str, Any, dict[str, Any]]] = [
    ("check", CheckResult, RESULT["properties"]["checks"]["items"]),
    ("policy result", PolicyResult, RESULT),
    ("decision record", DecisionRecord, RECORD),
    ("record subject", RecordSubject, RECORD["properties"]["subject"]),
    ("record policy", RecordPolicy, RECORD["properties"]["policy"]),
    ("record evidence", RecordEvidence, RECORD["properties"]["evidence"]["items"]),
    ("record engine", RecordEngine, RECORD["properties"]["engine"]),
    ("policy input", PolicyInput, INPUT),
    ("input evidence", InputEvidence, INPUT["properties"]["evidence"]["additionalProperties"]["items"]),
    ("evidence envelope", EvidenceDocument, ENVELOPE),
    ("producer", Producer, ENVELOPE["properties"]["producer"]),
]


@pytest.mark.parametrize(("name", "shape", "schema"), SHAPES, ids=[name for name, _, _ in SHAPES])
def test_typed_shape_has_exactly_the_schema_fields(name: str, shape: Any, schema: dict[str, Any]) -> None:
    """A field the schema requires but the type makes optional (or leaves out) would let typed code skip it."""
    assert set(shape.__required_keys__) == set(schema["required"]), name
    assert set(shape.__required_keys__) | set(shape.__optional_keys__) == set(schema["properties"]), name


def test_status_severity_and_enforcement_literals_are_the_schema_enums() -> None:
    """A status the type allows but the schema refuses (or the reverse) would type-check a decision result_check refuses."""
    check = RESULT["properties"]["checks"]["items"]["properties"]
    assert set(get_args(Status)) == set(check["status"]["enum"]) == STATUSES
    assert set(get_args(Severity)) == set(check["severity"]["enum"]) == SEVERITIES
    assert set(get_args(Enforcement)) == set(check["enforcement"]["enum"]) == ENFORCEMENTS


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    registry = Registry().with_resources([(doc["$id"], Resource.from_contents(doc)) for doc in (RESULT, RECORD, INPUT)])
    return Draft202012Validator(schema, registry=registry)


def test_real_record_and_input_meet_the_published_schemas(tmp_path: Path) -> None:
    """The attack on an auditor: a published input schema that refuses real inputs (an lcov report has no date,
    so its `collected_at` is null) leaves no way to re-derive `input_digest`, so a forged record cannot be told
    from a real one. A real evaluation's record and input must validate, and the input must hash to the record's
    `input_digest`."""
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        ingest(store, [coverage_json(tmp_path / "coverage.json", 50, 100)], IngestOptions(module="svc", revision="r1"), "test")
        ingest(store, [ARTIFACTS / "lcov" / "coverage.lcov"], IngestOptions(module="svc", revision="r1", scope="lcov"), "test")
        engine = OpaCliEngine(OpaBinary(require_opa(), tmp_path / "opa"))
        [evaluation] = evaluate(
            store=store, engine=engine, policy=load_pack(MINI_PACK), cache_dir=tmp_path / "cache", lane="candidate",
            subjects=[Subject("svc", "r1")], now=rfc3339(utc_now()),
        )
    finally:
        store.close()
    record, policy_input = json.loads(json.dumps(evaluation.record)), json.loads(json.dumps(evaluation.policy_input))
    undated = [entry for entry in policy_input["evidence"]["coverage"] if entry["collected_at"] is None]
    assert undated, "the lcov document should carry no collection time"
    assert list(_validator(RECORD).iter_errors(record)) == []
    assert list(_validator(INPUT).iter_errors(policy_input)) == []
    assert digest(policy_input) == record["input_digest"]
    assert record["allow"] is False and [c["status"] for c in record["checks"]] == ["fail"]
