"""Red-team round 3, what an auditor relies on later: the audit log as an anchor, archives as proof.

`eval --locked` with `policy_approvers` holds lock.json to the newest signed `lock` entry of the
store's audit log; `store copy` merges another store into a team store by appending that store's
audit facts to the destination's chain. An audit archive is checked by `audit verify` months
later, under the same timestamp requirement `verify` honours.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from signed_project import APPROVE_MINI as SIGNED
from signed_project import BUILD_MINI as BUILD
from signed_project import EVAL_LOCKED as EVAL
from signed_project import approver_project, signed_project, tighten_mini
from signed_project import ok as _ok
from support import OPA, coverage_json, make_project, run_cli


def test_a_store_copy_does_not_make_a_replaced_approval_the_newest(tmp_path: Path) -> None:
    """Bundle A signed against a second store, then B against the team store, then the stores merged.

    The copy appends A's (older) `lock` entry after B's in the team store's chain; read in chain
    order it became "the newest signed approval", and lock.json restored to A decided READY on A's
    70% floor. Now chain order and first-logged time must agree; the approver's new word settles it.
    """
    project = approver_project(make_project(tmp_path), "approver")
    _ok(project, *BUILD)
    _ok(project, "--store", "staging.db", *SIGNED)  # A, approved against the staging store
    lock = project / "bundles" / "lock.json"
    first_lock = lock.read_bytes()
    tighten_mini(project)
    _ok(project, *BUILD)
    _ok(project, *SIGNED)  # B, approved later against the team store
    assert run_cli(*EVAL, cwd=project).returncode == 1  # 90% is not above B's 95% floor
    second_lock = lock.read_bytes()
    [second] = [path for path in (project / "bundles").glob("mini-*.tar.gz") if path.name.encode() not in first_lock]
    _ok(project, "store", "copy", "--from", "staging.db", "--to", "store.db")
    lock.write_bytes(first_lock)  # lock.json restored from git history
    rolled_back = run_cli(*EVAL, cwd=project)
    assert rolled_back.returncode == 2, rolled_back.stdout
    assert "cannot tell which signed approval is newest" in rolled_back.stderr
    _ok(project, *SIGNED[:4], "--bundle", second, *SIGNED[4:])  # the approver's word again, against the team store
    lock.write_bytes(first_lock)
    assert "rolled back" in run_cli(*EVAL, cwd=project).stderr
    lock.write_bytes(second_lock)
    assert run_cli(*EVAL, cwd=project).returncode == 1  # decided by B's 95% floor


def test_an_archive_without_a_trusted_time_does_not_verify_where_one_is_required(tmp_path: Path) -> None:
    """`require_timestamp` (READYPOLICY_REQUIRE_TIMESTAMP): `verify` refuses the untimestamped decision,
    `audit verify` of an archive of that very decision said it verified."""
    signed = signed_project(tmp_path)
    out = tmp_path / "audit.tar.gz"
    exported = signed.cli("audit", "export", "--decision", signed.record()["decision_id"], "-o", out,
                          "--key", signed.private_key)
    assert exported.returncode == 0, exported.stderr
    auditor = tmp_path / "auditor"
    auditor.mkdir()
    required = {"READYPOLICY_OPA": str(OPA), "READYPOLICY_REQUIRE_TIMESTAMP": "true"}
    direct = run_cli("verify", signed.decision, "--key", signed.public_key, cwd=auditor, env=required)
    assert direct.returncode == 2 and "a trusted timestamp is required" in direct.stderr
    archived = run_cli("audit", "verify", out, "--key", signed.public_key, cwd=auditor, env=required)
    assert archived.returncode == 2, archived.stdout
    assert "a trusted timestamp is required" in archived.stderr and "decision.sigstore.json" in archived.stderr
    flagged = run_cli("audit", "verify", out, "--key", signed.public_key, "--require-timestamp", cwd=auditor,
                      env={"READYPOLICY_OPA": str(OPA)})
    assert flagged.returncode == 2 and "a trusted timestamp is required" in flagged.stderr
    assert run_cli("audit", "verify", out, "--key", signed.public_key, cwd=auditor,
                   env={"READYPOLICY_OPA": str(OPA)}).returncode == 0


def test_a_prune_copied_from_another_store_does_not_excuse_a_deleted_ingest_event(tmp_path: Path) -> None:
    """A staging store pruned the failing report F; `store copy` replayed that `prune` entry into the team
    store, where F is still the current report. One `DELETE FROM ingests` of F's event there makes the
    earlier passing report P current (READY), and verify-chain took the copied prune as F's removal."""
    project = make_project(tmp_path)
    passing = coverage_json(tmp_path / "passing.json", covered=90, total=100)
    failing = coverage_json(tmp_path / "failing.json", covered=50, total=100)
    for report in (failing, passing):  # staging: F, then P, decided on; F is neither current nor cited
        _ok(project, "--store", "staging.db", "ingest", report, "-m", "svc", "-r", "r1")
    _ok(project, "--store", "staging.db", "eval", "-m", "svc", "-r", "r1")
    assert "removed 1 of 2" in _ok(project, "--store", "staging.db", "store", "prune", "--older-than", "0h").stdout
    for report in (passing, failing):  # the team store: P, then F, current
        _ok(project, "ingest", report, "-m", "svc", "-r", "r1")
    _ok(project, "store", "copy", "--from", "staging.db", "--to", "store.db")
    assert run_cli("eval", "-m", "svc", "-r", "r1", "--no-record", cwd=project).returncode == 1
    assert run_cli("audit", "verify-chain", cwd=project).returncode == 0
    with sqlite3.connect(project / "store.db") as db:
        db.execute("DELETE FROM ingests WHERE seq = (SELECT MAX(seq) FROM ingests WHERE actor = 'test' "
                   "AND digest IN (SELECT digest FROM evidence WHERE document LIKE '%50.0%'))")
    assert run_cli("eval", "-m", "svc", "-r", "r1", "--no-record", cwd=project).returncode == 0  # P decides now
    chain = run_cli("audit", "verify-chain", cwd=project)
    assert chain.returncode == 2, chain.stdout
    assert "whose ingest event is not in the store" in chain.stderr and "(a deleted ingest event)" in chain.stderr
