"""JSON Schemas of evidence kinds, shipped as package data under `schemas/`.

Each kind's `data` has its own versioned schema (`schemas/<kind>.v<N>.json`, Draft 2020-12) so
policies can rely on field names and types; the envelope schema covers what every document shares.
"""

from __future__ import annotations

import json
from collections.abc import Set as AbstractSet
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from readypolicy.evidence.interface import NormalizeError

ENVELOPE = "evidence"


@cache
def load_schema(name: str, version: int = 1) -> dict[str, Any]:
    """The schema `schemas/<name>.v<version>.json`."""
    resource = resources.files("readypolicy.evidence") / "schemas" / f"{name}.v{version}.json"
    try:
        schema: dict[str, Any] = json.loads(resource.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise NormalizeError(f"no schema for evidence kind {name!r} version {version}") from exc
    return schema


@cache
def _validator(name: str, version: int) -> Draft202012Validator:
    """One validator per schema and process.

    No `check_schema` here: every schema is the package's own (read from its resources, never from
    user input), and tests/test_ingest_speed.py checks each against the 2020-12 metaschema once,
    instead of every process paying about 45 ms per schema for it.
    """
    return Draft202012Validator(load_schema(name, version), format_checker=Draft202012Validator.FORMAT_CHECKER)


def validate(name: str, version: int, value: Any, origin: str) -> None:
    """Raise NormalizeError naming the origin and the first schema violation."""
    error = best_match(_validator(name, version).iter_errors(value))
    if error is not None:
        declared = declared_names(load_schema(name, version))
        raise NormalizeError(f"{origin}: {name} evidence fails schema v{version} {violation(error, declared)}")


def violation(error: ValidationError, declared: AbstractSet[str]) -> str:
    """Where a value breaks its schema and which rule, in words taken from the schema only.

    jsonschema's own message quotes the offending value, and evidence values are artifact bytes
    (with a forced format, any file's); so the location shows only array indexes and the property
    names in `declared` (those the schema itself names), and the rule is described by its bound.
    """
    where = "/".join(str(part) if isinstance(part, int) or part in declared else "*" for part in error.absolute_path)
    rule = error.validator
    bound: Any = error.validator_value  # typed `Any | Unset`: unset only on an error no validator raised, never here
    if rule == "required" and isinstance(error.instance, dict):
        problem = "lacks " + ", ".join(str(key) for key in bound if key not in error.instance)
    elif rule in ("additionalProperties", "unevaluatedProperties") and bound is False:
        allowed = error.schema.get("properties") if isinstance(error.schema, dict) else None
        problem = "holds a property the schema does not allow" + (
            f" (allowed: {', '.join(allowed)})" if isinstance(allowed, dict) and allowed else "")
    elif isinstance(bound, bool | dict) or (isinstance(bound, list) and any(isinstance(v, dict) for v in bound)):
        problem = f"does not satisfy the schema's {rule}"
    else:
        problem = f"does not satisfy {rule} {json.dumps(bound)}"
    return f"at {where or '(root)'}: {problem}"


def declared_names(*documents: Any) -> frozenset[str]:
    """Every property name a `properties` or `required` anywhere in the schema documents declares."""
    names: set[str] = set()
    pending = list(documents)
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            properties = node.get("properties")
            names.update(properties if isinstance(properties, dict) else ())
            required = node.get("required")
            names.update(k for k in (required if isinstance(required, list) else ()) if isinstance(k, str))
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return frozenset(names)


def known_kinds() -> list[str]:
    """Every kind that ships a schema."""
    folder = resources.files("readypolicy.evidence") / "schemas"
    names = {entry.name.split(".v")[0] for entry in folder.iterdir() if entry.name.endswith(".json")}
    names.discard(ENVELOPE)
    return sorted(names)
