"""Built bundles: reproducible bytes, the lock, eval --bundle / --locked, and parity with `opa run`."""

from __future__ import annotations

import json
import socket
import subprocess
import tarfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from policy_project import REPO, Project, make_project
from readypolicy.canonical import raw_digest, rfc3339, utc_now
from readypolicy.decision.inputs import build_input
from readypolicy.engines.locate import find_opa
from readypolicy.policy.bundle_read import read_bundle
from readypolicy.policy.pack import load_pack
from readypolicy.store.open import open_store


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return make_project(tmp_path)


def build(project: Project) -> tuple[Path, str]:
    result = project.run("policy", "build")
    assert result.exit_code == 0, result.output
    fields = dict(line.split(None, 1) for line in result.stdout.splitlines())
    path = project.root / fields["bundle"].split(" (")[0]
    return path, fields["sha256"].strip()


def test_build_is_reproducible_and_round_trips(project: Project, tmp_path: Path) -> None:
    path, sha256 = build(project)
    assert path.name == "readiness-1.0.0.tar.gz"
    first = path.read_bytes()
    assert raw_digest(first) == sha256
    path.unlink()
    again, sha_again = build(project)
    assert again.read_bytes() == first and sha_again == sha256

    source = load_pack(project.root / "policies")
    bundled = read_bundle(path)
    assert bundled.digest == source.digest
    assert bundled.revision == source.revision == f"1.0.0+{source.digest.removeprefix('sha256:')[:12]}"
    with tarfile.open(path) as archive:
        manifest = json.load(archive.extractfile("/.manifest"))  # type: ignore[arg-type]
        names = archive.getnames()
    assert manifest["revision"] == source.revision
    assert manifest["roots"] == ["readiness"]
    assert manifest["metadata"]["readypolicy"]["digest"] == source.digest
    assert not any(name.endswith("_test.rego") for name in names)


def test_build_refuses_a_pack_that_does_not_compile(project: Project) -> None:
    (project.root / "policies" / "checks" / "broken.rego").write_text(
        "package readiness.checks\n\nimport rego.v1\n\nbad := http.send({\"method\": \"GET\", \"url\": \"x\"})\n"
    )
    result = project.run("policy", "build")
    assert result.exit_code == 2
    assert "does not compile" in result.stderr and "http.send" in result.stderr
    assert not list(project.bundles.glob("*.tar.gz"))


def test_eval_bundle_records_revision_and_sha256(project: Project) -> None:
    path, sha256 = build(project)
    [record] = project.eval_records("--module", "payments", "--lane", "candidate", "--bundle", str(path))
    assert record["policy"]["source"] == "bundle"
    assert record["policy"]["bundle_sha256"] == sha256
    assert record["policy"]["revision"] == read_bundle(path).revision
    [tree] = project.eval_records("--module", "payments", "--lane", "candidate", "--no-record")
    assert tree["policy"]["bundle_sha256"] is None
    assert tree["policy"]["digest"] == record["policy"]["digest"]
    assert [(c["id"], c["status"], c["message"]) for c in tree["checks"]] == [
        (c["id"], c["status"], c["message"]) for c in record["checks"]
    ]


def test_approve_writes_lock_and_audit(project: Project) -> None:
    path, sha256 = build(project)
    result = project.run("policy", "approve", "--lane", "candidate", "--lane", "integration")
    assert result.exit_code == 0, result.output
    lock = json.loads((project.bundles / "lock.json").read_text())
    entries = lock["packs"]["readiness"]
    assert sorted(entries) == ["candidate", "integration"]
    entry = entries["candidate"]
    bundled = read_bundle(path)
    assert entry["bundle"] == path.name and entry["sha256"] == sha256
    assert entry["revision"] == bundled.revision and entry["digest"] == bundled.digest
    assert entry["approved_by"] == "alice" and entry["approved_at"].endswith("Z")
    store = open_store(str(project.root / "store.db"))
    try:
        audits = [a for a in store.audit_entries() if a.action == "lock"]
    finally:
        store.close()
    assert len(audits) == 1
    assert audits[0].actor == "alice"
    assert audits[0].details["lanes"] == ["candidate", "integration"] and audits[0].details["sha256"] == sha256

    verified = project.run("policy", "lock", "verify")
    assert verified.exit_code == 0, verified.output
    assert verified.stdout.count("ok ") == 2


def test_approve_refuses_a_stale_build(project: Project) -> None:
    build(project)
    with (project.root / "policies" / "config" / "data.yaml").open("a") as handle:
        handle.write("# edited after the build\n")
    result = project.run("policy", "approve")
    assert result.exit_code == 2
    assert "was built from other sources" in result.stderr
    assert not (project.bundles / "lock.json").exists()


def test_eval_locked_uses_the_approved_bundle_and_refuses_a_changed_one(project: Project) -> None:
    _, sha256 = build(project)
    assert project.run("policy", "approve", "--lane", "candidate").exit_code == 0
    [record] = project.eval_records("--module", "payments", "--lane", "candidate", "--locked")
    assert record["policy"]["bundle_sha256"] == sha256 and record["policy"]["source"] == "bundle"

    missing = project.run("eval", "--module", "payments", "--lane", "integration", "--locked")
    assert missing.exit_code == 2
    assert "no approved bundle for pack 'readiness' lane 'integration'" in missing.stderr

    # Rebuild the same name from edited sources: the bytes no longer match the lock.
    with (project.root / "policies" / "config" / "data.yaml").open("a") as handle:
        handle.write("# edited after approval\n")
    build(project)
    changed = project.run("eval", "--module", "payments", "--lane", "candidate", "--locked")
    assert changed.exit_code == 2
    assert "the lock approved " + sha256 in changed.stderr
    verified = project.run("policy", "lock", "verify")
    assert verified.exit_code == 1
    assert "MISMATCH" in verified.stdout and "readiness/candidate" in verified.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def opa_server(project: Project) -> Iterator[str]:
    path, _ = build(project)
    port = _free_port()
    opa = find_opa(None, REPO)
    process = subprocess.Popen(
        [str(opa), "run", "--server", "--addr", f"127.0.0.1:{port}", "--bundle", str(path), "--log-level", "error"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                with urllib.request.urlopen(f"{url}/health?bundles=true", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                if process.poll() is not None:
                    pytest.fail(f"opa run exited: {process.stderr.read().decode() if process.stderr else ''}")
                time.sleep(0.05)
        else:
            pytest.fail("opa run did not become healthy")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.parametrize("lane", ["candidate", "integration", "production"])
def test_opa_run_with_the_bundle_decides_like_the_cli(project: Project, opa_server: str, lane: str) -> None:
    [cli_record] = project.eval_records("--module", "payments", "--lane", lane, "--no-record")
    store = open_store(str(project.root / "store.db"))
    try:
        records = store.latest_evidence("payments", "abc")
    finally:
        store.close()
    policy_input = build_input("payments", "abc", lane, records, rfc3339(utc_now()), [])
    request = urllib.request.Request(
        f"{opa_server}/v1/data/readiness/{lane}/decision", data=json.dumps({"input": policy_input}).encode(),
        headers={"Content-Type": "application/json"}, method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        served = json.load(response)["result"]
    assert served["allow"] == cli_record["allow"]
    assert [(c["id"], c["status"], c["message"]) for c in served["checks"]] == [
        (c["id"], c["status"], c["message"]) for c in cli_record["checks"]
    ]
    assert any(c["status"] == "fail" for c in served["checks"])


def test_opa_server_engine_matches_the_cli_engine(project: Project, opa_server: str) -> None:
    args = ("--module", "payments", "--no-record")
    local = project.eval_records(*args)
    served = project.eval_records(*args, "--engine", "opa-server", "--server", opa_server)
    assert [r["engine"]["name"] for r in served] == ["opa-server"] * 3
    assert [r["engine"]["version"] for r in served] == [r["engine"]["version"] for r in local]
    assert [(r["lane"], r["allow"], r["checks"]) for r in served] == [(r["lane"], r["allow"], r["checks"]) for r in local]


def test_opa_server_running_other_policy_is_refused(project: Project, opa_server: str) -> None:
    with (project.root / "policies" / "config" / "data.yaml").open("a") as handle:
        handle.write("# edited after the server loaded the bundle\n")
    result = project.run("eval", "--module", "payments", "--engine", "opa-server", "--server", opa_server)
    assert result.exit_code == 2
    assert "has not loaded policy" in result.stderr
