"""Canonical JSON's fast path (C `json` encoder) must write exactly RFC 8785's bytes, or step aside.

Every evidence id, input digest and decision id is sha256 over `canonical_bytes`, so one byte of
difference from RFC 8785 would make digests disagree with any other JCS implementation (an auditor's,
a verifier's) while readypolicy still agreed with itself. The expected bytes here come from the
RFC's own examples and from the reference serializer (`rfc8785`), never from the fast path.
"""

from __future__ import annotations

import collections
import enum
import json
import struct
from collections import OrderedDict
from typing import Any

import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from synthetic_fleet import module_records

from readypolicy.canonical import _json_is_jcs, canonical_bytes, plain_canonical_bytes

EXAMPLES = settings(max_examples=400, deadline=None, database=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


def _outcome(serialize: Any, value: Any) -> bytes | type[BaseException]:
    """The bytes, or the type of the error: refusing must stay refusing."""
    try:
        return serialize(value)
    except Exception as exc:
        return type(exc)


def test_rfc8785_sorting_example_with_a_key_above_the_bmp() -> None:
    # RFC 8785 section 3.2.3: UTF-16 code units put U+1F600 (a surrogate pair, D83D DE00) before
    # U+FB33; Python's code-point order would put it after, and the digest would differ.
    value = json.loads(
        '{"\\u20ac": "Euro Sign", "\\r": "Carriage Return", "\\ufb33": "Hebrew Letter Dalet With Dagesh",'
        ' "1": "One", "\\ud83d\\ude00": "Emoji: Grinning Face", "\\u0080": "Control",'
        ' "\\u00f6": "Latin Small Letter O With Diaeresis"}'
    )
    expected = (
        '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",'
        '"\u20ac":"Euro Sign","\U0001f600":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}'
    ).encode()
    assert canonical_bytes(value) == expected


def test_rfc8785_serialization_example_with_floats_and_escapes() -> None:
    # RFC 8785 section 3.2.2 input and its section 3.2.4 output, byte for byte.
    value = json.loads(
        '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}'
    )
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    ).encode()
    assert canonical_bytes(value) == expected


@pytest.mark.parametrize(("ieee", "expected"), [
    ("0000000000000000", "0"), ("8000000000000000", "0"), ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"), ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"), ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"), ("44b52d02c7e14af6", "1e+23"),
    ("444b1ae4d6e2ef50", "1e+21"), ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"), ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"), ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555557", "333333333.33333343"), ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
])
def test_rfc8785_number_vectors(ieee: str, expected: str) -> None:
    # RFC 8785 appendix B: exponent forms, integral floats and -0 differ from Python's repr, so they
    # must not go through json.dumps; the fixed-notation ones must come out of it unchanged.
    number = struct.unpack(">d", bytes.fromhex(ieee))[0]
    assert canonical_bytes(number) == expected.encode()
    assert canonical_bytes({"n": [number]}) == b'{"n":[' + expected.encode() + b"]}"


KEY_CHARS = st.sampled_from(["a", "B", "1", "\x00", "\x1f", '"', "\\", "\x7f", "\u00e9", "\ue000", "\uffff",
                             "\U00010000", "\U0001f600", "\ud800"])
SCALARS = (
    st.none() | st.booleans() | st.integers(-(2**54), 2**54) | st.floats()
    | st.floats(min_value=-1e22, max_value=1e22).map(round).map(float)
    | st.text(alphabet=st.characters(blacklist_categories=()), max_size=12)
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.tuples(children, children)
    | st.dictionaries(st.text(alphabet=KEY_CHARS, max_size=4), children, max_size=5),
    max_leaves=16,
)


class Level(enum.IntEnum):
    HIGH = 2


class Tag(str):
    pass


@pytest.mark.parametrize("value", [
    {1: "int key"}, {True: "bool key"}, {None: "null key"}, {("a",): "tuple key"}, {"a": {1, 2}},
    {"level": Level.HIGH}, {"tag": Tag("x")}, {Tag("k"): 1}, OrderedDict(b=1, a=2), {"x": b"bytes"},
    {"big": 2**53}, {"small": -(2**53)}, {"nan": float("nan")}, {"inf": float("-inf")}, {"s": "\udfff"},
    {"\ud800": 1}, {"one": 1.0}, {"tiny": 1e-7}, ["\U0001f600", {"\U0001f600": 1, "\uffff": 2}],
])
def test_values_json_would_coerce_take_the_reference_path(value: Any) -> None:
    # json.dumps turns int/bool/None keys into strings and writes 1.0, 1e-07, NaN and 2**53 as it likes:
    # a document that is not plain JSON must get the reference result (or its refusal), never json's.
    assert _outcome(canonical_bytes, value) == _outcome(rfc8785.dumps, value)


def test_fast_path_serves_real_evidence_byte_identically() -> None:
    # The synthetic fleet's documents (real normalizer output, floats included) must take the fast
    # path, or the fleet pays for the reference serializer again; and give the reference bytes.
    stamp = "2026-01-01T00:00:00.000000Z"
    documents = [record.document for index in range(0, 40, 3) for record in module_records(index, "r1", stamp)]
    assert len(documents) > 50
    assert sum(_json_is_jcs(doc) for doc in documents) >= 0.9 * len(documents)
    for doc in documents:
        assert canonical_bytes(doc) == rfc8785.dumps(doc)


class Celsius(float):
    def __repr__(self) -> str:
        return "1e400"


class Sneaky(dict):  # type: ignore[type-arg]
    def items(self):  # type: ignore[no-untyped-def]
        return [("forged", True)]


class Backwards(list):  # type: ignore[type-arg]
    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(list.__reversed__(self))


Pair = collections.namedtuple("Pair", "a b")


@pytest.mark.parametrize("value", [
    {"t": Celsius(0.5)}, [Celsius(3.0)], Sneaky(a=1), {"d": Sneaky(a=1.0)}, Backwards([1, 2]), [Backwards([3.0, 1])],
    Pair(1, 2), {"p": Pair(1.0, "x")}, [Level.HIGH, 1.0], {"k": Tag("v"), "f": 2.0}, {1: 1.0}, {True: 2.0},
    {None: [1.0]}, {1.5: "x"}, {"x": object()}, {"x": 1.0, "y": object()}, {"x": {1, 2}, "f": 3.0},
    {"s": "\ud800", "f": 1.0}, {"\U0001f600": 1.0, "\uffff": 2.0}, [float("nan"), 1.0], {"inf": float("inf")},
    {"big": 2**53, "f": 1.0}, {"f": float(2**53)}, {"f": -float(2**53)}, [1e16], [1e21], [1e-7], [-0.0],
    [float(2**53 - 1), -float(2**53 - 1)], {"nested": [{"a": 117.0, "b": [2.5, (3.0, 4.0)]}, 0.5]},
])
def test_adversarial_values_get_the_reference_bytes_or_its_refusal(value: Any) -> None:
    # Subclasses with their own repr/items/__iter__ (json's C encoder ignores those, rfc8785 does not
    # always), namedtuples, non-str keys json would coerce, unknown types (TypeError-like refusals),
    # lone surrogates and NaN next to an integral float (the integral-float path must hand those back),
    # and the edges of that path: 2^53 stays with the reference, 2^53 - 1 and -0.0 are converted.
    assert _outcome(canonical_bytes, value) == _outcome(rfc8785.dumps, value)


def test_unknown_types_raise_as_the_reference_serializer_does() -> None:
    # Refusing must stay refusing, with the reference serializer's own error, whichever path saw it first.
    for value in ({"x": object()}, {"x": 1.0, "y": b"raw"}, {("a",): 1.0}):
        with pytest.raises(rfc8785.CanonicalizationError):
            canonical_bytes(value)


def test_integral_floats_take_the_c_encoder_and_match_the_rfc() -> None:
    # A tool that writes 117.0 must not cost the reference serializer (0.6-0.8 ms per policy input),
    # and the converted bytes must be the RFC's: 117, 0 for -0.0, 9007199254740991 at 2^53 - 1.
    value = {"ms": 117.0, "zero": -0.0, "edge": float(2**53 - 1), "list": [1.0, 2.5, (3.0,)], "s": "x"}
    expected = b'{"edge":9007199254740991,"list":[1,2.5,[3]],"ms":117,"s":"x","zero":0}'
    assert rfc8785.dumps(value) == expected
    assert canonical_bytes(value) == expected
    assert value["ms"] == 117.0 and type(value["ms"]) is float  # the caller's value is not changed
    assert plain_canonical_bytes(value) is None  # json writes 117.0: not the same number text


INTEGRAL = st.sampled_from([0.0, -0.0, 1.0, 5.0, 117.0, -3.0, 1e15, 1e16, 1e21, float(2**53), float(2**53 - 1),
                            -float(2**53 - 1), 2.0**60, 1e-7, 1e-5, 0.5, 2**53, 2**53 - 1, 1e300])
NUMERIC = st.recursive(
    INTEGRAL | st.floats() | SCALARS,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(alphabet=KEY_CHARS, max_size=3), children, max_size=4),
    max_leaves=20,
)


@pytest.mark.parametrize("values", [VALUES, NUMERIC], ids=["any values", "integral floats"])
@EXAMPLES
@given(data=st.data())
def test_fast_path_equals_the_reference_serializer(values: st.SearchStrategy[Any], data: st.DataObject) -> None:
    # Any values: keys above U+FFFF next to U+E000..U+FFFF, integral and exponent floats, NaN, integers
    # past 2^53, lone surrogates, control characters. Integral floats: around 2^53, 1e16 and 1e21 beside
    # exponent floats, -0.0, big integers and astral-plane keys. Same bytes, or the same refusal.
    value = data.draw(values)
    assert _outcome(canonical_bytes, value) == _outcome(rfc8785.dumps, value)


def _numbers_as_text(text: str | bytes) -> Any:
    return json.loads(text, parse_float=str, parse_int=str)


@EXAMPLES
@given(NUMERIC)
def test_plain_canonical_bytes_are_json_text_with_json_numbers(value: Any) -> None:
    # OPA is handed these bytes instead of json.dumps's text: they must be the canonical bytes (the
    # input digest is their sha256) and read as the same value, every number spelled as json spells it
    # (OPA keeps a number's text: 117 and 117.0 could print differently in a message).
    plain = plain_canonical_bytes(value)
    if plain is None:
        return
    assert plain == rfc8785.dumps(value)
    assert _numbers_as_text(plain) == _numbers_as_text(json.dumps(value))


def test_a_cyclic_value_is_refused_as_the_reference_serializer_refuses_it() -> None:
    # The fast path's encoder has no cycle check of its own: a value that contains itself must never
    # reach it (the walk ends in RecursionError first) and must fail as rfc8785 fails, not loop or write.
    looped: list[Any] = [1.5]
    looped.append({"again": looped})
    nested: dict[str, Any] = {"n": 1.0}
    nested["self"] = nested
    for value in (looped, nested, {"a": [looped]}):
        assert _outcome(canonical_bytes, value) is RecursionError
        assert plain_canonical_bytes(value) is None
        assert _outcome(rfc8785.dumps, value) is RecursionError
