"""Fuzzing every registered format, starting from its real samples, with a reach floor.

Whatever the bytes, reading, detecting, normalizing, schema-checking and wrapping an artifact in
its envelope may only fail with a ReadyPolicyError (which the CLI turns into exit code 2); any
other exception is a crash a crafted CI artifact could trigger. The formats come from the registry
and the samples from tests/fixtures/artifacts/index.yaml, so a new format is fuzzed without a test
edit. Failing closed is easy for a parser that rejects everything, so each format also has a reach
floor: a share of structural mutations of its real samples (a field dropped or retyped, a line
repeated, an attribute changed) must still be auto-detected as the format and normalize. The runs
are derandomized, so the measured share is the same on every run.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixture_index import FIXTURES, registered_formats, samples
from fuzzing import STRUCTURAL, byte_mutations, structure
from readypolicy.errors import ReadyPolicyError
from readypolicy.evidence.ingest import IngestOptions, build_record, normalize_path

FORMATS = registered_formats()
STAMP = "2026-01-01T00:00:00.000000Z"

_COMMON = {"deadline": None, "database": None, "derandomize": True,
           "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]}
RANDOM = settings(max_examples=25, **_COMMON)
BYTES = settings(max_examples=40, **_COMMON)
STRUCTURE = settings(max_examples=80, **_COMMON)

DEFAULT_FLOOR = 0.1
"""Floor of a format not measured yet (a new format): measure it and add it to FLOORS."""
FLOORS: dict[str, float] = {
    # about half the share measured on 2026-12-01 with these settings (in brackets); strict
    # hand-written formats reach less, since most of their fields are required or enumerated
    "bandit-json": 0.4,  # (0.82)
    "chaostoolkit-journal": 0.2,  # (0.49)
    "cobertura-xml": 0.3,  # (0.60)
    "coverage-py-json": 0.3,  # (0.66)
    "cyclonedx-json": 0.35,  # (0.78)
    "detect-secrets-baseline": 0.4,  # (0.81)
    "directory-listing": 0.5,  # (1.00)
    "gitleaks-json": 0.35,  # (0.76)
    "grype-json": 0.35,  # (0.71)
    "hyperfine-json": 0.15,  # (0.39)
    "import-linter": 0.4,  # (0.88)
    "jsonschema-snapshot": 0.08,  # (0.17)
    "junit-xml": 0.45,  # (0.96)
    "lane-manifest-yaml": 0.15,  # (0.34)
    "latency-samples": 0.3,  # (0.68)
    "lcov": 0.4,  # (0.85)
    "osv-scanner-json": 0.35,  # (0.76)
    "pip-audit-json": 0.12,  # (0.26)
    "pip-licenses-json": 0.25,  # (0.54)
    "pip-licenses-plain": 0.3,  # (0.60)
    "prometheus-exposition": 0.45,  # (0.93)
    "prometheus-rules": 0.15,  # (0.31)
    "promtool": 0.2,  # (0.49)
    "promtool-check": 0.2,  # (0.49)
    "promtool-junit": 0.4,  # (0.80)
    "pytest-benchmark-json": 0.25,  # (0.54)
    "pytest-json-report": 0.4,  # (0.84)
    "radon-json": 0.08,  # (0.17)
    "radon-raw-json": 0.02,  # (0.04: every count of every file is required)
    "readiness-perf-json": 0.06,  # (0.12)
    "readypolicy-operations": 0.02,  # (0.05)
    "ruff-json": 0.3,  # (0.60)
    "safety-json": 0.2,  # (0.42)
    "sarif": 0.35,  # (0.70)
    "semgrep-json": 0.4,  # (0.85)
    "spdx-json": 0.35,  # (0.75)
    "trivy-json": 0.3,  # (0.68)
    "xenon": 0.25,  # (0.53)
}
"""Per-format reach floors: a format's share of structural mutations that must still normalize."""

MAX_LIST = 40
MAX_LINES = 200


def _trim(value: object) -> object:
    """Long arrays (latency samples, per-round data, rule catalogues) cut to MAX_LIST items."""
    if isinstance(value, list):
        return [_trim(item) for item in value[:MAX_LIST]]
    if isinstance(value, dict):
        return {key: _trim(item) for key, item in value.items()}
    return value


def _seed(path: Path) -> bytes:
    """The sample's bytes, long arrays and long line lists cut so each example stays quick."""
    raw = path.read_bytes()
    kind = structure(path.name, raw)
    if kind == "json" and len(raw) > 8192:
        return json.dumps(_trim(json.loads(raw))).encode()
    lines = raw.splitlines()
    return b"\n".join(lines[:MAX_LINES]) if kind == "lines" and len(lines) > MAX_LINES else raw


def _file_samples(fmt: str) -> list[Path]:
    return [path for path in samples(fmt) if path.is_file()]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-registry")


def _beside(scratch: Path, sample: Path) -> Path:
    """Where a mutation of `sample` is written: a copy of its folder, so names and sibling files
    (a pair document's schemas, `*.lane.yaml` suffixes) stay what detection and normalizers expect."""
    folder = scratch / sample.parent.relative_to(FIXTURES)
    if not folder.exists():
        shutil.copytree(sample.parent, folder, symlinks=True)
    return folder / sample.name


def reaches(path: Path, fmt: str) -> bool:
    """Ingest `path` forced to `fmt` and auto-detected, short of the store; only ReadyPolicyError may escape.

    True when auto-detection picks `fmt` and the artifact normalizes into a valid envelope.
    """
    reached = False
    for options in (IngestOptions(module="demo", revision="r1", fmt=fmt), IngestOptions(module="demo", revision="r1")):
        try:
            artifact, normalized = normalize_path(path, options)
            build_record(artifact, normalized, "demo", "r1", None, STAMP)
        except ReadyPolicyError:
            continue
        reached = reached or (options.fmt is None and normalized.format == fmt)
    return reached


def _target(scratch: Path, fmt: str) -> Path:
    files = _file_samples(fmt)
    return _beside(scratch, files[0]) if files else scratch / f"artifact-{fmt}"


# --- crashes ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_random_bytes_fail_closed(scratch: Path, fmt: str) -> None:
    target = _target(scratch, fmt)

    @RANDOM
    @given(head=st.sampled_from([b"", b"{", b"[", b"<testsuite", b"SF:", b'{"runs":', b"module: x\n"]),
           tail=st.binary(max_size=512))
    def run(head: bytes, tail: bytes) -> None:
        target.write_bytes(head + tail)
        reaches(target, fmt)

    run()


@pytest.mark.parametrize("fmt", [fmt for fmt in FORMATS if _file_samples(fmt)])
def test_byte_mutated_samples_fail_closed(scratch: Path, fmt: str) -> None:
    files = _file_samples(fmt)
    seeds = {_seed(path): path for path in files}

    @BYTES
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        mutated = data.draw(byte_mutations(list(seeds)))
        target = _beside(scratch, files[0])
        target.write_bytes(mutated)
        reaches(target, fmt)

    run()


# --- reach ------------------------------------------------------------------------------------------


@st.composite
def _tree_mutations(draw: st.DrawFn, root: Path) -> list[tuple[str, str, bytes]]:
    """Changes to a docs tree: files added, emptied, rewritten or removed, symlinks and empty dirs added."""
    existing = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and not p.is_symlink())
    name = st.text(alphabet="abcé-_. ", min_size=1, max_size=12).filter(lambda n: n not in (".", ".."))
    change = st.one_of(
        st.tuples(st.just("write"), name | st.sampled_from(existing), st.binary(max_size=64)),
        st.tuples(st.just("remove"), st.sampled_from(existing), st.just(b"")),
        st.tuples(st.just("symlink"), name, st.sampled_from([b"/etc/passwd", b"..", b"api.md", b"missing"])),
        st.tuples(st.just("mkdir"), name, st.just(b"")),
    )
    return draw(st.lists(change, min_size=1, max_size=4))


def _apply(root: Path, changes: list[tuple[str, str, bytes]]) -> None:
    for action, name, payload in changes:
        target = root / name
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.is_dir():
            shutil.rmtree(target)
        if action == "write":
            target.write_bytes(payload)
        elif action == "symlink":
            os.symlink(payload.decode(), target)
        elif action == "mkdir":
            target.mkdir()


def _structural_share(scratch: Path, fmt: str) -> tuple[float, int]:
    """Share of structural mutations of the format's real samples that still reach a normalized document."""
    tally: Counter[bool] = Counter()
    files = _file_samples(fmt)
    if files:
        groups: dict[str, list[Path]] = {}
        for path in files:
            groups.setdefault(structure(path.name, _seed(path)), []).append(path)

        @STRUCTURE
        @given(data=st.data())
        def run(data: st.DataObject) -> None:
            kind = data.draw(st.sampled_from(sorted(groups)))
            sample = data.draw(st.sampled_from(groups[kind]))
            target = _beside(scratch, sample)
            target.write_bytes(data.draw(STRUCTURAL[kind]([_seed(sample)])))
            tally[reaches(target, fmt)] += 1
    else:  # a directory format: mutate a copy of each sample tree
        trees = samples(fmt)

        @STRUCTURE
        @given(data=st.data())
        def run(data: st.DataObject) -> None:
            sample = data.draw(st.sampled_from(trees))
            root = scratch / "trees" / sample.name
            shutil.rmtree(root, ignore_errors=True)
            shutil.copytree(sample, root, symlinks=True)
            _apply(root, data.draw(_tree_mutations(root)))
            tally[reaches(root, fmt)] += 1

    run()
    total = sum(tally.values())
    return tally[True] / total, total


@pytest.mark.parametrize("fmt", FORMATS)
def test_structural_mutations_fail_closed_and_keep_a_reach_floor(scratch: Path, fmt: str) -> None:
    """A detector or normalizer that starts refusing everything would pass the crash tests; not this one."""
    share, total = _structural_share(scratch, fmt)
    floor = FLOORS.get(fmt, DEFAULT_FLOOR)
    assert share >= floor, f"{fmt}: {share:.0%} of {total} structural mutations of real samples normalize, under {floor:.0%}"
