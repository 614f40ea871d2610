"""Defensive readers for untrusted artifacts.

CI artifacts come from anywhere; a normalizer must never be the thing that a crafted file takes
down. These readers cap the size before reading (the stat is checked, then the read is bounded),
cap JSON nesting (Python's parser recurses), and parse XML only through defusedxml, which refuses
DTDs, entity expansion and external references.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as DET
import yaml
from defusedxml import DefusedXmlException

from readypolicy.errors import ReadyPolicyError

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
DEFAULT_MAX_DEPTH = 64


class UnsafeInputError(ReadyPolicyError):
    """An artifact is too large, too deep, malformed, or tries XML entity tricks."""


def read_limited(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """Read a regular file, refusing it before reading if it exceeds `max_bytes`."""
    try:
        if not path.is_file():
            raise UnsafeInputError(f"{path}: not a regular file")
        size = path.stat().st_size
        if size > max_bytes:
            raise UnsafeInputError(f"{path}: {size} bytes exceeds the size limit of {max_bytes} bytes")
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise UnsafeInputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if len(data) > max_bytes:
        raise UnsafeInputError(f"{path}: grew past the size limit of {max_bytes} bytes while reading")
    return data


def _nesting_depth_exceeds(text: str, max_depth: int) -> bool:
    """Scan brackets outside strings; cheaper and safer than letting json recurse first."""
    depth = 0
    in_string = False
    escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > max_depth:
                return True
        elif char in "]}":
            depth -= 1
    return False


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def loads_json(data: bytes, origin: str, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """Parse JSON bytes with a nesting limit; NaN/Infinity are rejected (they are not JSON)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnsafeInputError(f"{origin}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    if _nesting_depth_exceeds(text, max_depth):
        raise UnsafeInputError(f"{origin}: JSON nesting deeper than {max_depth} levels")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise UnsafeInputError(f"{origin}: malformed JSON: {exc}") from exc


def _element_depth_exceeds(root: Element, max_depth: int) -> bool:
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            return True
        stack.extend((child, depth + 1) for child in node)
    return False


def loads_xml(data: bytes, origin: str, max_depth: int = DEFAULT_MAX_DEPTH) -> Element:
    """Parse XML with defusedxml (no DTDs, entities or external references) and a depth limit."""
    try:
        root = DET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise UnsafeInputError(f"{origin}: unsafe XML refused ({type(exc).__name__})") from exc
    except (DET.ParseError, ValueError, LookupError, RecursionError) as exc:  # LookupError: unknown encoding=
        raise UnsafeInputError(f"{origin}: malformed XML: {exc}") from exc
    if _element_depth_exceeds(root, max_depth):
        raise UnsafeInputError(f"{origin}: XML nesting deeper than {max_depth} levels")
    return root


class _NoAliasLoader(yaml.SafeLoader):
    """Safe YAML without anchors/aliases: aliases are how YAML billion-laughs bombs are built."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.events.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, "YAML aliases are not allowed", event.start_mark)
        return super().compose_node(parent, index)


def loads_yaml(data: bytes, origin: str, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """Parse YAML safely: no tags beyond plain data, no aliases, bounded nesting."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnsafeInputError(f"{origin}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    try:
        value = yaml.load(text, Loader=_NoAliasLoader)
    except yaml.YAMLError as exc:
        raise UnsafeInputError(f"{origin}: malformed YAML: {' '.join(str(exc).split())}") from exc
    except RecursionError as exc:
        raise UnsafeInputError(f"{origin}: YAML nesting too deep") from exc
    if _value_depth_exceeds(value, max_depth):
        raise UnsafeInputError(f"{origin}: YAML nesting deeper than {max_depth} levels")
    return value


def _value_depth_exceeds(value: Any, max_depth: int) -> bool:
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            return True
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)
    return False
