"""Audit archives, the audit chain commands, checkpoints, waiver entries and retention."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import json
import shutil
import sqlite3
import tarfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from readypolicy.audit.export import deterministic_targz
from readypolicy.audit.prune import parse_age, prune_evidence
from readypolicy.audit.trail import AuditError
from readypolicy.canonical import digest, parse_rfc3339, rfc3339, utc_now
from readypolicy.policy.bundle_read import read_members
from readypolicy.policy.interface import PolicyError
from readypolicy.store.chain import entry_hash
from readypolicy.store.interface import DecisionRow, Store
from signed_project import PASSWORD, SignedProject, signed_project
from store_workers import make_record
from support import OPA, coverage_json, run_cli


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> SignedProject:
    """One signed decision, plus two more modules ingested so the chain has five entries."""
    project = signed_project(tmp_path_factory.mktemp("audit"))
    for module in ("api", "web"):
        report = coverage_json(project.root / f"{module}.json", covered=80, total=100)
        assert project.cli("ingest", report, "-m", module, "-r", "r1").returncode == 0
    return project


@pytest.fixture
def project(tmp_path: Path, signed: SignedProject) -> SignedProject:
    """A private copy of the signed project, for tests that tamper with it."""
    root = tmp_path / "copy"
    shutil.copytree(signed.root, root)
    return dataclasses.replace(
        signed, root=root, private_key=root / "team.key", public_key=root / "team.pub",
        decision=root / signed.decision.relative_to(signed.root), bundle=root / signed.bundle.relative_to(signed.root),
    )


@pytest.fixture(scope="module")
def archive(signed: SignedProject) -> Path:
    out = signed.root / "audit.tar.gz"
    result = signed.cli("audit", "export", "--decision", signed.record()["decision_id"][:19], "-o", out,
                        "--key", signed.private_key)
    assert result.returncode == 0, result.stderr
    return out


def _auditor(tmp: Path, archive: Path, public_key: Path, *extra: str) -> Any:
    """`audit verify` from an empty directory: no project, no store, only the archive, a key and OPA."""
    work = tmp / "auditor"
    work.mkdir(exist_ok=True)
    return run_cli("audit", "verify", archive, "--key", public_key, *extra, cwd=work, env={"READYPOLICY_OPA": str(OPA)})


def _members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}  # type: ignore[union-attr]


def _db(project: SignedProject, *drop: str) -> sqlite3.Connection:
    db = sqlite3.connect(project.root / "store.db")
    for trigger in drop:
        db.execute(f"DROP TRIGGER {trigger}")
    return db


# --- audit archives --------------------------------------------------------------------------------


def test_export_packs_a_reproducible_self_contained_archive(signed: SignedProject, archive: Path) -> None:
    record = signed.record()
    again = signed.root / "again.tar.gz"
    assert signed.cli("audit", "export", "--decision", record["decision_id"], "-o", again,
                      "--key", signed.private_key).returncode == 0
    members = _members(archive)
    # Every member but the manifest's (randomized ECDSA) signature is reproducible.
    unsigned = {name: data for name, data in members.items() if name != "manifest.sigstore.json"}
    assert {name: data for name, data in _members(again).items() if name != "manifest.sigstore.json"} == unsigned
    evidence = record["evidence"][0]
    hex_digest = evidence["digest"].removeprefix("sha256:")
    assert sorted(members) == sorted([
        "manifest.json", "manifest.sigstore.json", "decision.json", "decision.sigstore.json", "evidence/index.json",
        "artifacts.sha256",
        f"evidence/{hex_digest}.json", "policy/mini-0.1.0.tar.gz",
    ])
    assert hashlib.sha256(members[f"evidence/{hex_digest}.json"]).hexdigest() == hex_digest
    assert members["artifacts.sha256"].decode().startswith(evidence["raw_sha256"].removeprefix("sha256:") + "  ")
    assert json.loads(members["decision.json"]) == record
    assert json.loads(members["decision.sigstore.json"]) == json.loads(signed.bundle.read_text())
    with tarfile.open(archive, "r:gz") as tar:
        assert {(m.mtime, m.uid, m.gid, m.mode) for m in tar} == {(0, 0, 0, 0o644)}


def test_auditor_verifies_and_replays_from_the_archive_alone(tmp_path: Path, signed: SignedProject,
                                                              archive: Path) -> None:
    result = _auditor(tmp_path, archive, signed.public_key)
    assert result.returncode == 0, result.stderr
    assert "verified decision attestation: allow for lane candidate" in result.stdout
    assert "replayed: identical (allow, 1 checks" in result.stdout
    assert not (tmp_path / "auditor" / "store.db").exists()


def test_archive_with_another_key_or_edited_content_fails(tmp_path: Path, signed: SignedProject, archive: Path) -> None:
    other = run_cli("keygen", "--prefix", "other", cwd=tmp_path, env=PASSWORD)
    assert other.returncode == 0, other.stderr
    wrong_key = _auditor(tmp_path, archive, tmp_path / "other.pub")
    assert wrong_key.returncode == 2 and "signed by the key with hint" in wrong_key.stderr

    members = _members(archive)
    evidence_name = f"evidence/{signed.record()['evidence'][0]['digest'].removeprefix('sha256:')}.json"
    document = json.loads(members[evidence_name])
    document["data"]["line_percent"] = 10.0
    edited = tmp_path / "edited-evidence.tar.gz"
    edited.write_bytes(deterministic_targz({**members, evidence_name: json.dumps(document).encode()}))
    result = _auditor(tmp_path, edited, signed.public_key)
    assert result.returncode == 2 and f"{evidence_name}: evidence document was edited" in result.stderr

    decision = json.loads(members["decision.json"])
    decision["allow"] = False
    edited.write_bytes(deterministic_targz({**members, "decision.json": json.dumps(decision).encode()}))
    result = _auditor(tmp_path, edited, signed.public_key)
    assert result.returncode == 2 and "differs from the signed decision at allow" in result.stderr

    edited.write_bytes(deterministic_targz({**members, "notes.txt": b"hello"}))
    result = _auditor(tmp_path, edited, signed.public_key)
    assert result.returncode == 2 and "unexpected member 'notes.txt'" in result.stderr


def test_export_refuses_a_bundle_of_another_decision(signed: SignedProject, tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    record = signed.record()
    body = {k: v for k, v in {**record, "lane": "integration"}.items() if k != "decision_id"}
    other.write_text(json.dumps({"decision_id": digest(body), **body}), encoding="utf-8")
    assert signed.cli("sign", other, "--key", signed.private_key).returncode == 0
    result = signed.cli("audit", "export", "--decision", record["decision_id"], "-o", tmp_path / "x.tar.gz",
                        "--bundle", tmp_path / "other.sigstore.json", "--key", signed.private_key)
    assert result.returncode == 2
    assert f"signs {digest(body)}, not decision {record['decision_id']}" in result.stderr


def _unsafe(tmp: Path, archive: Path, info: tarfile.TarInfo, data: bytes = b"") -> Path:
    """The valid archive with one more member appended."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, content in sorted(_members(archive).items()):
            member = tarfile.TarInfo(name)
            member.size = len(content)
            tar.addfile(member, io.BytesIO(content))
        tar.addfile(info, io.BytesIO(data) if data else None)
    out = tmp / "unsafe.tar.gz"
    out.write_bytes(gzip.compress(raw.getvalue()))
    return out


def _member(name: str, kind: bytes = tarfile.REGTYPE, size: int = 0, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.linkname = kind, size, link
    return info


@pytest.mark.parametrize(("info", "size", "message"), [
    (_member("evidence/../../escape.json", size=2), 2, "member 'evidence/../../escape.json' escapes the bundle with '..'"),
    (_member("/etc/cron.d/evil", size=2), 2, "member '/etc/cron.d/evil' has an absolute path"),
    (_member("decision-link.json", tarfile.SYMTYPE, link="/etc/passwd"), 0, "member 'decision-link.json' is a link"),
    (_member("hard.json", tarfile.LNKTYPE, link="decision.json"), 0, "member 'hard.json' is a link"),
    (_member("huge.bin", size=16 * 1024 * 1024 + 1), 16 * 1024 * 1024 + 1,
     f"member 'huge.bin' is {16 * 1024 * 1024 + 1} bytes, over the {16 * 1024 * 1024} limit"),
])
def test_unsafe_archive_members_are_refused_before_anything_is_written(
    tmp_path: Path, signed: SignedProject, archive: Path, info: tarfile.TarInfo, size: int, message: str,
) -> None:
    path = _unsafe(tmp_path, archive, info, b"\0" * size)
    result = _auditor(tmp_path, path, signed.public_key)
    assert result.returncode == 2
    assert f"readypolicy: error: {path}: {message}" in result.stderr
    assert not (tmp_path / "escape.json").exists()


def test_reading_members_in_memory_keeps_the_opa_root_slash_only_for_bundles(tmp_path: Path) -> None:
    path = tmp_path / "rooted.tar.gz"
    path.write_bytes(deterministic_targz({"/x.rego": b"package x\n"}))
    assert read_members(path) == {"x.rego": b"package x\n"}
    with pytest.raises(PolicyError, match="has an absolute path"):
        read_members(path, root_slash=False)


# --- the audit chain -------------------------------------------------------------------------------


def test_log_shows_and_filters_the_chain(signed: SignedProject) -> None:
    table = signed.cli("audit", "log")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["SEQ", "AT", "ACTOR", "ACTION", "MODULE", "DETAILS"]
    assert [line.split()[3] for line in lines[1:]] == ["ingest", "decision", "ingest", "ingest"]
    entries = json.loads(signed.cli("audit", "log", "--format", "json", "-m", "svc").stdout)
    assert [(e["seq"], e["action"]) for e in entries] == [(1, "ingest"), (2, "decision")]
    assert entries[1]["details"]["decision_id"] == signed.record()["decision_id"]
    future = signed.cli("audit", "log", "--format", "json", "--since", "2200-01-01")
    assert json.loads(future.stdout) == []
    bad = signed.cli("audit", "log", "--since", "last tuesday")
    assert bad.returncode == 2 and "--since 'last tuesday' is not a date" in bad.stderr


def test_verify_chain_passes_on_an_untouched_store(signed: SignedProject) -> None:
    result = signed.cli("audit", "verify-chain")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("audit chain intact: 4 entries, head 4 sha256:")


def test_an_edited_entry_is_named(project: SignedProject) -> None:
    db = _db(project, "audit_immutable")
    db.execute("UPDATE audit SET actor = 'someone-else' WHERE seq = 3")
    db.commit()
    result = project.cli("audit", "verify-chain")
    assert result.returncode == 2
    assert "audit chain broken at entry 3: content does not match its hash (entry was edited)" in result.stderr


def test_a_deleted_entry_is_named(project: SignedProject) -> None:
    db = _db(project, "audit_append_only")
    db.execute("DELETE FROM audit WHERE seq = 2")
    db.commit()
    result = project.cli("audit", "verify-chain")
    assert result.returncode == 2
    assert "audit chain broken at entry 3: expected sequence number 2 (deleted or reordered)" in result.stderr


def test_two_reordered_entries_are_named(project: SignedProject) -> None:
    db = _db(project, "audit_immutable")
    db.execute("UPDATE audit SET seq = -1 WHERE seq = 2")
    db.execute("UPDATE audit SET seq = 2 WHERE seq = 3")
    db.execute("UPDATE audit SET seq = 3 WHERE seq = -1")
    db.commit()
    result = project.cli("audit", "verify-chain")
    assert result.returncode == 2
    assert "audit chain broken at entry 2: previous-hash link broken" in result.stderr


# --- checkpoints ---------------------------------------------------------------------------------


def _checkpoint(project: SignedProject) -> Path:
    made = project.cli("audit", "checkpoint", "--key", project.private_key)
    assert made.returncode == 0, made.stderr
    path = project.root / ".readypolicy" / "checkpoints" / "audit-4.sigstore.json"
    assert made.stdout.startswith("checkpoint of entry 4 (sha256:") and made.stdout.strip().endswith(str(path))
    return path


def _verify_checkpoint(project: SignedProject, path: Path, key: Path | None = None) -> Any:
    return project.cli("audit", "checkpoint", "verify", path, "--key", key or project.public_key)


def test_checkpoint_signs_the_head_and_still_verifies_after_appends(project: SignedProject) -> None:
    path = _checkpoint(project)
    bundle = json.loads(path.read_text())
    assert bundle["verificationMaterial"]["publicKey"]["hint"]
    report = coverage_json(project.root / "more.json", covered=60, total=100)
    assert project.cli("ingest", report, "-m", "db", "-r", "r1").returncode == 0
    result = _verify_checkpoint(project, path)
    assert result.returncode == 0, result.stderr
    assert "checkpoint verified: entry 4 of the chain still has the signed hash sha256:" in result.stdout
    assert "since then:   1 entries" in result.stdout


def test_checkpoint_detects_a_consistent_rewrite_and_a_truncation(project: SignedProject, tmp_path: Path) -> None:
    path = _checkpoint(project)
    db = _db(project, "audit_immutable", "audit_append_only")
    rows = db.execute("SELECT seq, at, actor, action, module, details FROM audit ORDER BY seq").fetchall()
    prev = "sha256:" + "0" * 64
    for seq, at, actor, action, module, details in rows:
        if seq == 2:
            actor = "rewriter"
        new = entry_hash(seq, prev, at, actor, action, module, json.loads(details))
        db.execute("UPDATE audit SET prev_hash = ?, entry_hash = ?, actor = ? WHERE seq = ?", (prev, new, actor, seq))
        prev = new
    db.commit()
    assert project.cli("audit", "verify-chain").returncode == 0  # the chain alone cannot tell
    rewritten = _verify_checkpoint(project, path)
    assert rewritten.returncode == 2
    assert "entry 4 of sqlite:///" in rewritten.stderr and "(the chain was rewritten up to that entry)" in rewritten.stderr

    db.execute("DELETE FROM audit WHERE seq = 4")
    db.commit()
    truncated = _verify_checkpoint(project, path)
    assert truncated.returncode == 2
    assert "checkpoint is of entry 4, but" in truncated.stderr
    assert "has only 3 entries (the chain was truncated)" in truncated.stderr

    assert run_cli("keygen", "--prefix", "other", cwd=tmp_path, env=PASSWORD).returncode == 0
    other = _verify_checkpoint(project, path, tmp_path / "other.pub")
    assert other.returncode == 2 and "signed by the key with hint" in other.stderr


def test_checkpoint_refuses_a_broken_chain(project: SignedProject) -> None:
    db = _db(project, "audit_immutable")
    db.execute("UPDATE audit SET action = 'nothing' WHERE seq = 1")
    db.commit()
    result = project.cli("audit", "checkpoint", "--key", project.private_key)
    assert result.returncode == 2 and "audit chain broken at entry 1" in result.stderr


# --- waivers and retention -------------------------------------------------------------------------


def test_a_waived_check_is_logged_with_its_approver(tmp_path: Path) -> None:
    waivers = json.dumps({"waivers": [{"check": "coverage.line", "module": "svc", "lane": "candidate",
                                       "reason": "flaky runner", "approver": "lead@example.com",
                                       "created": "2026-01-01T00:00:00Z", "expires": "2200-01-01T00:00:00Z"}]})
    project = signed_project(tmp_path, covered=50, pack="waivable", waivers=waivers)
    entries = json.loads(project.cli("audit", "log", "--format", "json").stdout)
    assert [e["action"] for e in entries] == ["ingest", "decision", "waiver"]
    assert entries[2]["module"] == "svc"
    assert entries[2]["details"] == {
        "check": "coverage.line", "lane": "candidate", "approver": "lead@example.com",
        "expires": "2200-01-01T00:00:00.000000Z", "reason": "flaky runner",
        "decision_id": project.record()["decision_id"],
    }


def _decision_using(record_digests: list[str], n: int) -> DecisionRow:
    record = {"subject": {"module": "api", "revision": "r1"}, "lane": "candidate", "n": n,
              "evidence": [{"kind": "tests", "scope": "unit", "digest": d} for d in record_digests]}
    return DecisionRow(decision_id=digest(record), module="api", revision="r1", lane="candidate", allow=True,
                       policy_digest=digest({}), evaluated_at="2025-01-01T00:00:00.000000Z", record=record)


def test_prune_removes_only_old_unreferenced_evidence(store: Store) -> None:
    now = utc_now()
    old = rfc3339(now - timedelta(days=120))
    referenced, unreferenced, recent = (
        dataclasses.replace(make_record("api", 1), ingested_at=old),
        dataclasses.replace(make_record("api", 2), ingested_at=old),
        make_record("api", 3),
    )
    store.put_evidence([referenced, unreferenced, recent], "ci")
    store.put_decision(_decision_using([referenced.digest], 1), "ci")

    dry = prune_evidence(store, now, parse_age("90d"), "ops", dry_run=True)
    assert (dry.examined, dry.referenced, dry.recent, dry.digests, dry.removed) == (3, 1, 1, (unreferenced.digest,), 0)
    assert len(store.list_evidence("api")) == 3

    done = prune_evidence(store, now, parse_age("90d"), "ops", dry_run=False)
    assert done.removed == 1 and parse_rfc3339(done.cutoff) == now - timedelta(days=90)
    assert [r.digest for r in store.list_evidence("api")] == [referenced.digest, recent.digest]
    last = list(store.audit_entries())[-1]
    assert (last.action, last.actor, last.details["digests"]) == ("prune", "ops", [unreferenced.digest])
    assert prune_evidence(store, now, parse_age("90d"), "ops", dry_run=False).removed == 0


def test_prune_age_must_have_a_unit() -> None:
    assert parse_age("12h") == timedelta(hours=12) and parse_age("2w") == timedelta(days=14)
    with pytest.raises(AuditError, match="expected a number and a unit"):
        parse_age("90")


def test_store_prune_command_keeps_decided_evidence(project: SignedProject) -> None:
    dry = project.cli("store", "prune", "--older-than", "0h", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would remove 2 of 3 evidence documents" in dry.stdout and "kept 1 referenced by decisions" in dry.stdout
    done = project.cli("store", "prune", "--older-than", "0h")
    assert "removed 2 of 3" in done.stdout
    assert project.cli("audit", "verify-chain").returncode == 0
    assert _replay_ok(project)


def _replay_ok(project: SignedProject) -> bool:
    result = project.cli("verify", project.decision, "--key", project.public_key, "--replay")
    return result.returncode == 0 and "replayed: identical" in result.stdout
