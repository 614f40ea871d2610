"""A throwaway readypolicy project for CLI tests: config, a copy of the policies, real evidence.

The policies are copied so a test may build, lock or break them without touching the repository,
and the evidence comes from the real tool outputs under tests/fixtures/artifacts.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from readypolicy.cli.main import cli
from readypolicy.engines.locate import find_opa

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "tests" / "fixtures" / "artifacts"

MANIFEST = """\
module: payments
owner: team-payments
lanes: {current: candidate, target: integration}
slo: {tick_p95_ms: 100}
telemetry: {allowed_labels: {lane: [candidate, integration, production]}}
capacity: {expected_rps: 200}
thresholds: {candidate: {coverage_line_min: COVERAGE_MIN}}
"""


@dataclass(frozen=True)
class Project:
    """A project directory with its own config, store, policies and bundles."""

    root: Path
    """Directory holding readypolicy.yaml."""

    @property
    def config(self) -> Path:
        """The project's readypolicy.yaml."""
        return self.root / "readypolicy.yaml"

    @property
    def bundles(self) -> Path:
        """Where `policy build` writes and lock.json lives."""
        return self.root / "bundles"

    def run(self, *args: str, env: dict[str, str] | None = None) -> Result:
        """Run the CLI against this project (in-process, output captured)."""
        return CliRunner().invoke(cli, ["--config", str(self.config), *args], env=env, catch_exceptions=False)

    def eval_records(self, *args: str) -> list[dict[str, Any]]:
        """Decision records of `eval --format json`, always as a list."""
        result = self.run("eval", "--format", "json", *args)
        assert result.exit_code in (0, 1), result.output
        value = json.loads(result.stdout)
        return value if isinstance(value, list) else [value]


def make_project(tmp_path: Path, coverage_min: int = 75, waivers: str | None = None) -> Project:
    """A project whose module `payments@abc` has a manifest, coverage, unit tests and a SAST scan."""
    root = tmp_path / "project"
    root.mkdir()
    shutil.copytree(REPO / "policies", root / "policies", ignore=shutil.ignore_patterns("packs"))
    opa = find_opa(None, REPO)
    (root / "readypolicy.yaml").write_text(f"opa: {opa}\nstore: store.db\nactor: alice\n", encoding="utf-8")
    if waivers is not None:
        (root / "waivers.yaml").write_text(waivers, encoding="utf-8")
    manifest = root / "module.lane.yaml"
    manifest.write_text(MANIFEST.replace("COVERAGE_MIN", str(coverage_min)), encoding="utf-8")
    project = Project(root)
    for args in (
        [str(manifest)],
        ["--scope", "unit", str(ARTIFACTS / "coverage-py-json" / "coverage.json"),
         str(ARTIFACTS / "junit-xml" / "pytest-xunit2.xml")],
        [str(ARTIFACTS / "bandit-json" / "bandit.json")],
    ):
        result = project.run("ingest", "--module", "payments", "--revision", "abc", *args)
        assert result.exit_code == 0, result.output
    return project
