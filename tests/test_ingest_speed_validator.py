"""The compiled validator (jsonschema-rs) refuses whatever the reference (jsonschema) refuses (issue 17).

Ingest validates every document with `jsonschema-rs`, about a hundred times faster than the interpreted
`jsonschema`, which stays the reference. The differential test below takes every registered format's
real samples (each kind's schema) and their envelopes, derives negative cases by mutating them (each
value replaced by values of every JSON type and by edge strings, keys removed, unknown keys added), and
requires: the reference refuses ⇒ the compiled validator refuses, and ingest's `validate` raises. Where
only the compiled validator refuses, the case must be one of the documented stricter readings.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from jsonschema import Draft202012Validator

from fixture_index import registered_formats, samples
from readypolicy.evidence import schemas
from readypolicy.evidence.formats.operations_record import record_checker
from readypolicy.evidence.ingest import IngestOptions, build_record, normalize_path
from readypolicy.evidence.interface import NormalizeError

INGESTED_AT = "2026-12-01T00:00:00.000000Z"
STRICTER = ("abc\n", "١٢", "not a date")
"""Strings only the compiled validator refuses: `$` before a final newline and a non-ASCII digit (Python's
`re` accepts both; ECMA-262 regexes, as JSON Schema specifies, do not), and a malformed `date-time` (the
reference skips that format unless rfc3339-validator is installed)."""
REPLACEMENTS: tuple[Any, ...] = (None, True, False, 0, -1, 1.5, -0.5, 2**31, "", "x", *STRICTER, [], ["x"], {}, {"x": 1})
MUTANTS_PER_SAMPLE = 150


@cache
def _documents() -> dict[str, list[tuple[str, Any]]]:
    """Schema name → (origin, value) pairs: each sample's data under its kind, its envelope under `evidence`."""
    found: dict[str, list[tuple[str, Any]]] = {}
    for fmt in registered_formats():
        for path in samples(fmt)[:2]:
            artifact, normalized = normalize_path(path, IngestOptions(module="demo", revision="r1"))
            record = build_record(artifact, normalized, "demo", "r1", None, INGESTED_AT)
            found.setdefault(normalized.kind, []).append((f"{fmt}:{path.name}", normalized.data))
            found.setdefault(schemas.ENVELOPE, []).append((f"{fmt}:{path.name}", record.document))
    return found


def _places(value: Any, where: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a value inside `value` (dict keys and list indexes), the root included."""
    yield where
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _places(inner, (*where, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _places(inner, (*where, index))


def _mutants(value: Any, seed: str) -> Iterator[Any]:
    """Negative-case candidates derived from a valid value; seeded, so every run checks the same cases."""
    rng = random.Random(seed)
    places = list(_places(value))
    for _ in range(MUTANTS_PER_SAMPLE):
        where = rng.choice(places)
        mutant = copy.deepcopy(value)
        parent = mutant
        for part in where[:-1]:
            parent = parent[part]
        target = parent[where[-1]] if where else mutant
        action = rng.randrange(4)
        if action == 0 and where and isinstance(parent, dict):
            del parent[where[-1]]
        elif action == 1 and isinstance(target, dict):
            target["zz_unknown"] = rng.choice(REPLACEMENTS)
        elif action == 2 and isinstance(target, list) and target:
            target.append(copy.deepcopy(target[0]))  # a duplicate item (uniqueItems) or one more (maxItems)
        elif where:
            parent[where[-1]] = rng.choice(REPLACEMENTS)
        else:
            continue
        yield mutant


def _reference(name: str) -> Draft202012Validator:
    return Draft202012Validator(schemas.load_schema(name), format_checker=Draft202012Validator.FORMAT_CHECKER)


def _only_stricter_readings(compiled: jsonschema_rs.Validator, value: Any) -> bool:
    """Whether every error only the compiled validator finds is a documented stricter reading.

    That is: a `format` (the reference asserts no `date-time`), or a `pattern` on a string ending in a
    newline or holding a non-ASCII character (Python's `$` and `\\d` read those more loosely).
    """
    for error in compiled.iter_errors(value):
        keyword = error.schema_path[-1]
        text = error.instance
        loose = isinstance(text, str) and (text.endswith("\n") or not text.isascii())
        if not (keyword == "format" or (keyword == "pattern" and loose)):
            return False
    return True


SCHEMA_NAMES = [*schemas.known_kinds(), schemas.ENVELOPE]


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_every_shipped_schema_has_valid_samples_both_validators_accept(name: str) -> None:
    """Each schema is exercised (a kind no format produces would leave its schema untested here)."""
    documents = _documents().get(name, [])
    assert documents, f"no registered format's sample produces {name} evidence"
    compiled = schemas.checker(name).compiled
    for origin, value in documents:
        assert _reference(name).is_valid(value), origin
        assert compiled.is_valid(value), origin


def _looser_cases(name: str, compiled: jsonschema_rs.Validator) -> tuple[int, list[Any]]:
    """(negative cases the reference refuses, those of them `compiled` accepts) over the schema's mutants."""
    reference = _reference(name)
    refused = 0
    looser: list[Any] = []
    for origin, value in _documents()[name]:
        for mutant in _mutants(value, f"{name}:{origin}"):
            if not reference.is_valid(mutant):
                refused += 1
                if compiled.is_valid(mutant):
                    looser.append(mutant)
            elif not compiled.is_valid(mutant):
                assert _only_stricter_readings(compiled, mutant), f"{origin}: an undocumented disagreement: {mutant!r}"[:2000]
    return refused, looser


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_compiled_validator_refuses_every_negative_case_the_reference_refuses(name: str) -> None:
    refused, looser = _looser_cases(name, schemas.checker(name).compiled)
    assert refused >= 20, f"only {refused} negative cases for {name}: the comparison would prove little"
    assert looser == [], f"jsonschema-rs accepts {len(looser)} {name} value(s) jsonschema refuses: {looser[:3]!r}"[:2000]
    for origin, value in _documents()[name][:1]:
        for mutant in _mutants(value, f"{name}:{origin}"):
            if not _reference(name).is_valid(mutant):
                with pytest.raises(NormalizeError, match=f"^{origin}: {name} evidence fails schema v1 at "):
                    schemas.validate(name, 1, mutant, origin)


def test_the_comparison_catches_a_looser_validator() -> None:
    """The differential test can fail: a schema that lost its `required` and `additionalProperties` is caught."""
    def loosen(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: loosen(inner) for key, inner in node.items() if key not in ("required", "additionalProperties")}
        return [loosen(inner) for inner in node] if isinstance(node, list) else node

    looser_schema = jsonschema_rs.validator_for(loosen(schemas.load_schema(schemas.ENVELOPE)), validate_formats=True)
    _refused, looser = _looser_cases(schemas.ENVELOPE, looser_schema)
    assert looser


def test_operations_records_refused_by_the_reference_are_refused() -> None:
    """The raw operations record schema (with its `$ref`s into the operations schema) compiles the same way."""
    checker = record_checker()
    record = {"apiVersion": "readypolicy.dev/v1", "kind": "KillSwitchDrill", "performed_at": "2026-11-20T10:00:00Z",
              "result": "passed", "details": {}}
    refused = 0
    for mutant in [record, *_mutants(record, "operations-record")]:
        if not checker.reference.is_valid(mutant):
            refused += 1
            assert not checker.compiled.is_valid(mutant), mutant
            assert checker.problem(mutant) is not None
    assert refused >= 20


def test_a_trailing_newline_in_the_scope_is_refused_though_pythons_re_would_match() -> None:
    """Attack: `unit\\n` passes `^[A-Za-z0-9._-]{0,63}$` under Python's `$`; the envelope must still refuse it."""
    document = dict(_documents()[schemas.ENVELOPE][0][1], scope="unit\n")
    assert _reference(schemas.ENVELOPE).is_valid(document)  # the reference alone would have let it through
    with pytest.raises(NormalizeError, match=r"^origin: evidence evidence fails schema v1 at scope: does not satisfy"
                                             r" the schema's pattern$"):
        schemas.validate(schemas.ENVELOPE, 1, document, "origin")


def test_a_refusal_never_quotes_the_value_whichever_validator_words_it() -> None:
    """The artifact's text (with a forced format, any file's: a secret) never reaches the error line."""
    secret = "AKIA-SECRET-VALUE-0001"
    envelope = _documents()[schemas.ENVELOPE][0][1]
    for document in (dict(envelope, scope=secret + "!"), dict(envelope, scope=secret + "\n"),
                     dict(envelope, zz_secret=secret)):
        with pytest.raises(NormalizeError) as caught:
            schemas.validate(schemas.ENVELOPE, 1, document, "artifact.json")
        assert secret not in str(caught.value)
        assert "\n" not in str(caught.value)


def test_a_value_rust_cannot_take_in_is_decided_by_the_reference() -> None:
    """A non-string key cannot cross into Rust: the reference decides, and refuses where the schema does."""
    document = dict(_documents()[schemas.ENVELOPE][0][1])
    document[1] = "x"
    with pytest.raises(ValueError):
        schemas.checker(schemas.ENVELOPE).compiled.is_valid(document)
    with pytest.raises(NormalizeError, match="holds a property the schema does not allow"):
        schemas.validate(schemas.ENVELOPE, 1, document, "origin")


def test_a_schema_reference_is_never_fetched(tmp_path: Path) -> None:
    """Both validators are offline: a `$ref` to an unknown address fails to build, it is not downloaded."""
    with pytest.raises(jsonschema_rs.ValidationError, match="not present in a registry"):
        schemas.Checker({"$ref": "https://readypolicy.invalid/schema.json"})
