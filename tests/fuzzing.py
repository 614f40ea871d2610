"""Hypothesis strategies that mutate real tool outputs, shared by every parser fuzz test.

Starting from real samples keeps the fuzzer near the formats' actual shapes, where normalizer bugs
live; the mutations then break bytes (for the tokenizers) or the structure (JSON/YAML trees, XML
attributes and elements, lines) for the field logic.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Sequence
from typing import Any

import yaml
from hypothesis import strategies as st

INSERTS = [b"{", b"}", b"[", b"]", b'"', b"\n", b"-1", b"1e999", b"null", b"\x00", b"\xff", b":", b",", b"# TYPE x"]

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20) | st.sampled_from(["", "0", "-1", "9.8", "NaN", "file://[bad", "SPDX-2.3", "2.1.0", "UNKNOWN"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@st.composite
def byte_mutations(draw: st.DrawFn, seeds: Sequence[bytes]) -> bytes:
    """A real sample with a few bytes flipped, cut, duplicated, truncated or syntax tokens inserted."""
    data = bytearray(draw(st.sampled_from(list(seeds))))
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        action = draw(st.sampled_from(["flip", "cut", "insert", "token", "truncate", "duplicate"]))
        if action == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif action == "cut":
            del data[at : at + draw(st.integers(1, 64))]
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif action == "token":
            data[at:at] = draw(st.sampled_from(INSERTS))
        elif action == "truncate":
            del data[at:]
        else:
            data[at:at] = data[at : at + draw(st.integers(1, 256))]
    return bytes(data)


def json_paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path into a JSON value, the root first."""
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from json_paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from json_paths(child, (*prefix, index))


def _revalue(draw: st.DrawFn, value: Any) -> Any:
    """Another value of the same JSON type: a field whose content changes but whose shape holds."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return draw(st.integers(-(2**40), 2**40))
    if isinstance(value, float):
        return draw(st.floats(allow_nan=False, allow_infinity=False))
    if isinstance(value, str):
        return draw(st.text(max_size=20) | st.just(value * 2) | st.just(""))
    return draw(JSON_VALUES)


def _mutate_tree(draw: st.DrawFn, doc: Any) -> Any:
    """A parsed document with a few nodes retyped, revalued, removed or (list items) duplicated."""
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(json_paths(doc))))
        action = draw(st.sampled_from(["retype", "revalue", "remove", "duplicate"]))
        if not path:
            doc = draw(JSON_VALUES) if action == "retype" else doc
            continue
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        current = parent[path[-1]]
        if action == "remove":
            del parent[path[-1]]
        elif action == "duplicate" and isinstance(parent, list):
            parent.insert(path[-1], copy.deepcopy(current))
        else:
            parent[path[-1]] = _revalue(draw, current) if action == "revalue" else draw(JSON_VALUES)
    return doc


@st.composite
def json_mutations(draw: st.DrawFn, seeds: Sequence[bytes]) -> bytes:
    """A real JSON sample with a few subtrees replaced by arbitrary JSON or removed, numbers maybe overflowed."""
    doc = _mutate_tree(draw, json.loads(draw(st.sampled_from(list(seeds)))))
    text = json.dumps(doc)
    if draw(st.booleans()):  # numbers JSON allows but Python reads as infinity
        text = re.sub(r"(?<=: )\d+(\.\d+)?", "1e999", text, count=draw(st.integers(1, 3)))
    return text.encode()


@st.composite
def yaml_mutations(draw: st.DrawFn, seeds: Sequence[bytes]) -> bytes:
    """A real YAML document (lane manifest, rule file, operations record) with subtrees replaced or removed."""
    doc = _mutate_tree(draw, yaml.safe_load(draw(st.sampled_from(list(seeds)))))
    return yaml.safe_dump(doc, sort_keys=False).encode()


ODD_VALUES = st.sampled_from(["", "-1", "NaN", "inf", "1e999", "abc", "99999999999999999999", "1.5", "²", "2026-13-45T99:00"])


@st.composite
def xml_mutations(draw: st.DrawFn, seeds: Sequence[bytes]) -> bytes:
    """A real XML sample with attribute values replaced and empty elements dropped."""
    text = draw(st.sampled_from(list(seeds))).decode("utf-8")
    for _ in range(draw(st.integers(1, 4))):
        attributes = list(re.finditer(r'="[^"]*"', text))
        if attributes and draw(st.booleans()):
            match = draw(st.sampled_from(attributes))
            value = draw(ODD_VALUES | st.text(alphabet="abc019.-:T ", max_size=12))
            text = f'{text[: match.start()]}="{value}"{text[match.end():]}'
        else:
            elements = list(re.finditer(r"<(\w+)[^<>]*/>", text))
            if elements:
                match = draw(st.sampled_from(elements))
                text = text[: match.start()] + text[match.end():]
    return text.encode()


@st.composite
def line_mutations(draw: st.DrawFn, seeds: Sequence[bytes]) -> bytes:
    """A real line-oriented sample (LCOV, promtool, xenon, exposition...) with lines dropped, repeated,
    swapped, or a number or word in a line replaced by an odd value."""
    lines = draw(st.sampled_from(list(seeds))).decode("utf-8").splitlines()
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            break
        at = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["drop", "repeat", "swap", "value"]))
        if action == "drop":
            del lines[at]
        elif action == "repeat":
            lines.insert(at, lines[at])
        elif action == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], lines[at]
        else:
            tokens = list(re.finditer(r"[\w.]+", lines[at]))
            if tokens:
                token = draw(st.sampled_from(tokens))
                value = draw(ODD_VALUES | st.text(alphabet="0123456789,-:ab ", max_size=12))
                lines[at] = lines[at][: token.start()] + value + lines[at][token.end():]
    return "\n".join(lines).encode()


def structure(name: str, seed: bytes) -> str:
    """How a sample is built: `json`, `xml`, `yaml` (by its file name) or `lines`."""
    head = seed.lstrip()[:1]
    if head in (b"{", b"["):
        try:
            json.loads(seed)
        except ValueError:
            return "lines"
        return "json"
    if head == b"<":
        return "xml"
    return "yaml" if name.endswith((".yaml", ".yml")) else "lines"


STRUCTURAL = {"json": json_mutations, "xml": xml_mutations, "yaml": yaml_mutations, "lines": line_mutations}
"""The structural mutation strategy for each kind of sample."""
