"""A policy engineer's habits on this repository: plain OPA on policies/, golden cases, committed bundles.

`opa test policies/`, `opa check --strict policies/` and `opa fmt -l policies/` must work on the
tree as it stands (every pack loaded at once, each data file at its directory's path); golden cases
live outside policies/ and `policy test` runs them; the approved bundles of every pack are committed
in bundles/ and must keep matching the sources, so `drift` on a fresh clone exits 0.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from policy_project import Project, make_project
from readypolicy.policy.bundle_read import read_bundle
from readypolicy.policy.lock import LOCK_NAME, read_lock
from readypolicy.policy.pack import golden_dir, load_pack, pack_dir
from support import ARTIFACTS, REPO, require_opa, run_cli

POLICIES = REPO / "policies"
BUNDLES = REPO / "bundles"
PACKS = ("readiness", "priority", "enterprise")


def opa(*args: str | Path, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    """The project's OPA binary, run as a security engineer would, from the repository root."""
    return subprocess.run([str(require_opa()), *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=300, check=False)


# Plain OPA on the whole tree


def test_plain_opa_test_check_and_fmt_pass_on_the_whole_policy_tree() -> None:
    tested = opa("test", "policies/")
    assert tested.returncode == 0, (tested.stdout + tested.stderr)[-3000:]
    passed = int(tested.stdout.split("PASS: ")[1].split("/")[0])
    # Every pack's tests run: the whole tree holds at least each pack's own test packages.
    listed = opa("test", "-v", "policies/").stdout
    for package in ("config_test", "enterprise_test", "priority_test", "licenses_test"):
        assert f"data.readiness.{package}." in listed
    assert passed > 0 and "FAIL" not in tested.stdout
    checked = opa("check", "--strict", "policies/")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    unformatted = opa("fmt", "-l", "policies/")
    assert unformatted.returncode == 0 and unformatted.stdout.split() == []


def test_no_file_under_policies_is_data_opa_would_load_by_accident() -> None:
    """OPA loads every .json/.yaml below the path it is given: only pack data and pack.yaml may be there."""
    loaded_as_data = [path.relative_to(REPO) for path in POLICIES.rglob("*")
                      if path.suffix in (".json", ".yaml", ".yml") and path.name not in ("data.yaml", "data.json", "pack.yaml")]
    assert loaded_as_data == []
    for pack in PACKS:
        directory = golden_dir(pack_dir(POLICIES, pack))
        assert directory is None or POLICIES not in directory.parents


def test_a_whole_tree_run_tests_each_pack_with_its_own_configuration(tmp_path: Path) -> None:
    """Attack: pack tests silently run on another pack's data. A changed enterprise threshold must fail them."""
    tree = tmp_path / "policies"
    shutil.copytree(POLICIES, tree)
    data = tree / "packs" / "enterprise" / "config" / "data.yaml"
    text = data.read_text(encoding="utf-8")
    assert text.count("coverage_line_min: 80") == 1
    data.write_text(text.replace("coverage_line_min: 80", "coverage_line_min: 81"), encoding="utf-8")
    done = opa("test", tree)
    assert done.returncode != 0
    failing = {line.split(":")[0] for line in done.stdout.splitlines() if line.endswith(")") and "FAIL" in line}
    assert failing and all(name.startswith("data.readiness.enterprise_test.") for name in failing), failing


# Golden cases in `policy test`


def golden_project(tmp_path: Path) -> Project:
    """A project holding a copy of the default pack and of its golden cases, where pack.yaml points."""
    root = tmp_path / "project"
    shutil.copytree(POLICIES, root / "policies", ignore=shutil.ignore_patterns("packs"))
    directory = golden_dir(root / "policies")
    assert directory is not None and directory.is_relative_to(root)
    source = golden_dir(POLICIES)
    assert source is not None
    shutil.copytree(source, directory)
    (root / "readypolicy.yaml").write_text(f"opa: {require_opa()}\nstore: store.db\nactor: alice\n", encoding="utf-8")
    return Project(root)


def golden_case(project: Project, name: str) -> tuple[Path, dict[str, Any]]:
    directory = golden_dir(project.root / "policies")
    assert directory is not None
    path = directory / f"{name}.json"
    return path, json.loads(path.read_text(encoding="utf-8"))


def test_policy_test_runs_the_golden_cases(tmp_path: Path) -> None:
    project = golden_project(tmp_path)
    result = project.run("policy", "test")
    assert result.exit_code == 0, result.output
    directory = golden_dir(project.root / "policies")
    assert directory is not None
    cases = [json.loads(path.read_text()) for path in sorted(directory.glob("*.json"))]
    lanes = {case["lane"] for case in cases}
    for lane in lanes:
        count = sum(case["lane"] == lane for case in cases)
        assert f"golden {lane}: {count} case(s) against" in result.output


def test_a_flipped_golden_expectation_fails_policy_test_naming_the_check(tmp_path: Path) -> None:
    project = golden_project(tmp_path)
    path, case = golden_case(project, "production-ready")
    assert case["expected"]["checks"]["coverage.line"] == "pass"
    case["expected"]["checks"]["coverage.line"] = "fail"
    path.write_text(json.dumps(case, indent=1) + "\n", encoding="utf-8")
    result = project.run("policy", "test")
    assert result.exit_code == 1
    assert "golden production-ready: check coverage.line expected fail, got pass" in result.output


def set_pack_threshold(project: Project, lane: str, name: str, value: int) -> None:
    data = project.root / "policies" / "config" / "data.yaml"
    doc = yaml.safe_load(data.read_text(encoding="utf-8"))
    doc["lanes"][lane]["thresholds"][name] = value
    data.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


def test_a_policy_change_that_flips_a_golden_case_fails_policy_test(tmp_path: Path) -> None:
    """Attack: a threshold edit that no Rego test pins changes a recorded verdict; `policy test` must say so."""
    project = golden_project(tmp_path)
    _, case = golden_case(project, "production-ready")
    line_percent = case["input"]["evidence"]["coverage"][0]["data"]["line_percent"]
    set_pack_threshold(project, "production", "coverage_line_min", int(line_percent) + 1)
    result = project.run("policy", "test")
    assert result.exit_code == 1
    assert "golden production-ready: expected allow, got deny (blocking: coverage.line fail)" in result.output
    assert "golden production-ready: check coverage.line expected pass, got fail" in result.output


def test_golden_update_rewrites_expectations_after_a_reviewed_change(tmp_path: Path) -> None:
    project = golden_project(tmp_path)
    path, before = golden_case(project, "production-ready")
    line_percent = before["input"]["evidence"]["coverage"][0]["data"]["line_percent"]
    set_pack_threshold(project, "production", "coverage_line_min", int(line_percent) + 1)
    cases = {p: json.loads(p.read_text(encoding="utf-8")) for p in path.parent.glob("*.json")}
    other_lanes = {p: p.read_bytes() for p, case in cases.items() if case["lane"] != "production"}
    result = project.run("policy", "golden", "update")
    assert result.exit_code == 0, result.output
    assert "updated production-ready" in result.output
    after = json.loads(path.read_text(encoding="utf-8"))
    assert after["input"] == before["input"] and after["name"] == before["name"]
    assert after["expected"] == {"allow": False, "checks": {**before["expected"]["checks"], "coverage.line": "fail"}}
    # A production threshold decides nothing in the lower lanes: their cases are not rewritten.
    assert all(p.read_bytes() == content for p, content in other_lanes.items())
    again = project.run("policy", "test")
    assert "FAIL  golden" not in again.output
    assert project.run("policy", "golden", "update").output.strip().endswith(f"0 of {len(cases)} golden case(s) changed")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"name": "x"}', "not a golden case"),
        ('{"name": "x", "lane": "production", "input": {}, "expected": {"allow": "false"}}', "not true or false"),
        ('{"name": "x", "lane": "staging", "input": {}, "expected": {"allow": true}}', "for a lane it does not have"),
        ("[", "broken.json"),
    ],
)
def test_a_golden_case_that_cannot_run_is_an_error_not_a_pass(tmp_path: Path, content: str, problem: str) -> None:
    project = golden_project(tmp_path)
    path, _ = golden_case(project, "production-ready")
    (path.parent / "broken.json").write_text(content, encoding="utf-8")
    result = project.run("policy", "test")
    assert result.exit_code == 2
    assert problem in result.output


# The licence check of the default pack, on a real SBOM


def test_licence_check_judges_a_real_spdx_sbom_against_the_pack_allow_list(tmp_path: Path) -> None:
    """Expected licences come from the raw SPDX document and the allow-list from data.yaml, not from readypolicy."""
    sbom = ARTIFACTS / "spdx-json" / "sbom4python-module.spdx.json"
    raw = json.loads(sbom.read_text(encoding="utf-8"))
    described = {r["relatedSpdxElement"] for r in raw["relationships"]
                 if r["relationshipType"] == "DESCRIBES" and r["spdxElementId"] == "SPDXRef-DOCUMENT"}
    inventory = [p for p in raw["packages"] if p["SPDXID"] not in described]

    def licence(package: dict[str, Any]) -> str | None:
        for key in ("licenseConcluded", "licenseDeclared"):
            if package.get(key) not in (None, "NOASSERTION", "NONE"):
                return str(package[key])
        return None

    declared = {licence(p) for p in inventory} - {None}
    unknown = sum(licence(p) is None for p in inventory)
    allowed = {entry.lower() for entry in yaml.safe_load((POLICIES / "config" / "data.yaml").read_text())["licenses"]["allowed"]}
    disallowed = sorted(entry for entry in declared if entry and entry.lower() not in allowed)
    assert disallowed and unknown  # the fixture exercises both

    project = make_project(tmp_path)
    assert project.run("ingest", "--module", "payments", "--revision", "abc", str(sbom)).exit_code == 0
    [record] = project.eval_records("--module", "payments", "--lane", "production")
    [check] = [c for c in record["checks"] if c["id"] == "licenses.allowed"]
    assert check["status"] == "fail" and record["allow"] is False
    for entry in disallowed:
        assert f"{entry} is not on the allow-list" in check["message"]
    for entry in declared - set(disallowed):
        assert f"{entry} is not" not in check["message"]


# Committed, approved bundles


def test_committed_lock_approves_every_lane_of_every_pack_with_content_named_bundles() -> None:
    lock = read_lock(BUNDLES / LOCK_NAME)
    for pack in PACKS:
        source = load_pack(pack_dir(POLICIES, pack))
        assert set(lock.get(pack, {})) == set(source.lanes), f"{pack}: run `make bundles`"
        for entry in lock[pack].values():
            bundle = read_bundle(BUNDLES / entry.bundle)
            assert entry.bundle == f"{pack}-{bundle.version}-{bundle.digest.removeprefix('sha256:')[:12]}.tar.gz"
            assert (entry.sha256, entry.digest) == (bundle.bundle_sha256, bundle.digest)
    named = {entry.bundle for lanes in lock.values() for entry in lanes.values()}
    assert {path.name for path in BUNDLES.glob("*.tar.gz")} == named, "bundles/ holds files the lock does not name"


@pytest.mark.parametrize("pack", PACKS)
def test_committed_bundles_match_the_sources(tmp_path: Path, pack: str) -> None:
    """`drift` on a fresh clone exits 0: the committed bundles are what the sources build. Else: `make bundles`."""
    env = {"READYPOLICY_CACHE_DIR": str(tmp_path / "cache"), "READYPOLICY_STORE": str(tmp_path / "store.db")}
    args = ["drift", "--pack", pack, "--format", "json"] + (["--golden"] if golden_dir(pack_dir(POLICIES, pack)) else [])
    done = run_cli(*args, cwd=REPO, env=env)
    report = json.loads(done.stdout) if done.stdout.strip() else {}
    assert done.returncode == 0, f"run `make bundles` and commit bundles/: {report.get('differences') or done.stderr}"


def test_bundles_are_not_ignored_by_git() -> None:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git work tree")
    for name in (LOCK_NAME, "readiness-1.0.0-0123456789ab.tar.gz"):
        done = subprocess.run(["git", "check-ignore", "-q", f"bundles/{name}"], cwd=REPO, check=False)
        assert done.returncode == 1, f"bundles/{name} is git-ignored"


def test_a_rebuild_without_a_version_bump_keeps_the_approved_bundle(tmp_path: Path) -> None:
    """Attack: edit a rule, rebuild at the same version; the approved bytes must not be replaced in place."""
    project = make_project(tmp_path)
    assert project.run("policy", "build").exit_code == 0
    assert project.run("policy", "approve").exit_code == 0
    [approved] = {entry.bundle for entry in read_lock(project.bundles / LOCK_NAME)["readiness"].values()}
    approved_bytes = (project.bundles / approved).read_bytes()
    set_pack_threshold(project, "candidate", "coverage_line_min", 71)
    rebuilt = project.run("policy", "build")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert {path.name for path in project.bundles.glob("*.tar.gz")} == {approved, new_name(project)}
    assert (project.bundles / approved).read_bytes() == approved_bytes
    assert project.run("policy", "lock", "verify").exit_code == 0
    assert project.run("drift").exit_code == 1  # the edit is not approved yet


def new_name(project: Project) -> str:
    source = load_pack(project.root / "policies")
    return f"readiness-{source.version}-{source.digest.removeprefix('sha256:')[:12]}.tar.gz"


def test_drift_against_the_committed_lock_notices_an_unapproved_edit(tmp_path: Path) -> None:
    """The guard above can fail: a clone whose policy changed after `make bundles` drifts (exit 1)."""
    clone = tmp_path / "clone"
    for name in ("policies", "bundles"):
        shutil.copytree(REPO / name, clone / name)
    shutil.copy(REPO / "readypolicy.yaml", clone / "readypolicy.yaml")
    env = {"READYPOLICY_CACHE_DIR": str(tmp_path / "cache"), "READYPOLICY_STORE": str(tmp_path / "store.db"),
           "READYPOLICY_OPA": str(require_opa())}
    assert run_cli("drift", cwd=clone, env=env).returncode == 0
    project = Project(clone)
    set_pack_threshold(project, "candidate", "coverage_line_min", 71)
    done = run_cli("drift", "--format", "json", cwd=clone, env=env)
    assert done.returncode == 1, done.stderr
    subjects = {d["subject"] for d in json.loads(done.stdout)["differences"]}
    assert "data.readiness.config.lanes.candidate.thresholds.coverage_line_min" in subjects


def test_adding_a_check_doc_quotes_the_check_as_it_is_in_the_pack() -> None:
    """docs/adding-a-check.md walks through licenses.allowed: its Rego and data snippets are the real ones."""
    doc = (REPO / "docs" / "adding-a-check.md").read_text(encoding="utf-8")
    rego = "\n".join((POLICIES / "checks" / name).read_text(encoding="utf-8") for name in ("licenses.rego", "licenses_test.rego"))
    blocks = re.findall(r"```rego\n(.*?)```", doc, flags=re.DOTALL)
    assert blocks
    quoted = [line.strip() for block in blocks for line in block.splitlines() if line.strip() and "..." not in line]
    missing = [line for line in quoted if line not in {real.strip() for real in rego.splitlines()}]
    assert missing == []
    catalog = yaml.safe_load((POLICIES / "config" / "data.yaml").read_text(encoding="utf-8"))
    entry = catalog["checks"]["licenses.allowed"]
    assert f"remediation: {entry['remediation']}" in doc and f"title: {entry['title']}" in doc
    assert "licenses.allowed" in catalog["lanes"]["production"]["checks"]
    assert f"allowed: [{', '.join(catalog['licenses']['allowed'])}]" in doc
