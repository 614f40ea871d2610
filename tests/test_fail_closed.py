"""The fault matrix: every engine or store failure is exit 2 with one clear line, and no allow is recorded.

Each case makes the fault happen for real: a missing binary, a real OPA process killed mid-evaluation,
a process that hangs past the deadline, output that is not OPA's, policies that do not compile or
that return malformed or self-contradicting decisions, a locked store, a read-only store, a full
disk (file-size limit), a corrupted SQLite page, and evidence dated in the future.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sqlite3
import stat
import subprocess
import threading
from pathlib import Path

import pytest

from readypolicy.store.open import open_store
from support import OPA, coverage_json, make_project, require_opa, run_cli

MINI_REGO = Path("policies/packs/mini/candidate/candidate.rego")


def _ready_project(tmp_path: Path) -> Path:
    project = make_project(tmp_path)
    ingest = run_cli("ingest", coverage_json(tmp_path / "c.json", 95, 100), "-m", "svc", "-r", "r1", cwd=project)
    assert ingest.returncode == 0, ingest.stderr
    return project


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    # Without --revision, eval first notes which revision it chose; the failure itself is one line.
    lines = [line for line in result.stderr.strip().splitlines() if not line.startswith("readypolicy: note: ")]
    assert len(lines) == 1 and lines[0].startswith("readypolicy: error: "), result.stderr
    return lines[0]


def _no_decisions(project: Path) -> None:
    store = open_store(str(project / "store.db"))
    assert store.list_decisions() == []
    store.close()


def _wrapper(tmp_path: Path, body: str) -> Path:
    """An `opa` that delegates version/capabilities to the real binary and misbehaves on `eval`."""
    script = tmp_path / "opa-wrapper"
    script.write_text(
        f'#!/bin/sh\nif [ "$1" != "eval" ]; then exec {OPA} "$@"; fi\n{body}\n', encoding="utf-8"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_the_healthy_baseline_allows(tmp_path: Path) -> None:
    project = _ready_project(tmp_path)
    assert run_cli("eval", "-m", "svc", cwd=project).returncode == 0


def test_missing_opa_binary(tmp_path: Path) -> None:
    project = _ready_project(tmp_path)
    line = _one_error_line(run_cli("--opa", tmp_path / "no-such-opa", "eval", "-m", "svc", cwd=project))
    assert "not found" in line and "scripts/install-opa" in line
    _no_decisions(project)


def test_opa_killed_mid_evaluation(tmp_path: Path) -> None:
    require_opa()
    project = _ready_project(tmp_path)
    # A policy that takes seconds to evaluate; the wrapper runs the real OPA and SIGKILLs it mid-way.
    (project / MINI_REGO).write_text(
        "package mini.candidate\n\nimport rego.v1\n\n"
        "slow if {\n\tevery i in numbers.range(1, 4000) {\n\t\tevery j in numbers.range(1, 4000) {\n"
        "\t\t\ti + j > 0\n\t\t}\n\t}\n}\n\n"
        'decision := {"allow": true, "checks": [{"id": "x", "title": "x", "status": "pass", "severity": "low",'
        ' "message": "", "evidence": []}]} if slow\n',
        encoding="utf-8",
    )
    opa = _wrapper(tmp_path, f'exec 3<&0\n{OPA} "$@" <&3 & pid=$!\nsleep 0.5\nkill -9 $pid\nwait $pid')
    line = _one_error_line(run_cli("--opa", opa, "eval", "-m", "svc", cwd=project))
    assert "OPA exited with status 137" in line
    _no_decisions(project)


def test_opa_hanging_hits_the_deadline(tmp_path: Path) -> None:
    project = _ready_project(tmp_path)
    opa = _wrapper(tmp_path, "exec sleep 600")
    line = _one_error_line(run_cli("--opa", opa, "--opa-timeout", "2", "eval", "-m", "svc", cwd=project))
    assert "did not finish within 2s" in line
    _no_decisions(project)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('echo "panic: runtime error: garbage"', "not a JSON result"),
        ("true", "no result"),
        ("echo '[]'; echo '[]'", "not a JSON result"),
        ("echo '{\"result\": [{\"expressions\": [{\"value\": [{\"v\": [{\"allow\": true}]}]}]}]}'",
         "results for 1 inputs"),
        ("echo '\"[{}]\"'", "results for 1 inputs"),
        ("echo '[1, 2]'", "results for 1 inputs"),
        ("printf '[{\"v\": [{\"allow\": true, \"checks\": []}]}]'", "malformed decision"),
    ],
)
def test_opa_printing_garbage(tmp_path: Path, body: str, expected: str) -> None:
    project = _ready_project(tmp_path)
    line = _one_error_line(run_cli("--opa", _wrapper(tmp_path, body), "eval", "-m", "svc", cwd=project))
    assert expected in line
    _no_decisions(project)


def test_policy_that_does_not_compile(tmp_path: Path) -> None:
    project = _ready_project(tmp_path)
    (project / MINI_REGO).write_text("package mini.candidate\n\ndecision := {\n", encoding="utf-8")
    line = _one_error_line(run_cli("eval", "-m", "svc", cwd=project))
    assert "OPA exited with status 2" in line and "mini/candidate/candidate.rego:4: rego_parse_error" in line
    assert "/tmp/" not in line
    _no_decisions(project)


@pytest.mark.parametrize(
    ("decision", "expected"),
    [
        ('{"allow": "yes", "checks": [{"id": "x", "title": "x", "status": "pass", "severity": "low", "message": "",'
         ' "evidence": []}]}', "malformed decision at allow"),
        ('{"allow": true, "checks": [{"id": "x", "title": "x", "status": "fail", "severity": "low", "message": "",'
         ' "evidence": []}]}', "says allow while some checks fail"),
        ('{"allow": true, "checks": [{"id": "x", "title": "x", "status": "great", "severity": "low", "message": "",'
         ' "evidence": []}]}', "malformed decision at checks/0/status"),
        ('{"allow": true, "checks": []}', "malformed decision at checks"),
    ],
)
def test_policy_returning_a_malformed_decision(tmp_path: Path, decision: str, expected: str) -> None:
    project = _ready_project(tmp_path)
    (project / MINI_REGO).write_text(f"package mini.candidate\n\ndecision := {decision}\n", encoding="utf-8")
    line = _one_error_line(run_cli("eval", "-m", "svc", cwd=project))
    assert expected in line
    _no_decisions(project)


def test_policy_with_undefined_decision(tmp_path: Path) -> None:
    project = _ready_project(tmp_path)
    (project / MINI_REGO).write_text("package mini.candidate\n\ndecision := 1 if false\n", encoding="utf-8")
    line = _one_error_line(run_cli("eval", "-m", "svc", cwd=project))
    assert "undefined" in line
    _no_decisions(project)


def test_policy_using_http_send_is_refused(tmp_path: Path) -> None:
    project = _ready_project(tmp_path)
    rego = project / MINI_REGO
    rego.write_text(
        rego.read_text() + '\nleak := http.send({"method": "GET", "url": "http://127.0.0.1:9/"})\n', encoding="utf-8"
    )
    line = _one_error_line(run_cli("eval", "-m", "svc", cwd=project))
    assert "http.send" in line
    _no_decisions(project)


def test_locked_store(tmp_path: Path) -> None:
    project = _ready_project(tmp_path)
    holder = sqlite3.connect(project / "store.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        line = _one_error_line(run_cli("--store", "sqlite:///store.db?timeout=1", "eval", "-m", "svc", cwd=project))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "locked" in line
    _no_decisions(project)


def test_read_only_store(tmp_path: Path) -> None:
    project = _ready_project(tmp_path)
    mount = tmp_path / "ro"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], check=False).returncode != 0:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI runs as root and must be able to mount a tmpfs for the read-only store test")
        pytest.skip("cannot mount a tmpfs here to make a read-only filesystem")
    try:
        checkpoint = sqlite3.connect(project / "store.db")
        checkpoint.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        checkpoint.close()
        (mount / "store.db").write_bytes((project / "store.db").read_bytes())
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        report = coverage_json(tmp_path / "d.json", 99, 100)
        line = _one_error_line(run_cli("--store", mount / "store.db", "ingest", report, "-m", "svc", cwd=project))
        assert "store.db" in line and ("read-only" in line or "readonly" in line or "unable to open" in line)
        copy = tmp_path / "copy.db"
        copy.write_bytes((mount / "store.db").read_bytes())
        assert len(open_store(str(copy)).list_evidence("svc")) == 1
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _limit_file_size(limit: int) -> object:
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_disk_full_leaves_the_store_intact(tmp_path: Path) -> None:
    project = _ready_project(tmp_path)
    files = [coverage_json(tmp_path / f"c{index}.json", index, 100) for index in range(1, 100)]
    size = max(p.stat().st_size for p in project.glob("store.db*"))
    result = run_cli(
        "ingest", *files, "-m", "svc", cwd=project, preexec_fn=_limit_file_size(size + 8192), measured=False
    )
    line = _one_error_line(result)
    assert "nothing stored" in line or "full" in line or "too large" in line
    store = open_store(str(project / "store.db"))
    assert len(store.list_evidence("svc")) == 1
    assert store.modules() == ["svc"]


def test_a_verdict_that_cannot_be_printed_is_no_verdict(tmp_path: Path) -> None:
    """stdout on a full disk: the decision is recorded, but the run cannot report it, so exit 2, never 0.

    The error line must not claim that nothing was decided: the store holds the recorded decision.
    """
    project = _ready_project(tmp_path)
    with open("/dev/full", "w", encoding="utf-8") as full:
        result = run_cli("eval", "-m", "svc", "-r", "r1", cwd=project, stdout=full)
    line = _one_error_line(result)
    assert "did not finish and gives no verdict" in line and "nothing was decided" not in line
    store = open_store(str(project / "store.db"))
    assert [(row.module, row.allow) for row in store.list_decisions()] == [("svc", True)]
    store.close()


def test_corrupted_sqlite_page(tmp_path: Path) -> None:
    project = _ready_project(tmp_path)
    db = project / "store.db"
    checkpoint = sqlite3.connect(db)
    checkpoint.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    checkpoint.close()
    size = db.stat().st_size
    with db.open("r+b") as handle:  # every page but the header page
        handle.seek(4096)
        handle.write(os.urandom(size - 4096))
    line = _one_error_line(run_cli("eval", "-m", "svc", cwd=project))
    assert "malformed" in line or "not a database" in line or "corrupt" in line


def test_evidence_from_the_future_is_rejected(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    report = coverage_json(tmp_path / "future.json", 99, 100)
    report.write_text(report.read_text().replace("2026-11-20T10:00:00", "2099-01-01T00:00:00"), encoding="utf-8")
    line = _one_error_line(run_cli("ingest", report, "-m", "svc", cwd=project))
    assert "future.json" in line and "in the future" in line
    assert not open_store(str(project / "store.db")).modules()


def test_decisions_use_the_evaluation_clock(tmp_path: Path) -> None:
    project = _ready_project(tmp_path)
    result = run_cli("eval", "-m", "svc", "--format", "json", cwd=project)
    record = json.loads(result.stdout)
    evidence = open_store(str(project / "store.db")).list_evidence("svc")[0]
    assert record["evaluated_at"] > evidence.ingested_at
    assert evidence.collected_at == "2026-11-20T10:00:00.000000Z"


def test_concurrent_eval_and_ingest_do_not_interfere(tmp_path: Path) -> None:
    project = _ready_project(tmp_path)
    errors: list[str] = []

    def ingest(index: int) -> None:
        result = run_cli("ingest", coverage_json(tmp_path / f"x{index}.json", 90 + index, 100), "-m", "svc", cwd=project)
        if result.returncode != 0:
            errors.append(result.stderr)

    threads = [threading.Thread(target=ingest, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    evaluation = run_cli("eval", "-m", "svc", cwd=project)
    for thread in threads:
        thread.join()
    assert not errors and evaluation.returncode == 0
