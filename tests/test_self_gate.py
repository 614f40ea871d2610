"""readypolicy's own gate (scripts/self-gate with the project's pack, .ci/pack) says NOT READY when it should.

Each attack is real evidence from a real tool run, ingested and decided by the real CLI and OPA with
the project's own pack and manifest: a pytest run that skipped a test, and a `lint-imports` run
over a copy of the package with an upward import planted. The integration lane is the one the
self-gate decides; the candidate lane is decided beside it to show what only integration asks.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

from support import REPO, require_opa, run_cli

PACK = REPO / ".ci" / "pack"
MANIFEST = REPO / ".ci" / "readypolicy.lane.yaml"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _project(tmp_path: Path) -> Path:
    """A throwaway store deciding with the project's own pack, as the self-gate does."""
    project = tmp_path / "gate"
    project.mkdir()
    (project / "readypolicy.yaml").write_text(
        f"store: store.db\npolicies: {REPO / 'policies'}\npack: {PACK}\nopa: {require_opa()}\nopa_timeout_s: 60\n",
        encoding="utf-8")
    return project


def _ingest(project: Path, *args: str | Path) -> None:
    done = run_cli("ingest", "-m", "readypolicy", "-r", "r1", *args, cwd=project)
    assert done.returncode == 0, done.stderr


def _decide(project: Path) -> dict[str, dict[str, dict[str, str]]]:
    """Lane → check id → the check, for the candidate and integration decisions of readypolicy@r1."""
    done = run_cli("eval", "--lane", "candidate", "--lane", "integration", "-m", "readypolicy", "-r", "r1",
                   "--format", "json", cwd=project)
    assert done.returncode in (0, 1), done.stderr
    records = json.loads(done.stdout)  # two decisions: a JSON list
    return {r["lane"]: {c["id"]: c for c in r["checks"]} for r in records}


def _pytest_junit(tmp_path: Path, body: str) -> Path:
    """Run the real pytest over a two-test module and return its JUnit report."""
    tests = tmp_path / "suite"
    tests.mkdir()
    (tests / "test_sample.py").write_text("import pytest\n\n\ndef test_one():\n    assert 1 + 1 == 2\n\n\n" + body,
                                          encoding="utf-8")
    report = tmp_path / "junit.xml"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COV_CORE", "COVERAGE_", "PYTEST_"))}
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:cov", "-p", "no:xdist",
                    f"--junit-xml={report}", str(tests)], cwd=tests, env=env, capture_output=True, text=True,
                   check=False, timeout=120)
    assert report.is_file()
    return report


def test_a_skipped_test_blocks_the_integration_lane(tmp_path: Path) -> None:
    """One skipped test in the suite's report: candidate still passes tests.unit, integration does not."""
    project = _project(tmp_path)
    junit = _pytest_junit(tmp_path, 'def test_two():\n    pytest.skip("chromium not installed")\n')
    _ingest(project, MANIFEST)
    _ingest(project, "--scope", "unit", junit)
    checks = _decide(project)
    assert checks["candidate"]["tests.unit"]["status"] == "pass"
    unit = checks["integration"]["tests.unit"]
    assert unit["status"] == "fail"
    assert unit["message"] == "unit tests: 1 skipped, at most 0 allowed in this lane"


def test_an_expected_failure_is_not_counted_as_a_skip(tmp_path: Path) -> None:
    """The control: the same pipeline without a skip passes tests.unit in integration (xfail is not a skip)."""
    project = _project(tmp_path)
    junit = _pytest_junit(tmp_path, '@pytest.mark.xfail(reason="known", strict=True)\ndef test_two():\n    assert False\n')
    _ingest(project, MANIFEST)
    _ingest(project, "--scope", "unit", junit)
    assert _decide(project)["integration"]["tests.unit"]["status"] == "pass"


def test_a_planted_upward_import_blocks_the_integration_lane(tmp_path: Path) -> None:
    """The real lint-imports over a copy of the package where the store imports audit: the layer contract breaks."""
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(REPO / "pyproject.toml", copy / "pyproject.toml")
    package = copy / "engine" / "readypolicy"
    shutil.copytree(REPO / "engine" / "readypolicy", package, ignore=shutil.ignore_patterns("__pycache__"))
    target = package / "store" / "sql.py"
    target.write_text(target.read_text(encoding="utf-8") + "from readypolicy.audit import trail  # noqa\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(copy / "engine"), "COLUMNS": "400"}  # as scripts/self-gate runs it
    done = subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=copy, env=env, capture_output=True, text=True,
                          check=False, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    report = tmp_path / "import-linter.txt"
    report.write_text(done.stdout, encoding="utf-8")
    project = _project(tmp_path)
    _ingest(project, MANIFEST, report)
    checks = _decide(project)
    assert "architecture.imports" not in checks["candidate"]
    layers = next(c["name"] for c in tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
                  if c["id"] == "layers")
    imports = checks["integration"]["architecture.imports"]
    assert imports["status"] == "fail"
    assert imports["message"] == f"broken contract(s): {layers}"  # the whole name, not a wrapped tail of it


def test_the_pack_asks_for_every_contract_the_project_declares() -> None:
    """Deleting a contract from pyproject.toml must not quietly lower what the gate checks: the minimum tracks them."""
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    config = yaml.safe_load((PACK / "config" / "data.yaml").read_text(encoding="utf-8"))
    assert config["lanes"]["integration"]["thresholds"]["architecture_contracts_min"] == len(declared)
    assert config["lanes"]["integration"]["thresholds"]["tests_skipped_max"] == 0


def test_the_self_gate_decides_the_integration_lane_with_the_projects_pack() -> None:
    """The script gates integration (not only candidate) with .ci/pack, and the manifest targets integration."""
    script = (REPO / "scripts" / "self-gate").read_text(encoding="utf-8")
    assert re.search(r'READYPOLICY_PACK="\$root/\.ci/pack"', script)
    assert re.search(r"^readypolicy eval --lane candidate --lane integration ", script, re.MULTILINE)
    assert "import-linter.txt" in script.split("readypolicy ingest", 1)[1]
    assert yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))["lanes"]["target"] == "integration"


def test_the_projects_pack_passes_its_rego_tests_and_golden_cases(tmp_path: Path) -> None:
    """The shipped packs are tested in test_policies.py; the self-gate's pack gets the same `policy test` here."""
    done = run_cli("policy", "test", "--pack", PACK, cwd=_project(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 failed, 0 errors" in done.stdout
    assert "golden integration: 2 case(s)" in done.stdout
