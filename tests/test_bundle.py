"""Built bundles: reproducible bytes, the lock, eval --bundle / --locked, and parity with `opa run`."""

from __future__ import annotations

import http.server
import json
import socket
import subprocess
import tarfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from opa_client.opa import OpaClient

from policy_project import REPO, Project, make_project
from readypolicy.canonical import raw_digest, rfc3339, utc_now
from readypolicy.decision.inputs import build_input
from readypolicy.drift.server import OpaServerReader
from readypolicy.engines.interface import EngineError
from readypolicy.engines.locate import find_opa
from readypolicy.engines.opa_binary import OpaBinary
from readypolicy.engines.opa_cli import OpaCliEngine
from readypolicy.engines.opa_server import OpaServerEngine
from readypolicy.policy import stage
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
    digest_prefix = load_pack(project.root / "policies").digest.removeprefix("sha256:")[:12]
    assert path.name == f"readiness-1.0.0-{digest_prefix}.tar.gz"
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
    assert "does not exist; run `readypolicy policy build` first" in result.stderr  # builds are named by content
    assert not (project.bundles / "lock.json").exists()

    # A file under the name of the current sources that holds another build is refused as well.
    [stale] = project.bundles.glob("*.tar.gz")
    rebuilt, _ = build(project)
    stale_bytes = stale.read_bytes()
    rebuilt.write_bytes(stale_bytes)
    result = project.run("policy", "approve")
    assert result.exit_code == 2
    assert "was built from other sources" in result.stderr
    assert not (project.bundles / "lock.json").exists()


def test_eval_locked_uses_the_approved_bundle_and_refuses_a_changed_one(project: Project) -> None:
    approved, sha256 = build(project)
    assert project.run("policy", "approve", "--lane", "candidate").exit_code == 0
    [record] = project.eval_records("--module", "payments", "--lane", "candidate", "--locked")
    assert record["policy"]["bundle_sha256"] == sha256 and record["policy"]["source"] == "bundle"

    missing = project.run("eval", "--module", "payments", "--lane", "integration", "--locked")
    assert missing.exit_code == 2
    assert "no approved bundle for pack 'readiness' lane 'integration'" in missing.stderr

    # Put a build of edited sources under the approved name (`policy build` names it by its own
    # digest, so by hand): the bytes no longer match the lock.
    with (project.root / "policies" / "config" / "data.yaml").open("a") as handle:
        handle.write("# edited after approval\n")
    rebuilt, _ = build(project)
    assert rebuilt != approved
    approved.write_bytes(rebuilt.read_bytes())
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
    args = ("--module", "payments", "--no-record", "--lane", "all")
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


def test_opa_python_client_path_decides_like_the_cli_engine(project: Project, opa_server: str, tmp_path: Path) -> None:
    """The server engine speaks through opa-python-client and gets, input for input, the CLI engine's decision."""
    path, _ = build(project)
    policy = read_bundle(path)
    loaded = stage.load(policy, tmp_path / "cache")
    store = open_store(str(project.root / "store.db"))
    try:
        records = store.latest_evidence("payments", "abc")
    finally:
        store.close()
    now = rfc3339(utc_now())
    server = OpaServerEngine(opa_server, timeout_s=30)
    assert isinstance(server.http._client, OpaClient)
    local = OpaCliEngine(OpaBinary(find_opa(None, REPO), tmp_path / "opa"))
    for lane in policy.lanes:
        # The real evidence, and the same module with none: every check missing, which must deny.
        inputs = [build_input("payments", "abc", lane, records, now, []), build_input("payments", "abc", lane, [], now, [])]
        served = server.evaluate(loaded, policy.query(lane), inputs)
        assert served == local.evaluate(loaded, policy.query(lane), inputs)
        assert served[1]["allow"] is False and {c["status"] for c in served[1]["checks"]} == {"missing"}


@pytest.mark.parametrize("url", ["http://127.0.0.1:8181/opa", "http://127.0.0.1:8181/?x=1", "ftp://127.0.0.1:8181"])
def test_server_url_the_client_cannot_address_is_refused(url: str) -> None:
    """opa-python-client always calls host:port/v1: a URL with a path prefix would silently reach another endpoint."""
    with pytest.raises(EngineError, match="must be http"):
        OpaServerEngine(url)


@pytest.mark.parametrize("body", [b"<html>not OPA</html>", b'{"result": "not a list"}', b"[1, 2]"])
def test_a_server_that_is_not_opa_is_an_engine_error(body: bytes) -> None:
    """The attack: the URL points at something else answering 200. Every read is an EngineError (exit 2), never a crash
    or a decision."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with pytest.raises(EngineError, match=f"OPA server {url}"):
            OpaServerEngine(url, timeout_s=5).info()
        with pytest.raises(EngineError, match=f"OPA server {url}"):
            OpaServerReader(url, timeout_s=5).modules()
    finally:
        server.shutdown()
        server.server_close()
