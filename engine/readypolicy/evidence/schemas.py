"""JSON Schemas of evidence kinds, shipped as package data under `schemas/`.

Each kind's `data` has its own versioned schema (`schemas/<kind>.v<N>.json`, Draft 2020-12) so
policies can rely on field names and types; the envelope schema covers what every document shares.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from readypolicy.evidence.interface import NormalizeError

ENVELOPE = "evidence"


@cache
def load_schema(name: str, version: int = 1) -> dict[str, Any]:
    """The schema `schemas/<name>.v<version>.json`."""
    resource = resources.files("readypolicy.evidence") / "schemas" / f"{name}.v{version}.json"
    try:
        return json.loads(resource.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise NormalizeError(f"no schema for evidence kind {name!r} version {version}") from exc


@cache
def _validator(name: str, version: int) -> Draft202012Validator:
    schema = load_schema(name, version)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def validate(name: str, version: int, value: Any, origin: str) -> None:
    """Raise NormalizeError naming the origin and the first schema violation."""
    error = best_match(_validator(name, version).iter_errors(value))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "(root)"
        raise NormalizeError(f"{origin}: {name} evidence fails schema v{version} at {where}: {error.message}")


def known_kinds() -> list[str]:
    """Every kind that ships a schema."""
    folder = resources.files("readypolicy.evidence") / "schemas"
    names = {entry.name.split(".v")[0] for entry in folder.iterdir() if entry.name.endswith(".json")}
    names.discard(ENVELOPE)
    return sorted(names)
