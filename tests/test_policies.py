"""The shipped policy packs, checked with the real OPA binary.

Each pack's Rego tests run with `opa test` over its sources staged at their bundle paths, under the
restricted capabilities evaluations use; line coverage of the policy files (tests excluded) must
stay at or above 90%. The sources must compile with `opa check --strict` and be `opa fmt` clean.
Golden cases (tests/golden/readiness/*.json, where pack.yaml `golden` points) are evaluated end to
end through the same engine wiring the CLI uses, against the staged default pack, and must give exactly
the recorded decision.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from readypolicy.decision.record import check_policy_result
from readypolicy.engines.locate import find_opa
from readypolicy.engines.opa_binary import OpaBinary
from readypolicy.engines.opa_cli import OpaCliEngine
from readypolicy.policy import stage
from readypolicy.policy.pack import golden_dir, load_pack, pack_dir
from readypolicy.policy.source_tree import staged_sources

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
PACKS = ("readiness", "priority", "enterprise")
GOLDEN_DIR = golden_dir(POLICIES)
assert GOLDEN_DIR is not None
GOLDEN = sorted(GOLDEN_DIR.glob("*.json"))
MIN_COVERAGE = 90.0


@pytest.fixture(scope="module")
def opa(tmp_path_factory: pytest.TempPathFactory) -> OpaBinary:
    """The project's OPA binary, with its restricted capabilities cached in a temp dir."""
    return OpaBinary(path=find_opa(None, ROOT), cache_dir=tmp_path_factory.mktemp("opa-cache"))


def _pack_path(pack: str) -> Path:
    return pack_dir(POLICIES, pack)


@pytest.mark.parametrize("pack", PACKS)
def test_rego_tests_pass(opa: OpaBinary, pack: str) -> None:
    """`opa test -v` of the pack: every test passes, and there are tests."""
    policy = load_pack(_pack_path(pack))
    with staged_sources(policy.origin, policy.root) as tree:
        done = opa.run(["test", "-v", "--capabilities", str(opa.capabilities_file), str(tree.directory)])
    output = done.stdout.decode()
    assert done.returncode == 0, tree.source_text(output + done.stderr.decode())[-4000:]
    assert "FAIL" not in output and "ERROR" not in output
    assert output.count(": PASS") >= 30


@pytest.mark.parametrize("pack", PACKS)
def test_rego_coverage(opa: OpaBinary, pack: str) -> None:
    """Line coverage of the pack's policy files by its tests is at least 90%."""
    policy = load_pack(_pack_path(pack))
    with staged_sources(policy.origin, policy.root) as tree:
        capabilities = str(opa.capabilities_file)
        done = opa.run(["test", "--coverage", "--format", "json", "--capabilities", capabilities, str(tree.directory)])
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        files: dict[str, Any] = json.loads(done.stdout)["files"]
        policy_files = {name: entry for name, entry in files.items() if not name.endswith("_test.rego")}
        staged_policy = {rel for rel in tree.sources if rel.endswith(".rego") and not rel.endswith("_test.rego")}
    assert len(policy_files) == len(staged_policy), "every policy file must appear in the coverage report"
    covered = sum(entry.get("covered_lines", 0) for entry in policy_files.values())
    total = covered + sum(entry.get("not_covered_lines", 0) for entry in policy_files.values())
    assert total > 0
    percent = 100.0 * covered / total
    assert percent >= MIN_COVERAGE, f"{pack}: Rego line coverage {percent:.1f}% < {MIN_COVERAGE}%"


@pytest.mark.parametrize("pack", PACKS)
def test_rego_check_strict(opa: OpaBinary, pack: str) -> None:
    """The pack's sources (tests included) compile under --strict and the restricted capabilities."""
    policy = load_pack(_pack_path(pack))
    with staged_sources(policy.origin, policy.root) as tree:
        done = opa.run(["check", "--strict", "--capabilities", str(opa.capabilities_file), str(tree.directory)])
        message = tree.source_text((done.stdout + done.stderr).decode())
    assert done.returncode == 0, message


def test_rego_formatted(opa: OpaBinary) -> None:
    """`opa fmt --list` finds nothing to reformat anywhere under policies/."""
    done = opa.run(["fmt", "--list", str(POLICIES)])
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().split() == []


@pytest.mark.parametrize("pack", PACKS)
def test_bundle_leaves_out_tests_and_golden_cases(pack: str) -> None:
    """Only policy and data files enter a bundle: no tests, no golden cases."""
    files = load_pack(_pack_path(pack)).files
    assert files
    assert not [name for name in files if name.endswith("_test.rego") or "golden" in name]


def test_golden_cases_exist() -> None:
    """At least the three required golden cases are present."""
    names = {json.loads(path.read_text())["name"] for path in GOLDEN}
    assert {"production-ready", "integration-two-failures", "candidate-missing-evidence"} <= names


@pytest.mark.parametrize("path", GOLDEN, ids=[path.stem for path in GOLDEN])
def test_golden_case(opa: OpaBinary, tmp_path: Path, path: Path) -> None:
    """The staged default pack decides the golden input exactly as recorded."""
    case = json.loads(path.read_text())
    policy = load_pack(POLICIES)
    loaded = stage.load(policy, tmp_path)
    query = policy.query(case["lane"])
    [result] = OpaCliEngine(opa).evaluate(loaded, query, [case["input"]])
    decision = check_policy_result(result, query)
    got = {check["id"]: check["status"] for check in decision["checks"]}
    assert got == case["expected"]["checks"]
    assert decision["allow"] is case["expected"]["allow"]
    for check in decision["checks"]:
        assert check["message"] and check["title"] and check["remediation"]
