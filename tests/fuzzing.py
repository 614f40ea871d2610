"""Hypothesis strategies that mutate real tool outputs, shared by every parser fuzz test.

Starting from real samples keeps the fuzzer near the formats' actual shapes, where normalizer bugs
live; the mutations then break bytes (for the tokenizers) or JSON structure (for the field logic).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import Any

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


@st.composite
def json_mutations(draw: st.DrawFn, seeds: Sequence[bytes]) -> bytes:
    """A real JSON sample with a few subtrees replaced by arbitrary JSON or removed, numbers maybe overflowed."""
    doc = json.loads(draw(st.sampled_from(list(seeds))))
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(list(json_paths(doc))))
        replacement = draw(JSON_VALUES)
        if not path:
            doc = replacement
            continue
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = replacement
    text = json.dumps(doc)
    if draw(st.booleans()):  # numbers JSON allows but Python reads as infinity
        text = re.sub(r"(?<=: )\d+(\.\d+)?", "1e999", text, count=draw(st.integers(1, 3)))
    return text.encode()
