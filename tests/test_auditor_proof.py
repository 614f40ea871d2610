"""The auditor's proof: what a valid signature is taken to mean, with the real cosign and OPA.

Each test is one attack an auditor (or a promoter) could fall for: a signed decision presented for
another lane or an older revision, a verified deny, a decision that only public tools check.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import tarfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from readypolicy.audit.archive_chain import check_chain
from readypolicy.audit.checkpoint import checkpoint_statement
from readypolicy.audit.trail import AuditError
from readypolicy.canonical import digest
from readypolicy.signing import key_signer, key_verifier, write_bundle
from readypolicy.store.chain import entry_hash
from readypolicy.store.open import open_store
from readypolicy.tarballs import deterministic_targz
from signed_project import PASSWORD, SignedProject, signed_project
from support import REPO, coverage_json, make_project, run_cli

COSIGN = REPO / ".tools" / "bin" / "cosign"
EMPTY_TRUSTED_ROOT = {"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1"}
RECIPE_MARK = "<!-- public-tools-recipe -->"


def require_cosign() -> Path:
    """The project's cosign (scripts/install-cosign); CI must have it, locally a missing one skips."""
    if COSIGN.is_file():
        return COSIGN
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("cosign is required in CI: scripts/install-cosign must run before the tests")
    pytest.skip("cosign not installed; run scripts/install-cosign")


@pytest.fixture(scope="module")
def allowed(tmp_path_factory: pytest.TempPathFactory) -> SignedProject:
    """svc@r1, candidate lane, an allow signed with a key."""
    return signed_project(tmp_path_factory.mktemp("allowed"), covered=90)


@pytest.fixture(scope="module")
def denied(tmp_path_factory: pytest.TempPathFactory) -> SignedProject:
    """svc@r1, candidate lane, a deny signed with a key."""
    return signed_project(tmp_path_factory.mktemp("denied"), covered=40)


def _verify(project: SignedProject, *extra: str | Path) -> subprocess.CompletedProcess[str]:
    return project.cli("verify", project.decision, "--key", project.public_key, *extra)


# --- 1. verify binds what is promoted ---------------------------------------------------------------


def test_verify_refuses_decision_for_another_lane(allowed: SignedProject, tmp_path: Path) -> None:
    # The attack in the issue: a candidate decision renamed as the production one still has a valid signature.
    presented = tmp_path / "svc.production.decision.json"
    shutil.copyfile(allowed.decision, presented)
    shutil.copyfile(allowed.bundle, tmp_path / "svc.production.decision.sigstore.json")
    result = allowed.cli("verify", presented, "--key", allowed.public_key, "--module", "svc", "--lane", "production")
    assert result.returncode == 1, result.stderr
    assert "verified decision attestation: allow for lane candidate" in result.stdout
    assert "readypolicy: not as expected: lane is 'candidate' in the signed decision, expected 'production'" in result.stderr
    assert "module" not in result.stderr.replace("readypolicy", "")  # the module matched: only the lane is named


def test_verify_refuses_decision_for_another_module_and_pack(allowed: SignedProject) -> None:
    result = _verify(allowed, "--module", "ledger", "--pack", "readiness")
    assert result.returncode == 1
    assert "module is 'svc' in the signed decision, expected 'ledger'" in result.stderr
    assert "pack is 'mini' in the signed decision, expected 'readiness'" in result.stderr


def test_verify_refuses_older_revision(allowed: SignedProject) -> None:
    # r2 (NOT READY) is being promoted; the READY decision of r1 must not stand in for it.
    result = _verify(allowed, "--module", "svc", "--lane", "candidate", "--revision", "r2")
    assert result.returncode == 1
    assert "revision is 'r1' in the signed decision, expected 'r2'" in result.stderr


def test_verify_passes_when_everything_is_as_expected(allowed: SignedProject) -> None:
    result = _verify(allowed, "--module", "svc", "--lane", "candidate", "--revision", "r1", "--pack", "mini",
                     "--require-allow")
    assert result.returncode == 0, result.stderr
    assert "  waived:   none" in result.stdout


def test_require_allow_rejects_verified_deny(denied: SignedProject) -> None:
    plain = _verify(denied)
    assert plain.returncode == 0, plain.stderr  # a deny is a valid signed fact
    assert "verified decision attestation: deny for lane candidate" in plain.stdout
    required = _verify(denied, "--require-allow", "--lane", "candidate")
    assert required.returncode == 1
    assert "the signed decision is a deny" in required.stderr


def test_a_broken_signature_is_still_exit_2_not_1(allowed: SignedProject, tmp_path: Path) -> None:
    record = allowed.record()
    record["subject"]["revision"] = "r2"
    edited = tmp_path / "svc.candidate.decision.json"
    edited.write_text(json.dumps(record), encoding="utf-8")
    result = allowed.cli("verify", edited, "--bundle", allowed.bundle, "--key", allowed.public_key,
                         "--revision", "r2")
    assert result.returncode == 2
    assert "subject.revision" in result.stderr


def test_verify_and_the_vsa_list_the_waivers_a_decision_passed_by(tmp_path: Path) -> None:
    waiver = {"check": "coverage.line", "module": "svc", "lane": "candidate", "reason": "flaky runner",
              "approver": "lead@example.com", "created": "2026-01-01T00:00:00Z", "expires": "2200-01-01T00:00:00Z"}
    project = signed_project(tmp_path, covered=50, pack="waivable", waivers=json.dumps({"waivers": [waiver]}))
    assert project.record()["allow"] is True  # allowed only because of the waiver
    result = project.cli("verify", project.decision, "--key", project.public_key, "--require-allow")
    assert result.returncode == 0, result.stderr
    assert ("  waived:   coverage.line by lead@example.com until 2200-01-01T00:00:00.000000Z (flaky runner)"
            in result.stdout)
    signed = project.cli("sign", project.decision, "--key", project.private_key, "--vsa", "-o", tmp_path / "d.sigstore.json")
    assert signed.returncode == 0, signed.stderr
    envelope = json.loads((tmp_path / "d.vsa.sigstore.json").read_text())["dsseEnvelope"]
    vsa = json.loads(base64.b64decode(envelope["payload"]))["predicate"]
    assert [(w["check"], w["approver"]) for w in vsa["readypolicy"]["waived"]] == [("coverage.line", "lead@example.com")]


# --- 5. public tools suffice ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A decision made from a built policy bundle and signed with a key: what the recipe checks."""
    tmp = tmp_path_factory.mktemp("bundled")
    project = make_project(tmp)
    assert run_cli("keygen", "--prefix", "team", cwd=project, env=PASSWORD).returncode == 0
    built = run_cli("policy", "build", "--pack", "mini", cwd=project)
    assert built.returncode == 0, built.stderr
    bundle = project / re.search(r"^bundle\s+(\S+)", built.stdout, re.MULTILINE).group(1)  # type: ignore[union-attr]
    report = coverage_json(tmp / "coverage.json", covered=90, total=100)
    assert run_cli("ingest", report, "-m", "svc", "-r", "r1", cwd=project).returncode == 0
    evaluated = run_cli("eval", "-m", "svc", "-r", "r1", "--bundle", bundle, "--sign", "--key", "team.key",
                        cwd=project, env=PASSWORD)
    assert evaluated.returncode == 0, evaluated.stderr
    decisions = project / ".readypolicy" / "decisions"
    (project / "trusted_root.json").write_text(json.dumps(EMPTY_TRUSTED_ROOT), encoding="utf-8")
    return {
        "DECISION": decisions / "svc.candidate.decision.json",
        "BUNDLE": decisions / "svc.candidate.decision.sigstore.json",
        "KEY": project / "team.pub",
        "TRUSTED_ROOT": project / "trusted_root.json",
        "POLICY_BUNDLE": bundle,
    }


def test_decision_file_is_its_canonical_bytes_and_the_signed_subject(bundled: dict[str, Path]) -> None:
    data = bundled["DECISION"].read_bytes()
    record = json.loads(data)
    # Canonical form computed independently of readypolicy's canonicalizer: for this record (ASCII keys,
    # integers and strings only) sorted, separator-free json.dumps is RFC 8785.
    assert data == json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    envelope = json.loads(bundled["BUNDLE"].read_text())["dsseEnvelope"]
    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert statement["subject"][0]["digest"]["sha256"] == hashlib.sha256(data).hexdigest()


def _recipe() -> str:
    text = (REPO / "docs" / "audit.md").read_text(encoding="utf-8")
    after = text.split(RECIPE_MARK, 1)[1]
    match = re.match(r"\s*```bash\n(.*?)\n```", after, re.DOTALL)
    assert match is not None, "docs/audit.md: the recipe block after the marker is missing"
    return match.group(1)


def _run_recipe(tmp: Path, inputs: dict[str, Path], **expect: str) -> subprocess.CompletedProcess[str]:
    """Run the docs recipe with bash and a PATH of cosign, opa, jq and sha256sum only (no Python)."""
    require_cosign()
    tools = tmp / "tools"
    tools.mkdir(exist_ok=True)
    for name, found in (("cosign", COSIGN), ("opa", REPO / ".tools" / "bin" / "opa"),
                        ("jq", shutil.which("jq")), ("sha256sum", shutil.which("sha256sum"))):
        if found is None:
            pytest.fail(f"{name} is required for the public-tools recipe (scripts/install-jq)")
        link = tools / name
        if not link.exists():
            link.symlink_to(found)
    env = {"PATH": str(tools), "HOME": str(tmp), **{k: str(v) for k, v in inputs.items()},
           "EXPECT_MODULE": "svc", "EXPECT_LANE": "candidate", "EXPECT_REVISION": "r1", **expect}
    return subprocess.run([shutil.which("bash") or "/bin/bash", "-c", _recipe()], env=env, cwd=tmp,
                          capture_output=True, text=True, timeout=120, check=False)


def test_public_tools_recipe_verifies_a_decision(bundled: dict[str, Path], tmp_path: Path) -> None:
    result = _run_recipe(tmp_path, bundled)
    assert result.returncode == 0, result.stderr
    record = json.loads(bundled["DECISION"].read_text())
    assert result.stdout.strip() == f"verified: {record['decision_id']} allows svc@r1 for candidate"
    assert "Verified OK" in result.stderr


@pytest.mark.parametrize("expect", [{"EXPECT_LANE": "production"}, {"EXPECT_REVISION": "r2"}])
def test_public_tools_recipe_refuses_what_is_not_promoted(bundled: dict[str, Path], tmp_path: Path,
                                                          expect: dict[str, str]) -> None:
    assert _run_recipe(tmp_path, bundled, **expect).returncode != 0


def test_public_tools_recipe_refuses_an_edited_decision(bundled: dict[str, Path], tmp_path: Path) -> None:
    record: dict[str, Any] = json.loads(bundled["DECISION"].read_bytes())
    record["lane"] = "production"
    edited = tmp_path / "edited.json"
    edited.write_bytes(json.dumps(record, sort_keys=True, separators=(",", ":")).encode())
    result = _run_recipe(tmp_path, {**bundled, "DECISION": edited}, EXPECT_LANE="production")
    assert result.returncode != 0 and "Verified OK" not in result.stderr


def test_public_tools_recipe_refuses_another_policy_bundle(bundled: dict[str, Path], tmp_path: Path) -> None:
    other = tmp_path / "other.tar.gz"
    other.write_bytes(bundled["POLICY_BUNDLE"].read_bytes() + b"\0")
    assert _run_recipe(tmp_path, {**bundled, "POLICY_BUNDLE": other}).returncode != 0


# --- 2. an archive's signed manifest covers every member ---------------------------------------------


@pytest.fixture(scope="module")
def archive(allowed: SignedProject) -> Path:
    out = allowed.root / "audit.tar.gz"
    result = allowed.cli("audit", "export", "--decision", allowed.record()["decision_id"], "-o", out,
                         "--key", allowed.private_key)
    assert result.returncode == 0, result.stderr
    return out


def _members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}  # type: ignore[union-attr]


def _json_edit(data: bytes, edit: Any) -> bytes:
    value = json.loads(data)
    edit(value)
    return (json.dumps(value, indent=2, sort_keys=True) + "\n").encode()


def _flip_signature(data: bytes) -> bytes:
    def flip(bundle: dict[str, Any]) -> None:
        sig = bundle["dsseEnvelope"]["signatures"][0]["sig"]
        bundle["dsseEnvelope"]["signatures"][0]["sig"] = sig[:12] + ("A" if sig[12] != "A" else "B") + sig[13:]
    return _json_edit(data, flip)


def _evidence_member(members: dict[str, bytes]) -> str:
    return next(name for name in members if name.startswith("evidence/") and name != "evidence/index.json")


def _policy_member(members: dict[str, bytes]) -> str:
    return next(name for name in members if name.startswith("policy/"))


def _set(path: tuple[Any, ...], value: Any) -> Any:
    def edit(document: Any) -> None:
        for key in path[:-1]:
            document = document[key]
        document[path[-1]] = value
    return edit


# (member, how it is edited, what the error must say): every member of the archive, each named.
TAMPERS: list[tuple[str, Any, str]] = [
    ("manifest.json", lambda m, d: _json_edit(d, _set(("policy", "sha256"), "sha256:" + "0" * 64)),
     "manifest.json: field policy.sha256 differs from the signed manifest"),
    ("manifest.json", lambda m, d: _json_edit(d, _set(("index", 0, "source_path"), "/elsewhere/coverage.json")),
     "manifest.json: field index[0].source_path differs from the signed manifest"),
    ("manifest.sigstore.json", lambda m, d: _flip_signature(d), "manifest.sigstore.json: "),
    ("decision.json", lambda m, d: _json_edit(d, _set(("allow",), False)),
     "decision.json: differs from the signed decision at allow"),
    ("decision.sigstore.json", lambda m, d: _flip_signature(d), "DSSE signature does not verify"),
    ("evidence/index.json", lambda m, d: _json_edit(d, _set((0, "source_path"), "/elsewhere/coverage.json")),
     "evidence/index.json: entry sha256:"),
    ("evidence/index.json", lambda m, d: _json_edit(d, _set((0, "ingested_at"), "2020-01-01T00:00:00.000000Z")),
     "field ingested_at differs from the signed manifest.json"),
    ("evidence/index.json", lambda m, d: d.replace(b"  ", b"   "),
     "evidence/index.json: member was edited: its sha256 is sha256:"),
    ("artifacts.sha256", lambda m, d: d.replace(b"coverage.json", b"other.json"),
     "artifacts.sha256: line 1 is"),
    ("evidence", lambda m, d: _json_edit(d, _set(("data", "line_percent"), 10)),
     ": evidence document was edited: it hashes to sha256:"),
    ("policy", lambda m, d: d + b"\0",
     "member was edited: its sha256 is sha256:"),
]


@pytest.mark.parametrize(("member", "edit", "message"), TAMPERS,
                         ids=[f"{t[0]}-{i}" for i, t in enumerate(TAMPERS)])
def test_archive_side_file_edit_is_named(allowed: SignedProject, archive: Path, tmp_path: Path, member: str,
                                         edit: Any, message: str) -> None:
    members = _members(archive)
    name = {"evidence": _evidence_member(members), "policy": _policy_member(members)}.get(member, member)
    edited = tmp_path / "edited.tar.gz"
    edited.write_bytes(deterministic_targz({**members, name: edit(members, members[name])}))
    result = _auditor(tmp_path, edited, allowed.public_key)
    assert result.returncode == 2, result.stdout
    assert message in result.stderr, result.stderr
    if member not in ("decision.sigstore.json",):
        assert f"{name}:" in result.stderr or f"{name} " in result.stderr  # the member is named


@pytest.mark.parametrize("member", ["manifest.sigstore.json", "artifacts.sha256"])
def test_archive_missing_member_is_named(allowed: SignedProject, archive: Path, tmp_path: Path, member: str) -> None:
    members = _members(archive)
    del members[member]
    edited = tmp_path / "edited.tar.gz"
    edited.write_bytes(deterministic_targz(members))
    result = _auditor(tmp_path, edited, allowed.public_key)
    assert result.returncode == 2 and member in result.stderr, result.stderr


def test_archive_manifest_signed_by_another_key_is_refused(allowed: SignedProject, tmp_path: Path) -> None:
    assert run_cli("keygen", "--prefix", "other", cwd=tmp_path, env=PASSWORD).returncode == 0
    out = tmp_path / "other-signed.tar.gz"
    exported = allowed.cli("audit", "export", "--decision", allowed.record()["decision_id"], "-o", out,
                           "--key", tmp_path / "other.key")
    assert exported.returncode == 0, exported.stderr
    result = _auditor(tmp_path, out, allowed.public_key)
    assert result.returncode == 2 and "manifest.sigstore.json: " in result.stderr and "hint" in result.stderr


def test_untouched_archive_verifies_with_expectations(allowed: SignedProject, archive: Path, tmp_path: Path) -> None:
    result = _auditor(tmp_path, archive, allowed.public_key, "--lane", "candidate", "--require-allow")
    assert result.returncode == 0, result.stderr
    other = _auditor(tmp_path, archive, allowed.public_key, "--lane", "production")
    assert other.returncode == 1 and "lane is 'candidate' in the signed decision, expected 'production'" in other.stderr


def _auditor(tmp: Path, archive: Path, public_key: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """`audit verify` from an empty directory: no project, no store, only the archive, a key and OPA."""
    work = tmp / "auditor"
    work.mkdir(exist_ok=True)
    return run_cli("audit", "verify", archive, "--key", public_key, *extra, cwd=work,
                   env={"READYPOLICY_OPA": str(REPO / ".tools" / "bin" / "opa")})


# --- 3. the chain is anchored -----------------------------------------------------------------------


@pytest.fixture
def chained(tmp_path: Path, allowed: SignedProject) -> SignedProject:
    """A private copy of the allowed project with a signed checkpoint of its head (entry 2), then one more ingest."""
    root = tmp_path / "copy"
    shutil.copytree(allowed.root, root)
    project = dataclasses.replace(
        allowed, root=root, private_key=root / "team.key", public_key=root / "team.pub",
        decision=root / allowed.decision.relative_to(allowed.root), bundle=root / allowed.bundle.relative_to(allowed.root),
    )
    made = project.cli("audit", "checkpoint", "--key", project.private_key, "-o", root / "head.sigstore.json")
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("checkpoint of entry 2 ")
    report = coverage_json(root / "api.json", covered=80, total=100)
    assert project.cli("ingest", report, "-m", "api", "-r", "r1").returncode == 0
    return project


def _verify_chain(project: SignedProject, *extra: str | Path) -> subprocess.CompletedProcess[str]:
    return project.cli("audit", "verify-chain", *extra)


def _anchored(project: SignedProject) -> subprocess.CompletedProcess[str]:
    return _verify_chain(project, "--checkpoint", project.root / "head.sigstore.json", "--key", project.public_key)


def _db(project: SignedProject, *drop: str) -> sqlite3.Connection:
    db = sqlite3.connect(project.root / "store.db")
    for trigger in drop:
        db.execute(f"DROP TRIGGER {trigger}")
    return db


def _rehash_from(db: sqlite3.Connection, first: int) -> None:
    """Recompute prev/entry hashes from entry `first` on, as an attacker with the hash recipe would."""
    rows = db.execute("SELECT seq, at, actor, action, module, details, entry_hash FROM audit ORDER BY seq").fetchall()
    prev = "sha256:" + "0" * 64
    for seq, at, actor, action, module, details, stored in rows:
        if seq < first:
            prev = stored
            continue
        new = entry_hash(seq, prev, at, actor, action, module, json.loads(details))
        db.execute("UPDATE audit SET prev_hash = ?, entry_hash = ? WHERE seq = ?", (prev, new, seq))
        prev = new
    db.commit()


def test_untouched_chain_verifies_with_its_checkpoint(chained: SignedProject) -> None:
    result = _anchored(chained)
    assert result.returncode == 0, result.stderr
    assert "entry 2 still has the signed hash (1 entries since)" in result.stdout
    assert result.stdout.strip().endswith("audit chain intact: 3 entries, head 3 " + _head_hash(chained))


def _head_hash(project: SignedProject) -> str:
    return _db(project).execute("SELECT entry_hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()[0]


def test_truncation_after_checkpoint_is_caught(chained: SignedProject) -> None:
    # Drop every entry from the checkpointed decision on, and the rows they logged: a consistent older store.
    db = _db(chained, "audit_append_only", "decisions_append_only")
    db.execute("DELETE FROM audit WHERE seq >= 2")
    db.execute("DELETE FROM decisions")
    db.execute("DELETE FROM evidence WHERE module = 'api'")
    db.execute("DELETE FROM ingests WHERE module = 'api'")  # its ingest event too: else the event shows unlogged
    db.commit()
    assert _verify_chain(chained).returncode == 0  # the chain alone cannot tell
    result = _anchored(chained)
    assert result.returncode == 2
    assert "checkpoint is of entry 2, but" in result.stderr and "has only 1 entries (the chain was truncated)" in result.stderr


def test_truncating_entries_newer_than_the_checkpoint_leaves_their_rows_unlogged(chained: SignedProject) -> None:
    db = _db(chained, "audit_append_only")
    db.execute("DELETE FROM audit WHERE seq = 3")
    db.commit()
    result = _verify_chain(chained)
    assert result.returncode == 2
    assert "has no ingest entry in the audit chain" in result.stderr


def test_recomputed_appended_entry_is_caught(chained: SignedProject) -> None:
    # An entry appended by hand, hashes recomputed, claiming a decision that was never made: no row stands behind it.
    db = _db(chained)
    head_seq, head_hash = db.execute("SELECT seq, entry_hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    forged = "sha256:" + "ab" * 32
    details = {"decision_id": forged, "lane": "production", "allow": True, "policy_digest": "sha256:" + "0" * 64,
               "revision": "r1"}
    at = "2026-12-01T00:00:00.000000Z"
    new = entry_hash(head_seq + 1, head_hash, at, "ci", "decision", "svc", details)
    db.execute("INSERT INTO audit (seq, prev_hash, entry_hash, at, actor, action, module, details) VALUES "
               "(?, ?, ?, ?, ?, ?, ?, ?)", (head_seq + 1, head_hash, new, at, "ci", "decision", "svc", json.dumps(details)))
    db.commit()
    result = _verify_chain(chained)
    assert result.returncode == 2
    assert f"entry {head_seq + 1} logs decision {forged}, which is not in the store" in result.stderr


def test_recomputed_rewrite_of_the_checkpointed_head_is_caught(chained: SignedProject) -> None:
    # The decision entry (the checkpointed head) says another actor; every hash after it recomputed.
    db = _db(chained, "audit_immutable")
    db.execute("UPDATE audit SET actor = 'someone-else' WHERE seq = 2")
    _rehash_from(db, 2)
    assert _verify_chain(chained).returncode == 0  # the chain and the rows alone cannot tell
    result = _anchored(chained)
    assert result.returncode == 2 and "(the chain was rewritten up to that entry)" in result.stderr


def test_recomputed_entry_saying_another_outcome_is_caught(chained: SignedProject) -> None:
    db = _db(chained, "audit_immutable")
    (details,) = db.execute("SELECT details FROM audit WHERE seq = 2").fetchone()
    flipped = {**json.loads(details), "allow": False}
    db.execute("UPDATE audit SET details = ? WHERE seq = 2", (json.dumps(flipped),))
    _rehash_from(db, 2)
    result = _verify_chain(chained)
    assert result.returncode == 2
    assert "entry 2 says allow False of decision sha256:" in result.stderr and "the store row says True" in result.stderr


def test_decision_row_without_audit_entry_is_caught(chained: SignedProject) -> None:
    record = chained.record()
    body = {key: value for key, value in {**record, "evaluated_at": "2026-12-01T00:00:00.000000Z"}.items()
            if key != "decision_id"}
    inserted = {"decision_id": digest(body), **body}
    db = _db(chained)
    db.execute("INSERT INTO decisions (decision_id, module, revision, lane, allow, policy_digest, evaluated_at, record) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
               (inserted["decision_id"], "svc", "r1", "candidate", 1, record["policy"]["digest"],
                inserted["evaluated_at"], json.dumps(inserted)))
    db.commit()
    result = _verify_chain(chained)
    assert result.returncode == 2
    assert f"decision {inserted['decision_id']} has no decision entry in the audit chain" in result.stderr


def test_evidence_row_without_audit_entry_is_caught(chained: SignedProject) -> None:
    db = _db(chained)
    row = db.execute("SELECT digest, module, revision, kind, scope, schema_version, document, raw_sha256, source_path, "
                     "producer_tool, producer_version, collected_at, ingested_at FROM evidence WHERE module = 'api'"
                     ).fetchone()
    document = {**json.loads(row[6]), "module": "ghost"}
    db.execute("INSERT INTO evidence (digest, module, revision, kind, scope, schema_version, document, raw_sha256, "
               "source_path, producer_tool, producer_version, collected_at, ingested_at) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               (digest(document), "ghost", *row[2:6], json.dumps(document), *row[7:]))
    db.commit()
    result = _verify_chain(chained)
    assert result.returncode == 2
    assert f"evidence {digest(document)} has no ingest entry in the audit chain" in result.stderr


def test_ingest_entry_whose_evidence_was_deleted_is_caught(chained: SignedProject) -> None:
    db = _db(chained)
    db.execute("DELETE FROM evidence WHERE module = 'api'")
    db.commit()
    result = _verify_chain(chained)
    assert result.returncode == 2
    assert "entry 3 logs ingest of evidence sha256:" in result.stderr and "no later prune entry removed it" in result.stderr


def test_checkpoint_options_need_a_checkpoint(chained: SignedProject) -> None:
    result = _verify_chain(chained, "--key", chained.public_key)
    assert result.returncode == 2 and "check a --checkpoint" in result.stderr


# --- 4. signed approvals ----------------------------------------------------------------------------


@pytest.fixture
def locked(tmp_path: Path) -> Path:
    """A project whose mini bundle is built and approved (unsigned), with an approver key pair and svc evidence."""
    project = make_project(tmp_path)
    for prefix in ("approver", "intruder"):
        assert run_cli("keygen", "--prefix", prefix, cwd=project, env=PASSWORD).returncode == 0
    for step in (("policy", "build", "--pack", "mini"), ("policy", "approve", "--pack", "mini")):
        done = run_cli(*step, cwd=project)
        assert done.returncode == 0, done.stderr
    report = coverage_json(tmp_path / "coverage.json", covered=90, total=100)
    assert run_cli("ingest", report, "-m", "svc", "-r", "r1", cwd=project).returncode == 0
    return project


def _require_approvers(project: Path, *keys: str) -> None:
    config = project / "readypolicy.yaml"
    config.write_text(config.read_text() + "policy_approvers: [" + ", ".join(keys) + "]\n", encoding="utf-8")


def _eval_locked(project: Path) -> subprocess.CompletedProcess[str]:
    return run_cli("eval", "-m", "svc", "-r", "r1", "--locked", cwd=project)


def test_unsigned_approval_is_refused_by_eval_locked(locked: Path) -> None:
    assert _eval_locked(locked).returncode == 0  # without policy_approvers the lock alone decides
    _require_approvers(locked, "approver.pub")
    result = _eval_locked(locked)
    assert result.returncode == 2
    assert "no signed approval" in result.stderr and "policy approve --key" in result.stderr
    signed = run_cli("policy", "approve", "--pack", "mini", "--key", "approver.key", cwd=locked, env=PASSWORD)
    assert signed.returncode == 0, signed.stderr
    assert "signed approval -> " in signed.stdout
    accepted = _eval_locked(locked)
    assert accepted.returncode == 0, accepted.stderr


def test_approval_signed_by_a_key_not_configured_is_refused(locked: Path) -> None:
    _require_approvers(locked, "approver.pub")
    signed = run_cli("policy", "approve", "--pack", "mini", "--key", "intruder.key", cwd=locked, env=PASSWORD)
    assert signed.returncode == 0, signed.stderr
    result = _eval_locked(locked)
    assert result.returncode == 2
    assert "does not verify against any key in policy_approvers" in result.stderr


def test_approval_moved_to_other_bytes_is_refused(locked: Path) -> None:
    # The signed approval of one bundle copied beside another, and the lock pointed at that one.
    _require_approvers(locked, "approver.pub")
    assert run_cli("policy", "approve", "--pack", "mini", "--key", "approver.key", cwd=locked, env=PASSWORD).returncode == 0
    bundles = locked / "bundles"
    (approved,) = sorted(bundles.glob("*.tar.gz"))
    other = bundles / "mini-0.1.0-forged.tar.gz"
    rego = locked / "policies" / "packs" / "mini" / "candidate" / "candidate.rego"
    rego.write_text(rego.read_text() + "\n# relaxed later\n", encoding="utf-8")
    rebuilt = run_cli("policy", "build", "--pack", "mini", cwd=locked)
    assert rebuilt.returncode == 0, rebuilt.stderr
    (new,) = [path for path in bundles.glob("*.tar.gz") if path != approved]
    new.rename(other)
    shutil.copyfile(approved.with_name(approved.name + ".approval.sigstore.json"),
                    other.with_name(other.name + ".approval.sigstore.json"))
    assert run_cli("policy", "approve", "--pack", "mini", "--bundle", other, cwd=locked).returncode == 0  # unsigned
    result = _eval_locked(locked)
    assert result.returncode == 2
    assert "the approval signed by approver.pub is for sha256" in result.stderr


def test_drift_reports_an_unsigned_approval(locked: Path) -> None:
    _require_approvers(locked, "approver.pub")
    result = run_cli("drift", "--pack", "mini", "--format", "json", cwd=locked)
    assert result.returncode == 1, result.stderr
    kinds = {(d["source"], d["kind"]) for d in json.loads(result.stdout)["differences"]}
    assert ("bundle", "approval") in kinds
    assert run_cli("policy", "approve", "--pack", "mini", "--key", "approver.key", cwd=locked, env=PASSWORD).returncode == 0
    clean = run_cli("drift", "--pack", "mini", "--format", "json", cwd=locked)
    assert clean.returncode == 0, clean.stdout


def test_replay_refuses_a_bundle_without_signed_approval(locked: Path) -> None:
    evaluated = run_cli("eval", "-m", "svc", "-r", "r1", "--locked", "--sign", "--key", "approver.key", cwd=locked,
                        env=PASSWORD)
    assert evaluated.returncode == 0, evaluated.stderr
    decision = locked / ".readypolicy" / "decisions" / "svc.candidate.decision.json"
    assert run_cli("verify", decision, "--key", "approver.pub", "--replay", cwd=locked).returncode == 0
    _require_approvers(locked, "approver.pub")
    refused = run_cli("verify", decision, "--key", "approver.pub", "--replay", cwd=locked)
    assert refused.returncode == 2 and "no signed approval" in refused.stderr
    assert run_cli("policy", "approve", "--pack", "mini", "--key", "approver.key", cwd=locked, env=PASSWORD).returncode == 0
    replayed = run_cli("verify", decision, "--key", "approver.pub", "--replay", cwd=locked)
    assert replayed.returncode == 0, replayed.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _opa_run(bundle: Path, public_key: Path) -> tuple[int | None, str, str]:
    """Start `opa run --server` on the bundle with OPA's own verification; (exit code or None, served data, log)."""
    port = _free_port()
    process = subprocess.Popen(
        [str(REPO / ".tools" / "bin" / "opa"), "run", "--server", "--addr", f"127.0.0.1:{port}", "--verification-key",
         str(public_key), "--signing-alg", "ES256", "--bundle", str(bundle)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/data/mini/candidate/decision", timeout=2) as answer:
                    return None, answer.read().decode(), ""
            except OSError:
                time.sleep(0.2)
        return process.poll(), "", process.stdout.read() if process.poll() is not None and process.stdout else ""
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)


def test_opa_run_verifies_the_bundle_signature(locked: Path, tmp_path: Path) -> None:
    bundles = locked / "bundles"
    for old in bundles.glob("*.tar.gz"):  # start from no approval, so the signed build may replace the unsigned one
        old.unlink()
    (bundles / "lock.json").unlink()
    built = run_cli("policy", "build", "--pack", "mini", "--signing-key", "approver.key", cwd=locked, env=PASSWORD)
    assert built.returncode == 0, built.stderr
    (bundle,) = bundles.glob("*.tar.gz")
    with tarfile.open(bundle, "r:gz") as tar:
        names = tar.getnames()
    assert "/.signatures.json" in names
    code, served, log = _opa_run(bundle, locked / "approver.pub")
    assert code is None, log  # OPA accepted its own signature and serves the policy
    assert json.loads(served)["result"]["allow"] is False  # no input: the coverage check is missing

    members = {name.lstrip("/"): data for name, data in _members(bundle).items()}
    rego = next(name for name in members if name.endswith(".rego"))
    members[rego] = members[rego] + b"\n# edited after signing\n"
    tampered = tmp_path / "tampered.tar.gz"
    tampered.write_bytes(deterministic_targz(members, prefix="/"))
    code, _, log = _opa_run(tampered, locked / "approver.pub")
    assert code not in (None, 0) and "digest mismatch" in log
    code, _, log = _opa_run(bundle, locked / "intruder.pub")
    assert code not in (None, 0) and "verify" in log.lower()

    evaluated = run_cli("eval", "-m", "svc", "-r", "r1", "--bundle", bundle, cwd=locked)
    assert evaluated.returncode == 0, evaluated.stderr  # readypolicy reads the signed bundle as any other


def test_policy_build_never_overwrites_an_approved_bundle(locked: Path) -> None:
    (bundle,) = (locked / "bundles").glob("*.tar.gz")
    before = bundle.read_bytes()
    again = run_cli("policy", "build", "--pack", "mini", cwd=locked)
    assert again.returncode == 0, again.stderr  # the same bytes: nothing to overwrite
    signed = run_cli("policy", "build", "--pack", "mini", "--signing-key", "approver.key", cwd=locked, env=PASSWORD)
    assert signed.returncode == 2
    assert "lock.json approves it for mini/candidate" in signed.stderr and "never overwritten" in signed.stderr
    assert bundle.read_bytes() == before


def test_policy_build_never_overwrites_a_bundle_a_decision_was_made_with(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    assert run_cli("keygen", "--prefix", "team", cwd=project, env=PASSWORD).returncode == 0
    assert run_cli("policy", "build", "--pack", "mini", cwd=project).returncode == 0
    (bundle,) = (project / "bundles").glob("*.tar.gz")
    report = coverage_json(tmp_path / "coverage.json", covered=90, total=100)
    assert run_cli("ingest", report, "-m", "svc", "-r", "r1", cwd=project).returncode == 0
    decided = run_cli("eval", "-m", "svc", "-r", "r1", "--bundle", bundle, cwd=project)
    assert decided.returncode == 0, decided.stderr
    signed = run_cli("policy", "build", "--pack", "mini", "--signing-key", "team.key", cwd=project, env=PASSWORD)
    assert signed.returncode == 2 and "was made with it" in signed.stderr


# --- 3b. the archive carries its anchor -------------------------------------------------------------


def test_archive_carries_the_chain_segment_up_to_a_signed_checkpoint(chained: SignedProject, tmp_path: Path) -> None:
    out = tmp_path / "anchored.tar.gz"
    decision_id = chained.record()["decision_id"]
    exported = chained.cli("audit", "export", "--decision", decision_id, "-o", out, "--key", chained.private_key,
                           "--checkpoint", chained.root / "head.sigstore.json")
    assert exported.returncode == 0, exported.stderr
    result = _auditor(tmp_path, out, chained.public_key)
    assert result.returncode == 0, result.stderr
    assert "  chain:    decision logged at entry 2, with the ingests of its 1 evidence documents; checkpointed at " \
           "entry 2 by key sha256:" in result.stdout
    members = _members(out)
    chain = json.loads(members["audit/chain.json"])
    assert [(e["seq"], e["action"]) for e in chain] == [(1, "ingest"), (2, "decision")]

    # The segment is bound by the signed head: an edited, dropped or re-hashed entry does not reach it.
    verifier = key_verifier(chained.public_key)
    record = chained.record()
    edited = [{**chain[0], "actor": "someone-else"}, chain[1]]
    dropped = [chain[1]]
    rehashed_first = {**chain[0], "actor": "someone-else"}
    rehashed_first["entry_hash"] = entry_hash(*(rehashed_first[k] for k in ("seq", "prev_hash", "at", "actor", "action",
                                                                              "module", "details")))
    for entries, message in ((edited, "entry 1: content does not match its hash"),
                             ([rehashed_first, chain[1]], "entry 2 does not follow entry 1"),
                             (dropped, "no ingest entry logs evidence")):
        with pytest.raises(AuditError, match=message):
            check_chain({**members, "audit/chain.json": json.dumps(entries).encode()}, record, verifier, "a")
    flipped = {**record, "allow": False}
    with pytest.raises(AuditError, match="entry 2 logs allow True for the decision, the record says False"):
        check_chain(members, flipped, verifier, "a")


def test_export_refuses_a_checkpoint_older_than_the_decision(chained: SignedProject, tmp_path: Path) -> None:
    # A genuine checkpoint of entry 1 (only the ingest logged) cannot anchor the decision logged at entry 2.
    store = open_store(str(chained.root / "store.db"))
    first = next(iter(store.audit_entries()))
    store.close()
    signer = key_signer(chained.private_key, PASSWORD["READYPOLICY_KEY_PASSWORD"].encode())
    early = tmp_path / "early.sigstore.json"
    write_bundle(signer.sign_statement(checkpoint_statement(first, "store", "2026-12-01T00:00:00Z")), early)
    result = chained.cli("audit", "export", "--decision", chained.record()["decision_id"], "-o", tmp_path / "x.tar.gz",
                         "--key", chained.private_key, "--checkpoint", early)
    assert result.returncode == 2
    assert "the checkpoint (entry 1) is older than the entries logging decision" in result.stderr


def test_cosign_verifies_a_signed_approval_against_the_bundle_bytes(locked: Path) -> None:
    cosign = require_cosign()
    assert run_cli("policy", "approve", "--pack", "mini", "--key", "approver.key", cwd=locked, env=PASSWORD).returncode == 0
    (bundle,) = (locked / "bundles").glob("*.tar.gz")
    (locked / "root.json").write_text(json.dumps(EMPTY_TRUSTED_ROOT), encoding="utf-8")
    args = [str(cosign), "verify-blob-attestation", "--key", "approver.pub", "--bundle",
            f"{bundle}.approval.sigstore.json", "--new-bundle-format", "--insecure-ignore-tlog", "--trusted-root",
            "root.json", "--type", "https://readypolicy.dev/attestation/policy-approval/v1"]
    env = {"HOME": str(locked), "PATH": "/usr/bin:/bin"}
    verified = subprocess.run([*args, str(bundle)], cwd=locked, env=env, capture_output=True, text=True, timeout=120,
                              check=False)
    assert verified.returncode == 0 and "Verified OK" in verified.stderr, verified.stderr
    other = locked / "other.tar.gz"
    other.write_bytes(bundle.read_bytes() + b"\0")
    refused = subprocess.run([*args, str(other)], cwd=locked, env=env, capture_output=True, text=True, timeout=120,
                             check=False)
    assert refused.returncode != 0
