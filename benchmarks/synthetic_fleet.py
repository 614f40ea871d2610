"""A synthetic fleet: N modules with a realistic, varied mix of real evidence.

Each module gets what a CI pipeline would upload: a lane manifest, a coverage.py report, JUnit
results for unit and smoke tests, latency samples (all generated with per-module numbers, then
normalized by the real normalizers), plus real tool outputs from tests/fixtures/artifacts (bandit,
semgrep, pip-audit, import-linter, chaos journals, promtool, a kill-switch drill) for a varying
subset of modules. The mix is seeded, so a run at N modules is the same every time, and modules
land spread over every outcome: ready, failing a check, missing evidence.

Used by the benchmark (benchmarks/run.py) and by the fleet tests (tests/test_fleet.py).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from readypolicy.canonical import rfc3339, utc_now
from readypolicy.evidence import schemas
from readypolicy.evidence.ingest import SCHEMA_VERSION, build_record
from readypolicy.evidence.interface import Artifact, Normalized
from readypolicy.evidence.registry import detect
from readypolicy.policy.pack import load_pack
from readypolicy.store.interface import EvidenceRecord, Store

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "tests" / "fixtures" / "artifacts"
OPERATIONS = REPO / "tests" / "fixtures" / "operations"
TEAMS = ("payments", "search", "ledger", "checkout", "identity", "catalog", "billing", "routing")
LANES = tuple(load_pack(REPO / "policies").lanes)
"""The default pack's lanes in promotion order (its config `lane_order`, the one place they are written)."""
MANIFEST_NAME = "module.lane.yaml"
VARIANTS = 97
"""Distinct generated coverage, JUnit and latency artifacts; the manifest is unique per module."""


@dataclass(frozen=True)
class RawArtifact:
    """One artifact as a CI job would upload it."""

    name: str
    """File name (detection looks at it, e.g. `module.lane.yaml`)."""
    raw: bytes
    """The file's bytes."""
    scope: str | None
    """`--scope` given at ingest, if any."""


def module_name(index: int) -> str:
    """The name of module `index`: a team prefix and a number, unique in the fleet."""
    return f"{TEAMS[index % len(TEAMS)]}-svc-{index:05d}"


def module_artifacts(index: int) -> list[RawArtifact]:
    """The artifacts module `index` uploads (deterministic per index)."""
    rng = random.Random(index)
    module = module_name(index)
    out = [
        RawArtifact(MANIFEST_NAME, _manifest(module, rng), None),
        RawArtifact("coverage.json", _coverage(rng.randrange(VARIANTS)), "unit"),
        RawArtifact("unit.xml", _junit("unit", rng.randrange(VARIANTS), failure_share=0.15), "unit"),
    ]
    if rng.random() < 0.8:
        out.append(RawArtifact("smoke.xml", _junit("smoke", rng.randrange(VARIANTS), failure_share=0.1), "smoke"))
    if rng.random() < 0.85:
        out.append(RawArtifact("latency-ms.json", _latency(rng.randrange(VARIANTS)), None))
    fixtures = [
        ("bandit-json/bandit.json", 0.9), ("semgrep-json/semgrep.json", 0.7), ("import-linter/lint-imports.txt", 0.75),
        (rng.choice(["pip-audit-json/environment-pypi.json", "pip-audit-json/requirements-pypi.json",
                     "pip-audit-json/upstream-defectdojo-many_vulns_new.json"]), 0.85),
        (rng.choice(["chaostoolkit-journal/steady-holds.json", "chaostoolkit-journal/deviated.json"]), 0.4),
        (rng.choice(["promtool/test-rules-pass.txt", "promtool/test-rules-fail.txt"]), 0.5),
        ("prometheus-exposition/clean.prom", 0.3),
    ]
    out.extend(_fixture(ARTIFACTS / rel) for rel, share in fixtures if rng.random() < share)
    if rng.random() < 0.5:
        out.append(_fixture(OPERATIONS / "killswitch-drill.yaml"))
    return out


def write_module(directory: Path, index: int) -> list[tuple[Path, str | None]]:
    """Write module `index`'s artifacts under `directory`; returns (path, scope) pairs for ingest."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[tuple[Path, str | None]] = []
    for item in module_artifacts(index):
        path = directory / item.name
        path.write_bytes(item.raw)
        written.append((path, item.scope))
    return written


def module_records(index: int, revision: str, ingested_at: str) -> list[EvidenceRecord]:
    """Module `index`'s evidence records, normalized in memory like `ingest` would (no files)."""
    module = module_name(index)
    return [
        build_record(artifact, normalized, module, revision, item.scope, ingested_at)
        for item in module_artifacts(index)
        for artifact, normalized in [_normalize(item)]
    ]


def populate(store: Store, count: int, revision: str = "r1", chunk: int = 250) -> int:
    """Store the evidence of modules 0..count-1, `chunk` modules per transaction; returns records stored."""
    stored = 0
    for batch in _chunks(count, chunk, revision):
        stored += sum(store.put_evidence(batch, "bench"))
    return stored


def _chunks(count: int, chunk: int, revision: str) -> Iterator[list[EvidenceRecord]]:
    now = rfc3339(utc_now())
    for start in range(0, count, chunk):
        yield [rec for index in range(start, min(count, start + chunk)) for rec in module_records(index, revision, now)]


def _normalize(item: RawArtifact) -> tuple[Artifact, Normalized]:
    """What `ingest` does to a file, from bytes in memory."""
    if item.name == MANIFEST_NAME:
        return _normalize_bytes(item.name, item.raw)
    return _normalize_shared(item.name, item.raw)


@cache
def _normalize_shared(name: str, raw: bytes) -> tuple[Artifact, Normalized]:
    """Artifacts other than the manifest come from a bounded pool: normalize each distinct one once."""
    return _normalize_bytes(name, raw)


def _normalize_bytes(name: str, raw: bytes) -> tuple[Artifact, Normalized]:
    artifact = Artifact(path=Path(name), raw=raw)
    normalized = detect(artifact).normalize(artifact)
    schemas.validate(normalized.kind, SCHEMA_VERSION, normalized.data, name)
    return artifact, normalized


def _fixture(path: Path) -> RawArtifact:
    return RawArtifact(path.name, _read_fixture(path), None)


@cache
def _read_fixture(path: Path) -> bytes:
    return path.read_bytes()


def _manifest(module: str, rng: random.Random) -> bytes:
    current = rng.choice(LANES[:2])
    lines = [
        f"module: {module}",
        f"owner: team-{module.split('-')[0]}",
        f"lanes: {{current: {current}, target: {LANES[LANES.index(current) + 1]}}}",
        f"slo: {{tick_p95_ms: {rng.choice([50, 100, 150])}, decide_p95_ms: {rng.choice([25, 50])}}}",
        f"telemetry: {{allowed_labels: {{lane: [{', '.join(LANES)}], status: [ok, error]}}}}",
        f"capacity: {{expected_rps: {rng.randrange(50, 2000, 50)}}}",
        f"safety: {{control: pricing_guard, enabled_by_default: {str(rng.random() < 0.9).lower()}, "
        f"mode: {rng.choice(['advisory', 'strict', 'strict'])}}}",
    ]
    return ("\n".join(lines) + "\n").encode()


def coverage_report(covered: int, total: int) -> dict[str, Any]:
    """A coverage.py 7 JSON report (line coverage only) with the given totals, shaped as coverage.py writes it."""
    return {
        "meta": {"format": 3, "version": "7.6.1", "timestamp": "2026-11-20T10:00:00.000000", "branch_coverage": False,
                 "show_contexts": False},
        "files": {"pkg/core.py": {"summary": {"covered_lines": covered, "num_statements": total}}},
        "totals": {"covered_lines": covered, "num_statements": total, "percent_covered": 100.0 * covered / total,
                   "missing_lines": total - covered, "excluded_lines": 0},
    }


def _coverage(variant: int) -> bytes:
    rng = random.Random(f"coverage-{variant}")
    total = rng.randrange(400, 6000)
    return json.dumps(coverage_report(int(total * rng.uniform(0.55, 0.99)), total)).encode()


def _junit(suite: str, variant: int, failure_share: float) -> bytes:
    rng = random.Random(f"{suite}-{variant}")
    failures = int(rng.random() < failure_share) * rng.randrange(1, 3)
    count = rng.randrange(5, 40)
    cases = []
    for number in range(count):
        body = '<failure message="assert 1 == 2">assert 1 == 2</failure>' if number < failures else ""
        cases.append(f'<testcase classname="tests.test_{suite}" name="test_case_{number}" time="0.01">{body}</testcase>')
    head = (f'<testsuites name="pytest tests"><testsuite name="{suite}" errors="0" failures="{failures}" skipped="0" '
            f'tests="{count}" time="1.5" timestamp="2026-11-20T10:00:00+00:00" hostname="ci">')
    return ('<?xml version="1.0" encoding="utf-8"?>' + head + "".join(cases) + "</testsuite></testsuites>").encode()


def _latency(variant: int) -> bytes:
    rng = random.Random(f"latency-{variant}")
    median = rng.uniform(5, 120)
    samples = [round(rng.lognormvariate(0, 0.35) * median, 3) for _ in range(400)]
    return json.dumps(samples).encode()
