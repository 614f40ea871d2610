"""`readypolicy drift`: sources, bundle files, a running OPA server, decisions and golden cases vs the lock."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from policy_project import REPO, Project, make_project
from readypolicy.canonical import rfc3339, utc_now
from readypolicy.decision.inputs import build_input
from readypolicy.drift.rego_diff import diff_modules, parse_module
from readypolicy.engines.locate import find_opa
from readypolicy.engines.opa_binary import OpaBinary
from readypolicy.policy.bundle_build import bundle_bytes
from readypolicy.policy.pack import golden_dir, load_pack
from readypolicy.store.open import open_store


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A project whose pack is built and approved for every lane."""
    made = make_project(tmp_path)
    for args in (("policy", "build"), ("policy", "approve")):
        result = made.run(*args)
        assert result.exit_code == 0, result.output
    return made


def drift(project: Project, *args: str) -> tuple[int, dict[str, Any]]:
    result = project.run("drift", "--format", "json", *args)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def found(report: dict[str, Any], source: str) -> set[tuple[str, str]]:
    return {(d["kind"], d["subject"]) for d in report["differences"] if d["source"] == source}


def set_threshold(project: Project, lane: str, name: str, value: int) -> None:
    path = project.root / "policies" / "config" / "data.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["lanes"][lane]["thresholds"][name] = value
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def test_without_a_lock_drift_cannot_tell(tmp_path: Path) -> None:
    result = make_project(tmp_path).run("drift")
    assert result.exit_code == 2
    assert "no lock file" in result.stderr


def test_clean_then_unapproved_source_edits_are_named(project: Project) -> None:
    code, report = drift(project)
    assert code == 0 and report["clean"] and report["differences"] == []
    assert any(line.startswith("source ") for line in report["checked"])

    coverage = project.root / "policies" / "checks" / "coverage.rego"
    coverage.write_text(coverage.read_text() + "\ndrift_probe := 1\n")
    tests = project.root / "policies" / "checks" / "tests.rego"
    tests.write_text("# a comment changes bytes, not rules\n" + tests.read_text())
    set_threshold(project, "candidate", "coverage_line_min", 71)

    code, report = drift(project)
    assert code == 1
    assert found(report, "source") == {
        ("file-changed", "readiness/checks/coverage.rego"),
        ("rule-added", "readiness.checks.drift_probe"),
        ("file-changed", "readiness/checks/tests.rego"),
        ("file-changed", "readiness/config/data.yaml"),
        ("data-changed", "data.readiness.config.lanes.candidate.thresholds.coverage_line_min"),
    }
    by_subject = {d["subject"]: d for d in report["differences"]}
    assert by_subject["readiness/checks/tests.rego"]["detail"].endswith("formatting or comments only")
    threshold = by_subject["data.readiness.config.lanes.candidate.thresholds.coverage_line_min"]
    assert (threshold["expected"], threshold["actual"]) == ("70", "71")
    assert all(d["lanes"] == ["candidate", "integration", "production"] for d in report["differences"])

    markdown = project.run("drift", "--format", "markdown", "--lane", "candidate")
    assert markdown.exit_code == 1
    assert "❌ 5 difference(s): 5 source" in markdown.stdout
    assert "| source | candidate | rule-added | readiness.checks.drift_probe |" in markdown.stdout


def test_rebuilt_or_missing_bundle_is_drift_against_the_lock(project: Project) -> None:
    lock = json.loads((project.bundles / "lock.json").read_text())["packs"]["readiness"]["candidate"]
    set_threshold(project, "candidate", "coverage_line_min", 72)
    assert project.run("policy", "build").exit_code == 0  # a new, content-named file beside the approved one
    [rebuilt] = [path for path in project.bundles.glob("*.tar.gz") if path.name != lock["bundle"]]
    (project.bundles / lock["bundle"]).write_bytes(rebuilt.read_bytes())  # the approved name, other bytes

    code, report = drift(project, "--lane", "candidate")
    assert code == 1
    assert {d["kind"] for d in report["differences"] if d["source"] == "bundle"} == {"sha256", "digest", "revision"}
    sha = next(d for d in report["differences"] if d["kind"] == "sha256")
    assert sha["expected"] == lock["sha256"] and sha["actual"] != lock["sha256"]
    assert found(report, "source") == set()  # nothing trustworthy to compare the sources with
    assert any("skipped" in line for line in report["checked"])

    (project.bundles / lock["bundle"]).unlink()
    code, report = drift(project)
    assert code == 1
    assert found(report, "bundle") == {("bundle-missing", lock["bundle"])}


def test_rego_diff_groups_definitions_and_ignores_layout() -> None:
    opa = OpaBinary(path=find_opa(None, REPO), cache_dir=Path("/nonexistent"))
    old = b"package p.q\n\nimport rego.v1\n\ndefault allow := false\n\nallow if input.a\n\nf(x) := x + 1\n"
    new = b"package p.q\nimport rego.v1\n# reflowed\ndefault allow := false\nallow if input.a\nallow if input.b\ng := 2\n"
    changes = diff_modules(parse_module(opa, "x.rego", old), parse_module(opa, "x.rego", new))
    assert [(c.name, c.change, c.detail) for c in changes] == [
        ("p.q.allow", "changed", "2 -> 3 definitions"), ("p.q.f", "removed", ""), ("p.q.g", "added", ""),
    ]
    same = diff_modules(parse_module(opa, "x.rego", old), parse_module(opa, "x.rego", old.replace(b"\n\n", b"\n")))
    assert same == []


def test_decisions_not_made_by_the_approved_policy(project: Project) -> None:
    assert project.eval_records("--module", "payments", "--lane", "candidate", "--locked")
    assert project.eval_records("--module", "payments", "--lane", "integration")  # sources equal the approved bundle
    code, report = drift(project, "--decisions")
    assert code == 0, report
    assert any("candidate since" in line and "1 read" in line for line in report["checked"])

    set_threshold(project, "candidate", "coverage_line_min", 73)
    [record] = project.eval_records("--module", "payments", "--lane", "candidate")
    code, report = drift(project, "--decisions", "--lane", "candidate")
    assert code == 1
    [decision] = [d for d in report["differences"] if d["source"] == "decisions"]
    lock = json.loads((project.bundles / "lock.json").read_text())["packs"]["readiness"]["candidate"]
    assert decision["subject"] == "payments@abc" and decision["lanes"] == ["candidate"]
    assert decision["expected"] == lock["digest"] and decision["actual"] == record["policy"]["digest"]
    assert record["decision_id"][:19] in decision["detail"]

    code, later = drift(project, "--decisions", "--lane", "candidate", "--since", "2999-01-01")
    assert found(later, "decisions") == set()
    bad = project.run("drift", "--since", "2020-01-01")
    assert bad.exit_code == 2 and "--decisions" in bad.output


def project_golden(project: Project) -> Path:
    """The golden case directory the project's default pack declares."""
    directory = golden_dir(project.root / "policies")
    assert directory is not None
    return directory


def write_golden(project: Project, lane: str) -> dict[str, Any]:
    """A golden case whose expectation is what the approved policy decides now."""
    store = open_store(str(project.root / "store.db"))
    try:
        policy_input = build_input("payments", "abc", lane, store.latest_evidence("payments", "abc"),
                                   rfc3339(utc_now()), [])
    finally:
        store.close()
    [record] = project.eval_records("--module", "payments", "--lane", lane, "--locked", "--no-record")
    case = {"name": f"payments-{lane}", "lane": lane, "input": policy_input,
            "expected": {"allow": record["allow"], "checks": {c["id"]: c["status"] for c in record["checks"]}}}
    golden = project_golden(project)
    golden.mkdir(parents=True, exist_ok=True)  # the copied pack's `golden:` points outside policies/
    (golden / f"payments-{lane}.json").write_text(json.dumps(case))
    return case


def test_golden_cases_against_the_approved_bundle(project: Project) -> None:
    cases = [write_golden(project, lane) for lane in ("candidate", "integration")]
    assert cases[0]["expected"]["checks"]["coverage.line"] == "pass"
    code, report = drift(project, "--golden")
    assert code == 0, report
    assert sum("case(s) against" in line for line in report["checked"]) == 2

    # Approve a stricter coverage floor: the golden outcome of the candidate case changes.
    set_threshold(project, "candidate", "coverage_line_min", 90)
    for args in (("policy", "build"), ("policy", "approve")):
        assert project.run(*args).exit_code == 0
    code, report = drift(project, "--golden")
    assert code == 1
    assert found(report, "golden") == {("check-status", "payments-candidate: coverage.line")}
    [change] = report["differences"]
    assert (change["expected"], change["actual"], change["lanes"]) == ("pass", "fail", ["candidate"])

    broken = project_golden(project) / "broken.json"
    broken.write_text('{"name": "x"}')
    result = project.run("drift", "--golden")
    assert result.exit_code == 2 and "broken.json" in result.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def _put(url: str, body: bytes) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, method="PUT")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _wait_for(predicate: Any, what: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(400):
        try:
            if predicate():
                return
        except OSError:
            pass
        if process.poll() is not None:
            pytest.fail(f"opa run exited while waiting for {what}")
        time.sleep(0.05)
    pytest.fail(f"gave up waiting for {what}")


@dataclass(frozen=True)
class Served:
    """A running OPA server and the bundle file it watches."""

    url: str
    path: Path
    process: subprocess.Popen[bytes]


@pytest.fixture
def served(project: Project, tmp_path: Path) -> Iterator[Served]:
    """`opa run --server --watch` on a copy of the approved bundle."""
    lock = json.loads((project.bundles / "lock.json").read_text())["packs"]["readiness"]["candidate"]
    copy = tmp_path / "served.tar.gz"
    copy.write_bytes((project.bundles / lock["bundle"]).read_bytes())
    port = _free_port()
    process = subprocess.Popen(
        [str(find_opa(None, REPO)), "run", "--server", "--watch", "--addr", f"127.0.0.1:{port}", "--bundle", str(copy),
         "--log-level", "error"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(lambda: _get(f"{url}/v1/data/system/bundles")["result"], "the bundle to load", process)
        yield Served(url, copy, process)
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_running_server_compared_with_the_lock(project: Project, served: Served) -> None:
    url, copy = served.url, served.path
    code, report = drift(project, "--server", url)
    assert code == 0, report
    assert any(line.startswith(f"server {url}") for line in report["checked"])

    # OPA refuses writes under a bundle's roots, so a module sneaked in lands beside the bundle.
    status, message = _put(f"{url}/v1/policies/readiness/checks/coverage.rego", b"package readiness.checks\n")
    assert status == 400 and "owned by bundle" in message
    status, _ = _put(f"{url}/v1/policies/shadow.rego", b"package shadow\n\nimport rego.v1\n\nallow if true\n")
    assert status == 200
    code, report = drift(project, "--server", url)
    assert code == 1
    assert found(report, "server") == {("file-added", "shadow.rego"), ("rule-added", "shadow.allow")}

    # Replace the served bundle file behind readypolicy's back; OPA reloads it (--watch).
    coverage = project.root / "policies" / "checks" / "coverage.rego"
    edited = load_pack(project.root / "policies")
    edited_files = dict(edited.files)
    edited_files["readiness/checks/coverage.rego"] = coverage.read_bytes() + b"\nserver_only_rule := true\n"
    replacement = dataclasses.replace(edited, files=edited_files)
    tmp = copy.with_suffix(".tmp")
    tmp.write_bytes(bundle_bytes(replacement))
    os.replace(tmp, copy)
    _wait_for(lambda: _get(f"{url}/v1/data/system/bundles")["result"][str(copy)]["manifest"]["revision"]
              == replacement.revision, "the bundle reload", served.process)
    code, report = drift(project, "--server", url)
    assert code == 1
    server = [d for d in report["differences"] if d["source"] == "server"]
    assert {(d["kind"], d["subject"]) for d in server} >= {
        ("revision", str(copy)), ("digest", str(copy)),
        ("file-changed", "readiness/checks/coverage.rego"), ("rule-added", "readiness.checks.server_only_rule"),
    }
    revision = next(d for d in server if d["kind"] == "revision")
    assert revision["actual"] == replacement.revision
    assert found(report, "source") == set()  # the sources on disk were not touched


def test_unreachable_server_is_an_error(project: Project) -> None:
    result = project.run("drift", "--server", f"http://127.0.0.1:{_free_port()}")
    assert result.exit_code == 2
    assert "unreachable" in result.stderr
