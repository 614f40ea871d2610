"""Fuzzing the perf, chaos, telemetry, schema, architecture, complexity and operations parsers.

Random bytes and mutated real samples are fed to `ingest.normalize_path` with the format forced,
so every parser sees them; whatever the input, the only exceptions allowed out are
ReadyPolicyError subclasses (which the CLI reports as one line and exit code 2).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readypolicy.errors import ReadyPolicyError
from readypolicy.evidence.ingest import IngestOptions, normalize_path

FIXTURES = Path(__file__).parent / "fixtures"
ARTIFACTS = FIXTURES / "artifacts"

SAMPLES: dict[str, list[Path]] = {
    "latency-samples": [ARTIFACTS / "latency-samples" / "latency-ms.txt", ARTIFACTS / "latency-samples" / "latency-ms.json"],
    "hyperfine-json": sorted((ARTIFACTS / "hyperfine-json").glob("*.json")),
    "pytest-benchmark-json": [ARTIFACTS / "pytest-benchmark-json" / "benchmark.json"],
    "chaostoolkit-journal": sorted((ARTIFACTS / "chaostoolkit-journal").glob("*.json")),
    "promtool": [ARTIFACTS / "promtool" / "test-rules-pass.txt", ARTIFACTS / "promtool" / "test-rules-fail.txt"],
    "prometheus-rules": [ARTIFACTS / "promtool" / "rules.yml"],
    "prometheus-exposition": sorted((ARTIFACTS / "prometheus-exposition").glob("*.prom")),
    "import-linter": [ARTIFACTS / "import-linter" / "lint-imports.txt"],
    "radon-json": sorted((ARTIFACTS / "radon-json").glob("*.json")),
    "xenon": [ARTIFACTS / "xenon" / "xenon-fail.txt"],
    "readypolicy-operations": sorted((FIXTURES / "operations").iterdir()),
}
FORMATS = [*SAMPLES, "jsonschema-snapshot"]
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _small(path: Path) -> bytes:
    """The sample's bytes, with long sample arrays cut so 200 mutations stay quick."""
    raw = path.read_bytes()
    if path.name == "benchmark.json":
        doc = json.loads(raw)
        for bench in doc["benchmarks"]:
            bench["stats"]["data"] = bench["stats"].get("data", [])[:40]
        doc["machine_info"] = {}
        return json.dumps(doc).encode()
    if len(raw) > 4000 and path.suffix in {".json", ".txt"} and path.parent.name == "latency-samples":
        return b"\n".join(raw.splitlines()[:60]) if path.suffix == ".txt" else json.dumps(json.loads(raw)[:60]).encode()
    return raw


def _schema_pair() -> bytes:
    golden = json.loads((ARTIFACTS / "jsonschema-snapshot" / "golden.schema.json").read_text())
    current = json.loads((ARTIFACTS / "jsonschema-snapshot" / "current-breaking.schema.json").read_text())
    pair = {"apiVersion": "readypolicy.dev/v1", "kind": "SchemaSnapshotPair", "snapshot": golden, "current": current}
    return json.dumps(pair).encode()


def _seed(fmt: str) -> list[bytes]:
    return [_schema_pair()] if fmt == "jsonschema-snapshot" else [_small(path) for path in SAMPLES[fmt]]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("fuzz-ops")


def _only_readypolicy_errors(workdir: Path, fmt: str, raw: bytes) -> None:
    path = workdir / f"artifact-{fmt}"
    path.write_bytes(raw)
    with contextlib.suppress(ReadyPolicyError):
        normalize_path(path, IngestOptions(module="m", revision="r", fmt=fmt))


@st.composite
def _byte_mutation(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 8))):
        position = draw(st.integers(0, max(len(data) - 1, 0)))
        operation = draw(st.sampled_from(["flip", "delete", "insert", "truncate"]))
        if operation == "flip" and data:
            data[position] = draw(st.integers(0, 255))
        elif operation == "delete":
            del data[position:position + draw(st.integers(1, 64))]
        elif operation == "insert":
            data[position:position] = draw(st.sampled_from(
                [b"{", b"}", b"[", b"]", b'"', b"\n", b"-1", b"1e999", b"null", b"\x00", b"\xff", b":", b",", b"# TYPE x"]))
        else:
            del data[position:]
    return bytes(data)


_JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(-(2**60), 2**60), st.floats(allow_nan=False, allow_infinity=False),
                       st.text(max_size=20))
_JSON_VALUE = st.recursive(_JSON_LEAF, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                               st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                           max_leaves=12)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found.extend(_paths(child, (*prefix, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value[:20]):
            found.extend(_paths(child, (*prefix, index)))
    return found


@st.composite
def _json_mutation(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    doc = json.loads(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.sampled_from(_paths(doc)))
        replacement = draw(_JSON_VALUE)
        if not where:
            doc = replacement
            continue
        parent = doc
        for step in where[:-1]:
            parent = parent[step]
        parent[where[-1]] = replacement
    return json.dumps(doc).encode()


@pytest.mark.parametrize("fmt", FORMATS)
@FUZZ
@given(data=st.data())
def test_random_bytes(workdir: Path, fmt: str, data: st.DataObject) -> None:
    _only_readypolicy_errors(workdir, fmt, data.draw(st.binary(max_size=2048)))


@pytest.mark.parametrize("fmt", FORMATS)
@FUZZ
@given(data=st.data())
def test_mutated_real_samples(workdir: Path, fmt: str, data: st.DataObject) -> None:
    _only_readypolicy_errors(workdir, fmt, data.draw(_byte_mutation(_seed(fmt))))


JSON_FORMATS = ["hyperfine-json", "pytest-benchmark-json", "chaostoolkit-journal", "radon-json", "jsonschema-snapshot",
                "readypolicy-operations"]


@pytest.mark.parametrize("fmt", JSON_FORMATS)
@FUZZ
@given(data=st.data())
def test_structurally_mutated_json_samples(workdir: Path, fmt: str, data: st.DataObject) -> None:
    seeds = [seed for seed in _seed(fmt) if seed.lstrip()[:1] in (b"{", b"[")]
    _only_readypolicy_errors(workdir, fmt, data.draw(_json_mutation(seeds)))
