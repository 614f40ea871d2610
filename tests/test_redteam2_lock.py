"""Red-team round 2, the bundle lock with policy_approvers: rollback and lanes planted for signing.

A signed approval never expires, and lock.json is anyone's edit. These attacks restore an old lock
(or plant a lane in it) and expect `eval --locked` to refuse what the approver did not approve last.
Every project here evaluates 90% line coverage: READY under the 70% floor, NOT READY under 95%.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from signed_project import APPROVE_MINI as SIGNED
from signed_project import BUILD_MINI as BUILD
from signed_project import EVAL_LOCKED as EVAL
from signed_project import approver_project, tighten_mini
from signed_project import ok as _ok
from support import coverage_json, make_project, run_cli


def _approvers(project: Path) -> Path:
    """A mini project with policy_approvers [approver.pub], an intruder key pair and 90% coverage ingested."""
    return approver_project(project, "approver", "intruder")


@pytest.fixture
def superseded(tmp_path: Path) -> tuple[Path, Path, bytes]:
    """Bundle A (70% floor) signed, then bundle B (95% floor) signed: (project, bundle A, lock.json of A)."""
    project = _approvers(make_project(tmp_path))
    _ok(project, *BUILD)
    _ok(project, *SIGNED)
    lock = project / "bundles" / "lock.json"
    first_lock = lock.read_bytes()
    (first,) = (project / "bundles").glob("*.tar.gz")
    assert run_cli(*EVAL, cwd=project).returncode == 0
    tighten_mini(project)
    _ok(project, *BUILD)
    _ok(project, *SIGNED)
    assert run_cli(*EVAL, cwd=project).returncode == 1  # 90% is not above the approved 95% floor
    return project, first, first_lock


def test_a_lock_rolled_back_to_a_superseded_bundle_is_refused(superseded: tuple[Path, Path, bytes]) -> None:
    project, first, first_lock = superseded
    (project / "bundles" / "lock.json").write_bytes(first_lock)  # one file restored from git history
    rolled_back = run_cli(*EVAL, cwd=project)
    assert rolled_back.returncode == 2, rolled_back.stdout
    assert "lock.json: mini/candidate" in rolled_back.stderr and "rolled back" in rolled_back.stderr
    assert first.name in rolled_back.stderr


def test_an_unsigned_re_approval_of_the_superseded_bundle_does_not_move_the_anchor(
    superseded: tuple[Path, Path, bytes],
) -> None:
    project, first, _ = superseded
    _ok(project, "policy", "approve", "--pack", "mini", "--bundle", first)  # the CLI, a store entry, no key
    refused = run_cli(*EVAL, cwd=project)
    assert refused.returncode == 2, refused.stdout
    assert "rolled back" in refused.stderr


def test_another_keys_re_approval_with_the_old_approval_file_restored_is_refused(
    superseded: tuple[Path, Path, bytes],
) -> None:
    project, first, _ = superseded
    approval = first.with_name(first.name + ".approval.sigstore.json")
    approver_signed = approval.read_bytes()
    _ok(project, "policy", "approve", "--pack", "mini", "--bundle", first, "--key", "intruder.key")
    approval.write_bytes(approver_signed)  # the approver's old signature of A, restored from git history
    refused = run_cli(*EVAL, cwd=project)
    assert refused.returncode == 2, refused.stdout
    assert "an older approval file was restored" in refused.stderr


def test_the_approver_re_approving_the_old_bundle_makes_it_decide_again(superseded: tuple[Path, Path, bytes]) -> None:
    project, first, _ = superseded
    _ok(project, *SIGNED[:4], "--bundle", first, *SIGNED[4:])
    assert run_cli(*EVAL, cwd=project).returncode == 0  # the approver's newest word: the 70% floor


def test_drift_reports_a_rolled_back_lock(superseded: tuple[Path, Path, bytes]) -> None:
    project, _, first_lock = superseded
    assert run_cli("drift", "--pack", "mini", cwd=project).returncode == 0
    (project / "bundles" / "lock.json").write_bytes(first_lock)
    drift = run_cli("drift", "--pack", "mini", "--format", "json", cwd=project)
    assert drift.returncode == 1, drift.stderr
    reasons = [d for d in json.loads(drift.stdout)["differences"] if (d["source"], d["kind"]) == ("bundle", "approval")]
    assert reasons and "rolled back" in json.dumps(reasons)


def test_a_signed_lock_evaluated_against_a_store_without_its_approvals_is_refused(
    superseded: tuple[Path, Path, bytes], tmp_path: Path,
) -> None:
    """The repository (lock, bundles, approvals) copied to a fresh store: nothing there can tell it is current."""
    project, _, _ = superseded
    fresh = make_project(tmp_path / "fresh")
    shutil.copyfile(project / "approver.pub", fresh / "approver.pub")
    shutil.copyfile(project / "readypolicy.yaml", fresh / "readypolicy.yaml")
    _ok(fresh, "ingest", coverage_json(tmp_path / "coverage.json", covered=90, total=100), "-m", "svc", "-r", "r1")
    shutil.rmtree(fresh / "bundles", ignore_errors=True)
    shutil.copytree(project / "bundles", fresh / "bundles")
    refused = run_cli(*EVAL, cwd=fresh)
    assert refused.returncode == 2, refused.stdout
    assert "records no signed approval of this lane" in refused.stderr


def _duo_pack(project: Path, production_floor: int) -> None:
    """The mini test pack with a second lane, production, whose floor is `production_floor`."""
    pack = project / "policies" / "packs" / "duo"
    if not pack.exists():
        shutil.copytree(project / "policies" / "packs" / "mini", pack)
        (pack / "pack.yaml").write_text(
            "name: duo\nversion: 0.1.0\ndescription: two lanes\nroot: duo\n"
            "lanes:\n  candidate: candidate\n  production: production\n"
            "sources:\n  candidate: candidate\n  production: production\n",
            encoding="utf-8",
        )
        (pack / "production").mkdir()
        rego = pack / "candidate" / "candidate.rego"
        rego.write_text(rego.read_text(encoding="utf-8").replace("package mini.candidate", "package duo.candidate"),
                        encoding="utf-8")
    source = (project / "policies" / "packs" / "mini" / "candidate" / "candidate.rego").read_text(encoding="utf-8")
    assert "70" in source
    (pack / "production" / "production.rego").write_text(
        source.replace("package mini.candidate", "package duo.production").replace("70", str(production_floor)),
        encoding="utf-8",
    )


def _duo_project(tmp_path: Path, production_floor: int) -> Path:
    """A project deciding the two-lane `duo` pack with approver keys configured, its bundle built (not approved)."""
    project = make_project(tmp_path, pack="duo")
    config = project / "readypolicy.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace("lanes: [candidate]", "lanes: [candidate, production]"),
                      encoding="utf-8")
    _approvers(project)
    _duo_pack(project, production_floor=production_floor)
    _ok(project, "policy", "build", "--pack", "duo")
    return project


def test_a_signed_approval_for_candidate_does_not_sign_a_production_entry_planted_in_the_lock(tmp_path: Path) -> None:
    project = _duo_project(tmp_path, production_floor=95)
    _ok(project, "policy", "approve", "--pack", "duo", "--key", "approver.key")
    production = (*EVAL, "--lane", "production")
    assert run_cli(*production, cwd=project).returncode == 1  # 90% is not above 95%
    _duo_pack(project, production_floor=70)  # a relaxation proposed for review, built for candidate
    _ok(project, "policy", "build", "--pack", "duo")
    lock = project / "bundles" / "lock.json"
    old = set(json.loads(lock.read_text(encoding="utf-8"))["packs"]["duo"]["production"].values())
    [new] = [p for p in (project / "bundles").glob("duo-*.tar.gz") if p.name not in old]
    _ok(project, "policy", "approve", "--pack", "duo", "--lane", "production", "--bundle", new)  # the plant, unsigned
    assert run_cli(*production, cwd=project).returncode == 2
    signed = _ok(project, "policy", "approve", "--pack", "duo", "--lane", "candidate", "--bundle", new,
                 "--key", "approver.key")
    assert "(lanes: candidate)" in signed.stdout and "production" not in signed.stdout
    relaxed = run_cli(*production, cwd=project)
    assert relaxed.returncode == 2, relaxed.stdout
    assert "covers lane(s) candidate, not 'production'" in relaxed.stderr
    assert run_cli(*EVAL, "--lane", "candidate", cwd=project).returncode == 0  # what was signed does decide


def test_a_second_signed_lane_keeps_the_lanes_the_verified_approval_already_names(tmp_path: Path) -> None:
    """Signing production after candidate names both, and says so: the earlier signed lane is not lost."""
    project = _duo_project(tmp_path, production_floor=70)
    first = _ok(project, "policy", "approve", "--pack", "duo", "--lane", "candidate", "--key", "approver.key")
    assert "(lanes: candidate)" in first.stdout
    second = _ok(project, "policy", "approve", "--pack", "duo", "--lane", "production", "--key", "approver.key")
    assert "(lanes: candidate, production)" in second.stdout
    for lane in ("candidate", "production"):
        decided = run_cli(*EVAL, "--lane", lane, cwd=project)
        assert decided.returncode == 0, decided.stderr
