"""`eval --sign` and `verify --replay`: signed decisions decided again from what they record, with real OPA."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from readypolicy.canonical import digest
from readypolicy.decision.inputs import build_input
from readypolicy.decision.record import record_id
from readypolicy.engines.opa_binary import OpaBinary
from readypolicy.engines.opa_cli import OpaCliEngine
from readypolicy.evaluate import Subject, decide
from readypolicy.policy.bundle_build import bundle_bytes, bundle_file_name
from readypolicy.policy.pack import load_pack
from readypolicy.replay import ReplayError, check_replay, replay_decision
from readypolicy.store.open import open_store
from signed_project import SignedProject, signed_project, write_waivable_pack
from support import OPA, coverage_json, make_project, run_cli

WAIVER = {"check": "coverage.line", "module": "svc", "lane": "candidate", "reason": "flaky runner",
          "approver": "lead@example.com", "created": "2020-01-01T00:00:00.000000Z", "expires": "2021-01-01T00:00:00.000000Z"}


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> SignedProject:
    """One signed allow decision; tests that change the project get their own."""
    return signed_project(tmp_path_factory.mktemp("signed"))


def _engine(tmp: Path) -> OpaCliEngine:
    return OpaCliEngine(OpaBinary(path=OPA, cache_dir=tmp / "opa", timeout_s=20))


def _resign(project: SignedProject, record: dict[str, Any]) -> None:
    """Write an edited record with a fresh id and sign it with the project key (a signer's mistake)."""
    body = {k: v for k, v in record.items() if k != "decision_id"}
    project.decision.write_text(json.dumps({"decision_id": digest(body), **body}), encoding="utf-8")
    signed = project.cli("sign", project.decision, "--key", project.private_key)
    assert signed.returncode == 0, signed.stderr


def _replay(project: SignedProject, *extra: str | Path) -> Any:
    return project.cli("verify", project.decision, "--key", project.public_key, "--replay", *extra)


def test_eval_sign_writes_the_stored_decision_and_its_replay_is_identical(signed: SignedProject) -> None:
    record = signed.record()
    stored = open_store(str(signed.root / "store.db")).get_decision(record["decision_id"])
    assert stored is not None and stored.record == record
    result = _replay(signed)
    assert result.returncode == 0, result.stderr
    assert "verified decision attestation: allow for lane candidate" in result.stdout
    assert f"replayed: identical (allow, 1 checks, input {record['input_digest']})" in result.stdout
    assert "1 documents matched their recorded digests" in result.stdout


def test_eval_sign_options(tmp_path: Path, signed: SignedProject) -> None:
    artifact = "sha256:" + "cd" * 32
    out = tmp_path / "signed"
    result = signed.cli("eval", "-m", "svc", "--sign", "--key", signed.private_key, "--vsa",
                        "--subject-digest", artifact, "--sign-dir", out, "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["allow"] is True  # signing notes stay off stdout
    names = sorted(p.name for p in out.iterdir())
    assert names == ["svc.candidate.decision.json", "svc.candidate.decision.sigstore.json",
                     "svc.candidate.decision.vsa.sigstore.json"]
    vsa = signed.cli("verify", out / names[0], "--key", signed.public_key, "--bundle", out / names[2])
    assert vsa.returncode == 0, vsa.stderr
    assert f"subject:  svc {artifact}" in vsa.stdout and "verified vsa attestation" in vsa.stdout
    no_sign = signed.cli("eval", "-m", "svc", "--key", signed.private_key)
    assert no_sign.returncode == 2 and "need --sign" in no_sign.stderr


def test_missing_passphrase_is_an_error_not_a_verdict(signed: SignedProject) -> None:
    result = run_cli("eval", "-m", "svc", "--sign", "--key", signed.private_key, cwd=signed.root)
    assert result.returncode == 2
    assert "no key passphrase: set READYPOLICY_KEY_PASSWORD" in result.stderr


def test_replay_uses_the_recorded_evidence_not_the_latest(tmp_path: Path) -> None:
    project = signed_project(tmp_path)
    newer = coverage_json(tmp_path / "newer.json", covered=40, total=100)
    assert project.cli("ingest", newer, "-m", "svc", "-r", "r1").returncode == 0
    assert project.cli("eval", "-m", "svc", "--no-record").returncode == 1  # the latest evidence now fails
    result = _replay(project)
    assert result.returncode == 0, result.stderr
    assert "replayed: identical (allow" in result.stdout


def test_missing_or_altered_evidence_is_named(tmp_path: Path) -> None:
    project = signed_project(tmp_path)
    entry = project.record()["evidence"][0]
    db = sqlite3.connect(project.root / "store.db")
    db.execute("DROP TRIGGER evidence_immutable")
    db.execute("UPDATE evidence SET document = json_set(document, '$.data.line_percent', 99.0)")
    db.commit()
    altered = _replay(project)
    assert altered.returncode == 2
    assert f"evidence coverage/default {entry['digest']} was altered" in altered.stderr
    assert "its document now hashes to sha256:" in altered.stderr
    db.execute("DELETE FROM evidence")
    db.commit()
    db.close()
    missing = _replay(project)
    assert missing.returncode == 2
    assert f"evidence coverage/default {entry['digest']} named by the decision is not in" in missing.stderr


def test_the_recorded_policy_must_be_found_by_digest(tmp_path: Path) -> None:
    project = signed_project(tmp_path)
    recorded = project.record()["policy"]["digest"]
    pack_dir = project.root / "policies" / "packs" / "mini"
    original = tmp_path / "original.tar.gz"
    original.write_bytes(bundle_bytes(load_pack(pack_dir)))
    rego = pack_dir / "candidate" / "candidate.rego"
    rego.write_text(rego.read_text() + "\n# edited after the decision\n", encoding="utf-8")

    gone = _replay(project)
    assert gone.returncode == 2
    assert f"policy digest {recorded} not available" in gone.stderr
    assert "source tree of pack 'mini' has sha256:" in gone.stderr

    explicit = _replay(project, "--policy-bundle", original)
    assert explicit.returncode == 0, explicit.stderr

    other = tmp_path / "other.tar.gz"
    other.write_bytes(bundle_bytes(load_pack(pack_dir)))
    wrong = _replay(project, "--policy-bundle", other)
    assert wrong.returncode == 2 and f"{other} has {load_pack(pack_dir).digest}" in wrong.stderr

    (project.root / "bundles").mkdir()
    original.rename(project.root / "bundles" / bundle_file_name("mini", project.record()["policy"]["revision"]))
    built = _replay(project)
    assert built.returncode == 0, built.stderr


def test_a_record_that_does_not_follow_from_its_inputs_names_the_first_difference(tmp_path: Path) -> None:
    project = signed_project(tmp_path)
    record = project.record()
    flipped = {**record, "allow": False, "checks": [{**record["checks"][0], "status": "fail"}]}
    _resign(project, flipped)
    assert project.cli("verify", project.decision, "--key", project.public_key).returncode == 0
    result = _replay(project)
    assert result.returncode == 2
    assert f"replay of {record_id(flipped)} differs at checks[0].status: recorded 'fail', replayed 'pass'" in result.stderr

    _resign(project, {**record, "input_digest": "sha256:" + "0" * 64})
    input_changed = _replay(project)
    assert input_changed.returncode == 2 and "differs at input_digest: recorded 'sha256:0000" in input_changed.stderr


def test_recorded_waivers_are_replayed_after_the_waiver_file_is_gone(tmp_path: Path) -> None:
    waivers = json.dumps({"waivers": [{**WAIVER, "expires": "2200-01-01T00:00:00Z"}]})  # JSON is YAML
    project = signed_project(tmp_path, covered=50, pack="waivable", waivers=waivers)
    record = project.record()
    assert record["allow"] is True and record["checks"][0]["status"] == "waived"
    (project.root / "waivers.yaml").unlink()
    result = _replay(project)
    assert result.returncode == 0, result.stderr


def test_replay_decides_at_the_recorded_time(tmp_path: Path) -> None:
    """A waiver that expired since the decision still applies on replay: `now` is `evaluated_at`."""
    project = make_project(tmp_path)
    write_waivable_pack(project)
    report = coverage_json(tmp_path / "c.json", covered=50, total=100)
    assert run_cli("ingest", report, "-m", "svc", "-r", "r1", cwd=project).returncode == 0
    store = open_store(str(project / "store.db"))
    policy = load_pack(project / "policies" / "packs" / "waivable")
    engine = _engine(tmp_path)
    evidence = tuple(store.latest_evidence("svc", "r1"))
    [made] = decide(engine=engine, policy=policy, cache_dir=tmp_path / "cache", lane="candidate",
                    batch=[(Subject("svc", "r1"), evidence)], now="2020-06-01T00:00:00.000000Z", waivers=[WAIVER])
    assert made.record["checks"][0]["status"] == "waived"
    assert check_replay(replay_decision(made.record, store, policy, engine, tmp_path / "cache"))

    # The same record claiming a later time (input digest made consistent): the waiver has expired by then.
    at = "2022-06-01T00:00:00.000000Z"
    later = {**made.record, "evaluated_at": at,
             "input_digest": digest(build_input("svc", "r1", "candidate", evidence, at, [WAIVER]))}
    result = replay_decision(later, store, policy, engine, tmp_path / "cache")
    assert result.differences == ("checks[0].status", "checks[0].waiver", "allow", "summary.fail", "summary.waived")
    with pytest.raises(ReplayError, match=r"differs at checks\[0\]\.status: recorded 'waived', replayed 'fail'"):
        check_replay(result)


def test_another_engine_version_is_a_warning_not_a_difference(tmp_path: Path, signed: SignedProject) -> None:
    store = open_store(str(signed.root / "store.db"))
    policy = load_pack(signed.root / "policies" / "packs" / "mini")
    older = {**signed.record(), "engine": {"name": "opa", "version": "0.70.0"}}
    result = replay_decision(older, store, policy, _engine(tmp_path), tmp_path / "cache")
    assert result.differences == ()
    assert result.warnings == ("decision was made with opa 0.70.0, replayed with opa 1.22.2",)
    with pytest.raises(ReplayError, match=r"policy digest .* not available"):
        replay_decision(older, store, replace(policy, files={**policy.files, "mini/x.rego": b"package mini.x\n"}),
                        _engine(tmp_path), tmp_path / "cache")
