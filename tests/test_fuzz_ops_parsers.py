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

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzzing import byte_mutations, json_mutations
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


@pytest.mark.parametrize("fmt", FORMATS)
@FUZZ
@given(data=st.data())
def test_random_bytes(workdir: Path, fmt: str, data: st.DataObject) -> None:
    _only_readypolicy_errors(workdir, fmt, data.draw(st.binary(max_size=2048)))


@pytest.mark.parametrize("fmt", FORMATS)
@FUZZ
@given(data=st.data())
def test_mutated_real_samples(workdir: Path, fmt: str, data: st.DataObject) -> None:
    _only_readypolicy_errors(workdir, fmt, data.draw(byte_mutations(_seed(fmt))))


JSON_FORMATS = ["hyperfine-json", "pytest-benchmark-json", "chaostoolkit-journal", "radon-json", "jsonschema-snapshot",
                "readypolicy-operations"]


@pytest.mark.parametrize("fmt", JSON_FORMATS)
@FUZZ
@given(data=st.data())
def test_structurally_mutated_json_samples(workdir: Path, fmt: str, data: st.DataObject) -> None:
    seeds = [seed for seed in _seed(fmt) if seed.lstrip()[:1] in (b"{", b"[")]
    _only_readypolicy_errors(workdir, fmt, data.draw(json_mutations(seeds)))
