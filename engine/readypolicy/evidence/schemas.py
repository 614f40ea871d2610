"""JSON Schemas of evidence kinds, shipped as package data under `schemas/`.

Each kind's `data` has its own versioned schema (`schemas/<kind>.v<N>.json`, Draft 2020-12) so
policies can rely on field names and types; the envelope schema covers what every document shares.

Documents are validated by `jsonschema-rs` (a compiled 2020-12 validator, about a hundred times
faster than the interpreted `jsonschema`, which was ingest's largest cost). `jsonschema` stays the
reference: it words the error of a refused document, and it decides a value `jsonschema-rs` cannot
take in (a non-string key). Where the two disagree, the document is refused: `jsonschema-rs`
refuses a few values `jsonschema` lets through (a `$` pattern before a trailing newline, a
non-ASCII digit in a digit class, a malformed `date-time`), and tests/test_ingest_speed_validator.py proves on
every shipped schema that it refuses whatever `jsonschema` refuses.
"""

from __future__ import annotations

import json
from collections.abc import Set as AbstractSet
from functools import cache, cached_property
from importlib import resources
from typing import TYPE_CHECKING, Any

import jsonschema_rs

from readypolicy.evidence.interface import NormalizeError

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

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


class Checker:
    """One schema, compiled once per process: `jsonschema-rs` decides, `jsonschema` words a refusal.

    `resources` are further schemas the schema refers to by `$id` (never fetched: both validators
    are offline). `formats` asserts `format` keywords, as the reference's format checker does.
    """

    def __init__(self, schema: dict[str, Any], resources: tuple[dict[str, Any], ...] = (), formats: bool = True) -> None:
        self.schema = schema
        self.resources = resources
        self.formats = formats
        registry = jsonschema_rs.Registry([(resource["$id"], resource) for resource in resources]) if resources else None
        self.compiled = jsonschema_rs.validator_for(schema, validate_formats=formats, registry=registry, offline=True)

    @cached_property
    def reference(self) -> Draft202012Validator:
        """The interpreted validator, built only when a value is refused or cannot be handed to the compiled one.

        No `check_schema`: every schema is the package's own (read from its resources, never from user
        input), and tests/test_ingest_speed.py checks each against the 2020-12 metaschema once, instead
        of every process paying about 45 ms per schema for it.
        """
        from jsonschema import Draft202012Validator
        from referencing import Registry, Resource

        registry: Registry[Any] = Registry().with_resources(
            (resource["$id"], Resource.from_contents(resource)) for resource in self.resources)
        checker = Draft202012Validator.FORMAT_CHECKER if self.formats else None
        return Draft202012Validator(self.schema, registry=registry, format_checker=checker)

    @cached_property
    def declared(self) -> frozenset[str]:
        """The property names the schemas declare: the only names an error may show."""
        return declared_names(self.schema, *self.resources)

    def problem(self, value: Any) -> str | None:
        """Where `value` breaks the schema and which rule (see `violation`), or None when it satisfies it."""
        try:
            refused = not self.compiled.is_valid(value)
        except (ValueError, TypeError, OverflowError):
            refused = False  # a Python value with no JSON form in Rust (a non-string key, bytes): the reference decides
        else:
            if not refused:
                return None
        from jsonschema.exceptions import best_match

        error = best_match(self.reference.iter_errors(value))
        if error is not None:
            return violation(error, self.declared)
        if refused:  # the compiled validator refuses what the reference lets through: refused all the same
            return compiled_violation(self.compiled, value, self.declared)
        return None


@cache
def checker(name: str, version: int = 1) -> Checker:
    """The checker of `schemas/<name>.v<version>.json`, built once per process."""
    return Checker(load_schema(name, version))


def validate(name: str, version: int, value: Any, origin: str) -> None:
    """Raise NormalizeError naming the origin and the first schema violation."""
    problem = checker(name, version).problem(value)
    if problem is not None:
        raise NormalizeError(f"{origin}: {name} evidence fails schema v{version} {problem}")


def compiled_violation(compiled: jsonschema_rs.Validator, value: Any, declared: AbstractSet[str]) -> str:
    """Where and which rule, from the compiled validator's first error, in the words of `violation`.

    Only the schema's keyword is named: the error's own message quotes the offending value.
    """
    error = next(iter(compiled.iter_errors(value)))
    where = "/".join(str(part) if isinstance(part, int) or part in declared else "*" for part in error.instance_path)
    keyword = error.schema_path[-1] if error.schema_path else "schema"
    return f"at {where or '(root)'}: does not satisfy the schema's {keyword}"


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
