"""`readypolicy policy diff`: the decisions and checks a policy change would flip, from git revisions or bundles."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from readypolicy.canonical import rfc3339, utc_now
from readypolicy.cli.main import cli
from readypolicy.config import load_config
from readypolicy.engines.interface import EngineInfo, LoadedPolicy, RegoEngine
from readypolicy.policy.bundle_build import bundle_bytes
from readypolicy.policy.pack import load_pack
from readypolicy.policy.whatif import resolve_policy, what_if
from readypolicy.runtime import Runtime
from support import coverage_json, require_opa

PACK_YAML = """\
name: gate
version: 0.1.0
root: gate
lanes: {candidate: candidate}
sources: {candidate: candidate, config: config}
"""

POLICY = """\
package gate.candidate

import rego.v1

coverage := input.evidence.coverage[0]

floor := data.gate.config.coverage_line_min

check := {"id": "coverage.line", "status": "pass", "title": "Coverage", "severity": "high", "message": "ok",
	"evidence": [coverage.digest]} if coverage.data.line_percent > floor

else := {"id": "coverage.line", "status": "fail", "title": "Coverage", "severity": "high", "message": "low",
	"evidence": [coverage.digest]}

strong_status := "pass" if coverage.data.line_percent > floor + 10

else := "waived"

strong := {"id": "coverage.strong", "status": strong_status, "title": "Strong coverage", "severity": "low",
	"message": "informational", "evidence": [coverage.digest]}

decision := {"allow": check.status == "pass", "checks": [check, strong]}
"""

# Module → line coverage percent. With the floor at 70 the first two fail; at 80 four fail.
MODULES = {"alpha": 60, "bravo": 65, "charlie": 72, "delta": 78, "echo": 85, "foxtrot": 95}


def strong_waivers(now: datetime) -> list[dict[str, str]]:
    """A waiver of coverage.strong per module: a decision may only say `waived` with one behind it."""
    return [
        {"check": "coverage.strong", "module": module, "lane": "candidate", "reason": "informational only",
         "approver": "lead", "created": rfc3339(now - timedelta(days=1)), "expires": rfc3339(now + timedelta(days=5))}
        for module in MODULES
    ]


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-C", str(root), *args],
        capture_output=True, text=True, check=True,
    )
    return done.stdout.strip()


def set_floor(root: Path, floor: int) -> None:
    (root / "policies" / "config" / "data.yaml").write_text(f"# coverage floor of the gate\ncoverage_line_min: {floor}\n")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with a gate pack committed twice (floor 70, then 80) and six modules ingested."""
    opa = require_opa()
    root = tmp_path / "repo"
    (root / "policies" / "candidate").mkdir(parents=True)
    (root / "policies" / "config").mkdir()
    (root / "policies" / "pack.yaml").write_text(PACK_YAML)
    (root / "policies" / "candidate" / "candidate.rego").write_text(POLICY)
    set_floor(root, 70)
    (root / "readypolicy.yaml").write_text(f"opa: {opa}\npack: gate\nlanes: [candidate]\nstore: store.db\nbatch_size: 4\n")
    (root / ".gitignore").write_text("store.db\n.readypolicy/\n*.json\n")
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-qm", "floor 70")
    set_floor(root, 80)
    git(root, "commit", "-qam", "floor 80")
    for module, percent in MODULES.items():
        report = coverage_json(root / f"{module}.json", percent, 100)
        result = run(root, "ingest", "--module", module, "--revision", f"{module}-r1", "--scope", "unit", str(report))
        assert result.exit_code == 0, result.output
    (root / "waivers.yaml").write_text(json.dumps(strong_waivers(utc_now())))
    return root


def run(root: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(root / "readypolicy.yaml"), *args], catch_exceptions=False)


def diff_json(root: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = run(root, "policy", "diff", "--format", "json", *args)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def test_raising_the_floor_flips_exactly_the_modules_between_the_floors(repo: Path) -> None:
    code, report = diff_json(repo, "--base", "HEAD~1", "--head", "HEAD")
    assert code == 1
    assert sorted(f["module"] for f in report["flips"]) == ["charlie", "delta"]
    assert all(f["before"] is True and f["after"] is False and f["lane"] == "candidate" for f in report["flips"])
    assert {f["revision"] for f in report["flips"]} == {"charlie-r1", "delta-r1"}
    assert report["subjects"] == len(MODULES) and report["decisions"] == len(MODULES)
    # coverage.line changes in the flipping modules; coverage.strong (floor + 10) in echo and charlie too.
    per_check = {(c["check"], c["before"], c["after"]): c["count"] for c in report["per_check"]}
    assert per_check == {("coverage.line", "pass", "fail"): 2, ("coverage.strong", "pass", "waived"): 1}
    strong = [c["module"] for c in report["check_changes"] if c["check"] == "coverage.strong"]
    assert strong == ["echo"]
    assert report["base"]["digest"] != report["head"]["digest"]
    assert {"kind": "data-changed", "subject": "data.gate.config.coverage_line_min", "expected": "70", "actual": "80"}.items() \
        <= next(d for d in report["policy_changes"] if d["kind"] == "data-changed").items()


def test_reverse_direction_and_worktree_head(repo: Path) -> None:
    code, report = diff_json(repo, "--base", "HEAD", "--head", "HEAD~1")
    assert code == 1
    assert sorted((f["module"], f["before"], f["after"]) for f in report["flips"]) == [
        ("charlie", False, True), ("delta", False, True)]
    # The working tree equals HEAD: nothing would change, and nothing is evaluated.
    code, same = diff_json(repo, "--base", "HEAD")
    assert code == 0
    assert same["flips"] == [] and same["check_changes"] == [] and same["policy_changes"] == []


def test_bundle_file_as_base_and_markdown_for_a_pull_request(repo: Path, tmp_path: Path) -> None:
    set_floor(repo, 70)
    bundle = tmp_path / "gate-70.tar.gz"
    bundle.write_bytes(bundle_bytes(load_pack(repo / "policies")))
    set_floor(repo, 80)
    result = run(repo, "policy", "diff", "--base", str(bundle), "--head", "HEAD", "--format", "markdown")
    assert result.exit_code == 1, result.output
    text = result.stdout
    assert "**2 of 6 decision(s) flip (2 allow->deny) across 2 module(s)" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "candidate" in line]
    assert sorted(line.split(" | ")[0].removeprefix("| ") for line in rows) == ["charlie", "delta"]
    assert "| coverage.line | pass | fail | 2 |" in text
    assert "data.gate.config.coverage_line_min" in text


def test_a_rule_edit_is_named_and_its_effect_listed(repo: Path) -> None:
    policy = repo / "policies" / "candidate" / "candidate.rego"
    policy.write_text(policy.read_text().replace("floor + 10", "floor + 20"))
    code, report = diff_json(repo, "--base", "HEAD")
    assert code == 1
    assert report["flips"] == []
    # At floor 80 only foxtrot (95) clears floor + 10; none clears floor + 20.
    assert [(c["module"], c["check"], c["before"], c["after"]) for c in report["check_changes"]] == [
        ("foxtrot", "coverage.strong", "pass", "waived")]
    kinds = {(d["kind"], d["subject"]) for d in report["policy_changes"]}
    assert kinds == {("file-changed", "gate/candidate/candidate.rego"), ("rule-changed", "gate.candidate.strong_status")}


def test_unknown_revision_and_missing_pack_are_errors(repo: Path) -> None:
    result = run(repo, "policy", "diff", "--base", "no-such-branch")
    assert result.exit_code == 2
    assert "git rev-parse" in result.stderr and "no-such-branch" not in result.stdout
    first = git(repo, "rev-list", "--max-parents=0", "HEAD")
    (repo / "policies" / "extra").mkdir()
    git(repo, "mv", "policies/pack.yaml", "policies/extra/pack.yaml")
    git(repo, "commit", "-qm", "move")
    git(repo, "mv", "policies/extra/pack.yaml", "policies/pack.yaml")
    git(repo, "commit", "-qm", "back")
    moved = run(repo, "policy", "diff", "--base", "HEAD~1")
    assert moved.exit_code == 2
    assert "is not a policy pack there" in moved.stderr
    assert run(repo, "policy", "diff", "--base", first, "--head", "HEAD").exit_code == 1


class CountingEngine(RegoEngine):
    """Wraps the real engine to count OPA processes (one `evaluate` call is one process)."""

    def __init__(self, inner: RegoEngine) -> None:
        self.inner = inner
        self.calls: list[int] = []

    def info(self) -> EngineInfo:
        return self.inner.info()

    def evaluate(self, policy: LoadedPolicy, query: str, inputs: Any) -> list[Any]:
        self.calls.append(len(inputs))
        return self.inner.evaluate(policy, query, inputs)


def test_evaluation_is_batched_not_per_module(repo: Path) -> None:
    rt = Runtime(load_config(repo / "readypolicy.yaml"))
    try:
        engine = CountingEngine(rt.engine())
        base = resolve_policy("HEAD~1", repo / "policies")
        head = resolve_policy("HEAD", repo / "policies")
        result = what_if(store=rt.store, engine=engine, base=("HEAD~1", base), head=("HEAD", head), lanes=["candidate"],
                         cache_dir=rt.cache_dir, now="2026-01-01T00:00:00.000000Z", batch_size=4,
                         waivers=strong_waivers(datetime(2026, 1, 1, tzinfo=UTC)))
    finally:
        rt.close()
    # Six modules in batches of four: two processes per policy, never one per module.
    assert sorted(engine.calls) == [2, 2, 4, 4]
    assert sorted(f.module for f in result.flips) == ["charlie", "delta"]


def test_a_pack_whose_sources_live_outside_its_directory_diffs_by_revision(repo: Path) -> None:
    """Packs like `priority` reuse ../../lib; a git revision must bring those sources along."""
    shared = repo / "policies" / "packs" / "shared"
    shared.mkdir(parents=True)
    (shared / "pack.yaml").write_text(PACK_YAML.replace("name: gate", "name: shared").replace(
        "sources: {candidate: candidate, config: config}", "sources: {candidate: ../../candidate, config: ../../config}"))
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "a pack that reuses the gate's sources")
    set_floor(repo, 70)
    git(repo, "commit", "-qam", "floor back to 70")
    code, report = diff_json(repo, "--pack", "shared", "--base", "HEAD~1", "--head", "HEAD")
    assert code == 1
    assert sorted(flip["module"] for flip in report["flips"]) == ["charlie", "delta"]
