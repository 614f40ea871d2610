"""What ingest no longer does per process or per document, and why that is safe (issue 17).

Validators of the package's own schemas are built without `check_schema` (about 45 ms per schema and
process): each schema is checked against the 2020-12 metaschema here instead. The envelope validation
after the kind's validation is kept: it checks what build_record adds (module, revision, scope,
producer, dates, digests), and its schema leaves `data` to the kind's schema, so no document is
validated twice; the structural test below fails if someone makes the envelope descend into `data`.
"""

from __future__ import annotations

import json
from importlib import resources

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from readypolicy.evidence import schemas

SCHEMA_DIR = resources.files("readypolicy.evidence") / "schemas"
SHIPPED = sorted(entry.name for entry in SCHEMA_DIR.iterdir() if entry.name.endswith(".json"))


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_evidence_schema_is_a_valid_2020_12_schema(name: str) -> None:
    schema = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
    assert schema.get("$schema") == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_the_metaschema_check_would_catch_a_broken_schema() -> None:
    """The test above can fail: a schema with a mistyped keyword value is refused by check_schema."""
    with pytest.raises(SchemaError):
        Draft202012Validator.check_schema({"type": "object", "properties": {"x": {"type": "strin"}}})


def test_envelope_leaves_data_to_the_kind_schema() -> None:
    """The envelope checks only that `data` is an object: the kind's schema is the one validation of the data."""
    envelope = schemas.load_schema(schemas.ENVELOPE)
    assert envelope["properties"]["data"] == {"type": "object"}
    assert not {"allOf", "anyOf", "oneOf", "$ref", "$defs", "if", "dependentSchemas", "unevaluatedProperties"} & set(envelope)
    for kind in schemas.known_kinds():
        assert schemas.load_schema(kind).get("type") == "object", kind


def test_a_validator_is_built_once_per_schema_and_process() -> None:
    assert schemas.checker("coverage", 1) is schemas.checker("coverage", 1)
