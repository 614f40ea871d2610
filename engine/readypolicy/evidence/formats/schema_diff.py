"""Compare two JSON Schemas and classify every difference as breaking or compatible.

"Breaking" means some party relying on the snapshot can break: a reader loses a property or an
enum value it handled, or a writer's previously valid documents are now refused (a narrowed type,
a new required field, a tightened bound, a closed object). Widening changes are compatible.
The walk follows the schema's structure (properties, items, prefixItems, additionalProperties,
patternProperties, $defs/definitions, allOf/anyOf/oneOf, and every other subschema keyword); `$ref`
targets are compared by their text, not resolved, so a changed reference is reported as breaking
rather than guessed about. A subschema keyword that appears (`unevaluatedProperties: false`, `not`,
`contains`) is breaking, as is any change inside `not` or `if`, where a wider subschema can refuse more.
Paths are JSON Pointers into the schema, written `#/properties/owner`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

_HIGHER_IS_TIGHTER = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties", "minContains")
_LOWER_IS_TIGHTER = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties", "maxContains")
_EXACT = ("pattern", "format", "const", "multipleOf", "$ref", "dependentRequired", "dependencies")
_SUBSCHEMAS = ("items", "additionalItems", "contains", "propertyNames", "then", "else", "unevaluatedItems",
               "unevaluatedProperties")
"""Keywords holding one subschema that constrains the instance the way the subschema does: compared inside."""
_FLIPPING = ("not", "if")
"""Keywords whose subschema constrains the other way round (`not`) or picks a branch (`if`): any change may break."""
_JSON_TYPES = ("array", "boolean", "integer", "null", "number", "object", "string")


@dataclass
class SchemaDiff:
    """The classified differences found so far."""

    breaking: list[dict[str, str]] = field(default_factory=list)
    """Changes that can break a producer or consumer written against the snapshot."""
    compatible: list[dict[str, str]] = field(default_factory=list)
    """Changes that only widen what is accepted or add optional things."""

    def add(self, breaking: bool, path: str, change: str, detail: str) -> None:
        """Record one change."""
        (self.breaking if breaking else self.compatible).append({"path": path or "#", "change": change, "detail": detail})


def compare(snapshot: Any, current: Any) -> SchemaDiff:
    """Every difference between the snapshot schema and the current one."""
    diff = SchemaDiff()
    _compare(snapshot, current, "#", diff)
    return diff


def _pointer(path: str, *parts: str) -> str:
    return "/".join([path, *(part.replace("~", "~0").replace("/", "~1") for part in parts)])


def _text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _compare(old: Any, new: Any, path: str, diff: SchemaDiff) -> None:
    if isinstance(old, bool) or isinstance(new, bool) or not isinstance(old, dict) or not isinstance(new, dict):
        if _text(old) != _text(new):
            loosened = new is True or (old is False and new is not False)
            diff.add(not loosened, path, "schema-loosened" if loosened else "schema-restricted",
                     f"schema changed from {_text(old)[:80]} to {_text(new)[:80]}")
        return
    _compare_types(old, new, path, diff)
    _compare_enum(old, new, path, diff)
    _compare_bounds(old, new, path, diff)
    _compare_object(old, new, path, diff)
    for keyword in (*_SUBSCHEMAS, *_FLIPPING):
        _compare_subschema(old, new, keyword, _pointer(path, keyword), diff)
    for keyword in ("$defs", "definitions", "patternProperties", "dependentSchemas"):
        old_map, new_map = old.get(keyword), new.get(keyword)
        old_map, new_map = (m if isinstance(m, dict) else {} for m in (old_map, new_map))
        for name in sorted(set(old_map) & set(new_map)):
            _compare(old_map[name], new_map[name], _pointer(path, keyword, name), diff)
        for name in sorted(set(old_map) - set(new_map)):
            diff.add(keyword == "patternProperties", _pointer(path, keyword, name), "removed-definition",
                     f"{keyword} entry {name!r} removed")
        if keyword in ("patternProperties", "dependentSchemas"):  # a new $defs entry constrains nothing by itself
            for name in sorted(set(new_map) - set(old_map)):
                diff.add(True, _pointer(path, keyword, name), "added-constraint", f"{keyword} entry {name!r} added")


def _compare_subschema(old: dict[str, Any], new: dict[str, Any], keyword: str, path: str, diff: SchemaDiff) -> None:
    """One subschema keyword: compared inside, or its arrival (a new constraint) and removal recorded.

    A keyword that appears constrains what was accepted before (`unevaluatedProperties: false` closes the
    object, `not` refuses what it matches) unless it accepts everything; one that disappears only widens.
    Inside `not` and `if` the direction flips, so any change there counts as breaking.
    """
    before, after = old.get(keyword), new.get(keyword)
    if keyword not in old and keyword not in new:
        return
    if keyword not in old:
        if after is not True and after != {}:
            diff.add(True, path, "subschema-added", f"{keyword} added: {_text(after)[:80]}")
    elif keyword not in new:
        diff.add(False, path, "subschema-removed", f"{keyword} removed")
    elif isinstance(before, list) or isinstance(after, list):  # draft 7 tuple form of items
        _compare_list(before, after, path, keyword, diff)
    elif keyword in _FLIPPING:
        if _text(before) != _text(after):
            diff.add(True, path, "subschema-changed", f"{keyword} changed from {_text(before)[:60]} to {_text(after)[:60]}")
    else:
        _compare(before, after, path, diff)
    for keyword in ("prefixItems", "allOf", "anyOf", "oneOf"):
        _compare_list(old.get(keyword), new.get(keyword), _pointer(path, keyword), keyword, diff)


def _type_set(schema: dict[str, Any]) -> set[str] | None:
    """The accepted JSON types, None when `type` is absent (anything goes)."""
    value = schema.get("type")
    if value is None:
        return None
    names = {value} if isinstance(value, str) else {v for v in value if isinstance(v, str)} if isinstance(value, list) else set()
    return names & set(_JSON_TYPES)


def _accepts(types: set[str] | None, name: str) -> bool:
    return types is None or name in types or (name == "integer" and "number" in types)


def _compare_types(old: dict[str, Any], new: dict[str, Any], path: str, diff: SchemaDiff) -> None:
    old_types, new_types = _type_set(old), _type_set(new)
    if old_types == new_types:
        return
    lost = [t for t in (old_types or _JSON_TYPES) if not _accepts(new_types, t)]
    gained = [t for t in (new_types or _JSON_TYPES) if not _accepts(old_types, t)]
    before = "any" if old_types is None else "|".join(sorted(old_types))
    after = "any" if new_types is None else "|".join(sorted(new_types))
    if lost:
        diff.add(True, path, "type-narrowed", f"type {before} -> {after} (no longer accepts {', '.join(sorted(lost))})")
    elif gained:
        diff.add(False, path, "type-widened", f"type {before} -> {after}")


def _compare_enum(old: dict[str, Any], new: dict[str, Any], path: str, diff: SchemaDiff) -> None:
    old_enum, new_enum = old.get("enum"), new.get("enum")
    if not isinstance(old_enum, list) and isinstance(new_enum, list):
        diff.add(True, path, "enum-added", f"values restricted to {_text(new_enum)[:120]}")
    elif isinstance(old_enum, list) and not isinstance(new_enum, list):
        diff.add(False, path, "enum-removed", "enumeration dropped; any value of the type is accepted")
    elif isinstance(old_enum, list) and isinstance(new_enum, list):
        old_values, new_values = {_text(v) for v in old_enum}, {_text(v) for v in new_enum}
        for value in sorted(old_values - new_values):
            diff.add(True, path, "enum-value-removed", f"enum value {value} removed")
        for value in sorted(new_values - old_values):
            diff.add(False, path, "enum-value-added", f"enum value {value} added")


def _compare_bounds(old: dict[str, Any], new: dict[str, Any], path: str, diff: SchemaDiff) -> None:
    for keyword in (*_HIGHER_IS_TIGHTER, *_LOWER_IS_TIGHTER, *_EXACT, "uniqueItems"):
        before, after = old.get(keyword), new.get(keyword)
        if (keyword in old) == (keyword in new) and _text(before) == _text(after):
            continue
        tighter = _tightened(keyword, before, after, keyword in old, keyword in new)
        change = "ref-changed" if keyword == "$ref" else "constraint-tightened" if tighter else "constraint-relaxed"
        diff.add(tighter, path, change, f"{keyword} {_text(before)[:60]} -> {_text(after)[:60]}")


def _tightened(keyword: str, before: Any, after: Any, in_old: bool, in_new: bool) -> bool:
    """Whether changing a constraint can refuse a value the old one accepted (a changed `$ref` always may)."""
    if keyword == "$ref":
        return True
    if not in_new:
        return False
    if keyword == "uniqueItems":
        return bool(after)
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (before, after))
    if in_old and numbers and keyword in _HIGHER_IS_TIGHTER:
        return bool(after > before)
    if in_old and numbers and keyword in _LOWER_IS_TIGHTER:
        return bool(after < before)
    return True


def _required(schema: dict[str, Any]) -> set[str]:
    names = schema.get("required")
    return {name for name in names if isinstance(name, str)} if isinstance(names, list) else set()


def _properties(schema: dict[str, Any]) -> dict[str, Any]:
    properties = schema.get("properties")
    return properties if isinstance(properties, dict) else {}


def _compare_object(old: dict[str, Any], new: dict[str, Any], path: str, diff: SchemaDiff) -> None:
    old_props, new_props = _properties(old), _properties(new)
    for name in sorted(set(old_props) - set(new_props)):
        diff.add(True, _pointer(path, "properties", name), "removed-property", f"property {name!r} removed")
    for name in sorted(set(new_props) - set(old_props)):
        diff.add(False, _pointer(path, "properties", name), "added-property", f"property {name!r} added")
    for name in sorted(set(old_props) & set(new_props)):
        _compare(old_props[name], new_props[name], _pointer(path, "properties", name), diff)
    old_required, new_required = _required(old), _required(new)
    for name in sorted(new_required - old_required):
        diff.add(True, _pointer(path, "properties", name), "new-required", f"property {name!r} is now required")
    for name in sorted(old_required - new_required):
        diff.add(False, _pointer(path, "properties", name), "required-removed", f"property {name!r} is no longer required")
    old_extra, new_extra = old.get("additionalProperties", True), new.get("additionalProperties", True)
    if old_extra is not False and new_extra is False:
        diff.add(True, path, "additional-properties-closed", "additionalProperties is now false")
    elif old_extra is False and new_extra is not False:
        diff.add(False, path, "additional-properties-opened", "additionalProperties is no longer false")
    elif isinstance(old_extra, dict) and isinstance(new_extra, dict):
        _compare(old_extra, new_extra, _pointer(path, "additionalProperties"), diff)


def _compare_list(old: Any, new: Any, path: str, keyword: str, diff: SchemaDiff) -> None:
    if not isinstance(old, list) and not isinstance(new, list):
        return
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (before, after) in enumerate(zip(old, new, strict=True)):
            _compare(before, after, _pointer(path, str(index)), diff)
        return
    diff.add(True, path, "composition-changed",
             f"{keyword} changed from {len(old) if isinstance(old, list) else 'absent'} to "
             f"{len(new) if isinstance(new, list) else 'absent'} entries")
