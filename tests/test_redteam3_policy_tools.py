"""The tools a reviewer trusts besides `eval` (`policy test`, `policy check`) must judge the policy that is built.

Third red-team review: a `_test.rego` file is loaded by `policy test` and `policy check` but left out of
the built bundle, so a rule it lends the policy (a "fixture" in a policy package, or a test-only package
a policy module reads) exists under test and is undefined in every real decision. The tests below
compute the harm with the real OPA binary on the bundle `policy build` writes, never through readypolicy's
own verdict.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from support import REPO, require_opa, run_cli

EMPTY_CHECK = "doc_file(path).bytes == 0"
FIXTURES = {
    # A rule of the policy's own package, written in a test file: it looks like a fixture of the docs tests.
    "same package": ("package readiness.lib", "lib.doc_bytes_min"),
    # A package only a test file declares, read by a policy module.
    "test-only package": ("package readiness.docs_fixtures", "data.readiness.docs_fixtures.doc_bytes_min"),
}


def _pack_whose_tests_lend_a_rule(tmp_path: Path, package: str, reference: str) -> Path:
    """The readiness pack whose empty-document branch compares with a minimum only a test file defines."""
    project = tmp_path / "project"
    shutil.copytree(REPO / "policies", project / "policies", ignore=shutil.ignore_patterns("packs"))
    shutil.copytree(REPO / "tests" / "golden" / "readiness", project / "tests" / "golden" / "readiness")
    (project / "readypolicy.yaml").write_text(f"policies: policies\npack: readiness\nopa: {require_opa()}\n",
                                             encoding="utf-8")
    docs = project / "policies" / "checks" / "docs.rego"
    text = docs.read_text(encoding="utf-8")
    assert text.count(EMPTY_CHECK) == 1
    docs.write_text(text.replace(EMPTY_CHECK, f"doc_file(path).bytes < {reference}"), encoding="utf-8")
    (project / "policies" / "lib" / "docs_fixture_test.rego").write_text(
        f"{package}\n\nimport rego.v1\n\n# Smallest document the docs tests treat as written.\ndoc_bytes_min := 1\n",
        encoding="utf-8",
    )
    return project


def _production_allows_empty_documents(project: Path) -> bool:
    """`allow` of the built bundle's production decision on the golden ready case with every document emptied."""
    built = run_cli("policy", "build", cwd=project)
    assert built.returncode == 0, built.stderr
    (bundle,) = (project / "bundles").glob("readiness-*.tar.gz")
    case = json.loads((REPO / "tests" / "golden" / "readiness" / "production-ready.json").read_text(encoding="utf-8"))
    for document in case["input"]["evidence"]["docs"]:
        for item in document["data"]["files"]:
            item["bytes"] = 0
    done = subprocess.run(
        [str(require_opa()), "eval", "--strict-builtin-errors", "--format", "raw", "--stdin-input", "--bundle",
         str(bundle), "data.readiness.production.decision"],
        input=json.dumps(case["input"]), capture_output=True, text=True, check=True, timeout=60,
    )
    decision = json.loads(done.stdout)
    return bool(decision["allow"])


@pytest.mark.parametrize("fixture", FIXTURES.values(), ids=list(FIXTURES))
def test_a_test_file_lending_the_policy_a_rule_does_not_pass_policy_test(tmp_path: Path, fixture: tuple[str, str]) -> None:
    """Before the guard: 301 tests passed (test_docs_fail_empty_file among them), coverage 100%, golden cases
    unchanged, `policy check` ok, while the built bundle let a module whose every document is empty into production."""
    project = _pack_whose_tests_lend_a_rule(tmp_path, *fixture)
    assert _production_allows_empty_documents(project)  # the harm, measured on the bundle itself

    tested = run_cli("policy", "test", cwd=project)
    assert tested.returncode == 2, tested.stdout + tested.stderr
    assert "docs_fixture_test.rego" in tested.stderr and "built bundle" in tested.stderr

    checked = run_cli("policy", "check", cwd=project)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "test_isolation" in checked.stdout and "docs_fixture_test.rego" in checked.stdout


def test_the_shipped_packs_tests_lend_no_rule(tmp_path: Path) -> None:
    """Every shipped test file declares a package of its own that no policy module reads: `policy check` stays clean."""
    for pack in ("readiness", "priority", "enterprise"):
        checked = run_cli("--pack", pack, "policy", "check", cwd=REPO)
        assert checked.returncode == 0, checked.stdout + checked.stderr


def _payments_with_an_empty_runbook(tmp_path: Path) -> Path:
    """The readiness pack and the payments sample (ready for production) ingested with its runbook emptied."""
    project = tmp_path / "project"
    shutil.copytree(REPO / "policies", project / "policies", ignore=shutil.ignore_patterns("packs"))
    (project / "readypolicy.yaml").write_text(
        f"policies: policies\npack: readiness\nopa: {require_opa()}\nstore: store.db\n", encoding="utf-8")
    module = project / "payments"
    shutil.copytree(REPO / "evidence_samples" / "payments", module)
    (module / "docs" / "runbook.md").write_bytes(b"")
    ingested = run_cli("--config", project / "readypolicy.yaml", "ingest", "--contract", "module.lane.yaml", "-r", "r1",
                       cwd=module)
    assert ingested.returncode == 0, ingested.stderr
    return project


def test_a_second_data_file_under_config_does_not_loosen_the_gate_behind_requirements(tmp_path: Path) -> None:
    """Before the guard: `config/lanes/production/thresholds/data.yaml` (docs_required without the runbook) was
    merged by OPA, so `eval --lane production` passed an empty runbook (exit 0), while `requirements --lane
    production` (read from config/data.yaml alone) still listed the runbook as required, and `policy check` said ok."""
    project = _payments_with_an_empty_runbook(tmp_path)
    args = ("eval", "-m", "payments", "-r", "r1", "--lane", "production")
    assert run_cli(*args, cwd=project).returncode == 1  # docs.present fails on the empty runbook
    required = yaml.safe_load((project / "policies" / "config" / "data.yaml").read_text(encoding="utf-8"))
    assert "runbook" in required["lanes"]["candidate"]["thresholds"]["docs_required"]

    nested = project / "policies" / "config" / "lanes" / "production" / "thresholds" / "data.yaml"
    nested.parent.mkdir(parents=True)
    nested.write_text("docs_required: [flags, public_api]\n", encoding="utf-8")
    for command in (args, ("requirements", "--lane", "production"), ("policy", "check")):
        done = run_cli(*command, cwd=project)
        assert done.returncode == 2, (command, done.stdout, done.stderr)
        assert "readiness/config/lanes/production/thresholds/data.yaml" in done.stderr, done.stderr
        assert done.stderr.count("\n") == 1


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-C", str(root), *args],
                   capture_output=True, check=True, timeout=60)


def test_a_rule_git_archive_leaves_out_does_not_hide_its_flips_from_policy_diff(tmp_path: Path) -> None:
    """Before the guard: a commit adding `chaos_passed contains "brownout"` in a file its own `.gitattributes` marks
    `export-ignore` diffed as "0 of 3 decision(s) flip" (exit 0) by `policy diff --base HEAD~1 --head HEAD`, since
    `git archive` left the file out, while that very commit's checkout made payments READY (exit 0)."""
    project = _payments_with_an_empty_runbook(tmp_path)
    (project / "payments" / "docs" / "runbook.md").write_text("# Runbook\n", encoding="utf-8")
    (project / "payments" / "chaos" / "brownout.json").unlink()
    ingested = run_cli("--config", project / "readypolicy.yaml", "ingest", "--contract", "module.lane.yaml", "-r", "r2",
                       cwd=project / "payments")
    assert ingested.returncode == 0, ingested.stderr
    args = ("eval", "-m", "payments", "-r", "r2", "--lane", "candidate", "--format", "json")
    before = run_cli(*args, cwd=project)
    assert before.returncode == 1, before.stderr
    assert {c["id"]: c["status"] for c in json.loads(before.stdout)["checks"]}["chaos.basic"] == "fail"
    _git(project, "init", "-q")
    _git(project, "add", "policies", "readypolicy.yaml")
    _git(project, "commit", "-qm", "base")

    (project / "policies" / "checks" / "chaos_compat.rego").write_text(
        "package readiness.checks\n\nimport rego.v1\n\n# Older journals spell the scenario brown-out.\n"
        'chaos_passed contains "brownout" if some d in chaos_docs\n', encoding="utf-8")
    (project / ".gitattributes").write_text("policies/checks/chaos_compat.rego export-ignore\n", encoding="utf-8")
    _git(project, "add", "policies", ".gitattributes")
    _git(project, "commit", "-qm", "chaos scenario spelling")
    after = run_cli(*args, cwd=project)
    assert after.returncode == 0, after.stdout  # the head commit's checkout lets payments into candidate

    diffed = run_cli("policy", "diff", "--base", "HEAD~1", "--head", "HEAD", "--format", "json", cwd=project)
    assert diffed.returncode == 1, diffed.stdout + diffed.stderr
    flips = {(flip["module"], flip["lane"], flip["before"], flip["after"]) for flip in json.loads(diffed.stdout)["flips"]}
    assert ("payments", "candidate", False, True) in flips
