"""The gate starts OPA before it reads the evidence, and nothing between the start and the answer can leak.

`eval` of one module now starts `opa eval --stdin-input` first, reads the evidence and builds the input
while OPA starts, hands the input over, and loads its report code while OPA compiles. Every way that can
go wrong must still end in exit 2 with no OPA process left behind: an OPA that dies, hangs (also while
Python is still writing its input), prints garbage, or gets no input, and a Python error after the start.
Real OPA, real processes: the wrappers below stand in for a broken or hostile binary.
"""

from __future__ import annotations

import gc
import stat
import subprocess
import sys
import time
import weakref
from pathlib import Path
from typing import Any

import pytest

import readypolicy.evaluate as evaluate_module
from readypolicy.canonical import rfc3339, utc_now
from readypolicy.cli.eval import FORMAT_NAMES
from readypolicy.config import load_config
from readypolicy.engines.capabilities import SHIPPED
from readypolicy.engines.interface import EngineError
from readypolicy.engines.opa_binary import OpaBinary, OpaProcess
from readypolicy.engines.opa_cli import OpaCliEngine, OpaRun, batch_query
from readypolicy.engines.prestarted import PrestartedEngine
from readypolicy.evaluate import Subject, evaluate
from readypolicy.policy import stage
from readypolicy.report.registry import FORMATS
from readypolicy.runtime import Runtime
from readypolicy.store.open import open_store
from support import OPA, REPO, coverage_json, make_project, require_opa, run_cli


def _project(tmp_path: Path) -> Path:
    project = make_project(tmp_path)
    done = run_cli("ingest", coverage_json(tmp_path / "c.json", 95, 100), "-m", "svc", "-r", "r1", cwd=project)
    assert done.returncode == 0, done.stderr
    return project


def _wrapper(tmp_path: Path, body: str) -> Path:
    """An `opa` that is the real binary for `version`, and `body` for `eval`."""
    script = tmp_path / "opa-wrapper"
    script.write_text(f'#!/bin/sh\nif [ "$1" != "eval" ]; then exec {OPA} "$@"; fi\n{body}\n', encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def _alive(pid: int) -> bool:
    """Whether `pid` is a running process (a zombie waiting for its reaper counts as gone)."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return False
    return status.rsplit(")", 1)[1].split()[0] != "Z"


def _gone_soon(pid: int, within_s: float = 5.0) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def _one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    lines = [line for line in done.stderr.strip().splitlines() if line.startswith("readypolicy: ")
             and not line.startswith(("readypolicy: note: ", "readypolicy: warning: "))]
    assert len(lines) == 1 and lines[0].startswith("readypolicy: error: "), done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


@pytest.mark.parametrize("lane", [(), ("--lane", "candidate")], ids=["started by the evaluation", "started ahead"])
def test_the_opa_argv_is_unchanged_strict_restricted_and_on_stdin(tmp_path: Path, lane: tuple[str, ...]) -> None:
    """Starting OPA early must not drop a flag: strict, builtin errors fatal, the shipped capabilities, stdin input."""
    project = _project(tmp_path)
    calls = tmp_path / "argv.log"
    opa = _wrapper(tmp_path, f'printf "%s\\n" "$@" >> {calls}\nexec {require_opa()} "$@"')
    done = run_cli("--opa", opa, "eval", "-m", "svc", "-r", "r1", "--no-record", *lane, cwd=project)
    assert done.returncode == 0, done.stderr
    argv = calls.read_text(encoding="utf-8").splitlines()
    rt = Runtime(load_config(project / "readypolicy.yaml"))
    policy = rt.policy()
    bundle = stage.load(policy, rt.cache_dir).path
    rt.close()
    assert argv == [
        "eval", "--format", "raw", "--strict", "--strict-builtin-errors", "--optimize-store-for-read-speed", "--stdin-input",
        "--capabilities", str(SHIPPED), "--bundle", str(bundle), batch_query(policy.query("candidate")),
    ]


@pytest.mark.parametrize(("given", "expected"), [
    ({}, "off|512MiB"),
    ({"GOGC": "50"}, "50|"),
    ({"GOMEMLIMIT": "2GiB"}, "|2GiB"),
], ids=["defaulted", "caller's GOGC kept alone", "caller's GOMEMLIMIT kept alone"])
def test_opa_collects_only_near_its_memory_limit_unless_the_caller_chose(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: dict[str, str], expected: str,
) -> None:
    """OPA's collector waits for 512 MiB for speed; a caller who set either variable (a small runner) gets only its own."""
    monkeypatch.delenv("GOGC", raising=False)
    monkeypatch.delenv("GOMEMLIMIT", raising=False)
    project = _project(tmp_path)
    seen = tmp_path / "collector.log"
    opa = _wrapper(tmp_path, f'printf "%s|%s\\n" "$GOGC" "$GOMEMLIMIT" >> {seen}\nexec {require_opa()} "$@"')
    done = run_cli("--opa", opa, "eval", "-m", "svc", "-r", "r1", "--no-record", cwd=project, env=given)
    assert done.returncode == 0, done.stderr
    assert seen.read_text(encoding="utf-8").splitlines() == [expected]


def test_opa_starts_before_the_evidence_is_read_and_report_code_loads_while_it_compiles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The order that makes the gate fast: start, evidence, input handed over, then the caller's other work, then wait."""
    project = _project(tmp_path)
    events: list[str] = []
    real_start, real_feed, real_wait = OpaBinary.start, OpaProcess.feed, OpaProcess.wait
    real_evidence = evaluate_module.current_evidence

    def start(self: OpaBinary, args: list[str]) -> OpaProcess:
        events.append("start")
        return real_start(self, args)

    def feed(self: OpaProcess, data: bytes) -> None:
        events.append("input")
        real_feed(self, data)

    def wait(self: OpaProcess) -> subprocess.CompletedProcess[bytes]:
        events.append("wait")
        return real_wait(self)

    def evidence(store: Any, subject: Subject) -> Any:
        events.append("evidence")
        return real_evidence(store, subject)

    monkeypatch.setattr(OpaBinary, "start", start)
    monkeypatch.setattr(OpaProcess, "feed", feed)
    monkeypatch.setattr(OpaProcess, "wait", wait)
    monkeypatch.setattr(evaluate_module, "current_evidence", evidence)
    rt = Runtime(load_config(project / "readypolicy.yaml"))
    try:
        decided = list(evaluate(
            store=rt.store, engine=rt.engine(), policy=rt.policy(), cache_dir=rt.cache_dir, lane="candidate",
            subjects=[Subject("svc", "r1")], now=rfc3339(utc_now()), meanwhile=lambda: events.append("meanwhile"),
        ))
    finally:
        rt.close()
    assert [e.record["allow"] for e in decided] == [True]
    assert events == ["start", "evidence", "input", "meanwhile", "wait"]


def test_a_python_error_after_opa_started_kills_it_in_the_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An input that cannot be built (a bug stand-in) propagates, and the OPA already started is dead, not orphaned."""
    project = _project(tmp_path)
    started: list[OpaProcess] = []
    real_start = OpaBinary.start

    def start(self: OpaBinary, args: list[str]) -> OpaProcess:
        started.append(real_start(self, args))
        return started[-1]

    def broken_input(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("bug")

    monkeypatch.setattr(OpaBinary, "start", start)
    monkeypatch.setattr(evaluate_module, "build_input", broken_input)
    rt = Runtime(load_config(project / "readypolicy.yaml"))
    try:
        with pytest.raises(KeyError):
            list(evaluate(store=rt.store, engine=rt.engine(), policy=rt.policy(), cache_dir=rt.cache_dir,
                          lane="candidate", subjects=[Subject("svc", "r1")], now=rfc3339(utc_now())))
    finally:
        rt.close()
    [process] = started
    assert process.process.returncode is not None  # killed and reaped before the error left `evaluate`
    assert not _alive(process.process.pid)


AFTER_OPA_STARTED = (
    "import os, pathlib, sys, time\n"
    "import {module} as target\n"
    "real = target.{name}\n"
    "def patched(*args, **kwargs):\n"
    "    pidfile = pathlib.Path(os.environ['GATE_TEST_PIDFILE'])\n"
    "    for _ in range(400):  # until the stand-in OPA has written its pid (it was started before this call)\n"
    "        if pidfile.is_file() and pidfile.read_text().strip():\n"
    "            break\n"
    "        time.sleep(0.025)\n"
    "    {action}\n"
    "target.{name} = patched\n"
    "from readypolicy.cli.main import main\n"
    "sys.argv[0] = 'readypolicy'\n"
    "main()\n"
)
"""The real entry point with one function wrapped to run only once the stand-in OPA is running, then `action`."""


def _run_after_opa_started(tmp_path: Path, project: Path, module: str, name: str, action: str,
                           *args: str) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run the CLI with a stand-in OPA that records its pid and sleeps ten minutes; (result, that pid)."""
    pidfile = tmp_path / "opa.pid"
    opa = _wrapper(tmp_path, f"echo $$ > {pidfile}\nexec sleep 600")
    env = {"PYTHONPATH": str(REPO / "engine"), "PATH": "/usr/bin:/bin", "READYPOLICY_DEBUG": "0",
           "GATE_TEST_PIDFILE": str(pidfile)}
    entry = AFTER_OPA_STARTED.format(module=module, name=name, action=action)
    done = subprocess.run([sys.executable, "-c", entry, "--opa", str(opa), *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    return done, int(pidfile.read_text(encoding="utf-8"))  # no pid file: OPA was not started before the call


def test_a_python_error_after_opa_started_is_exit_2_and_leaves_no_opa_running(tmp_path: Path) -> None:
    """The CLI crashes between starting OPA and handing it the input: exit 2, one line, and the OPA is killed.

    The stand-in OPA would sleep for ten minutes: an orphan would still be alive.
    """
    project = _project(tmp_path)
    done, pid = _run_after_opa_started(tmp_path, project, "readypolicy.evaluate", "build_input",
                                       "raise KeyError('secret artifact bytes')", "eval", "-m", "svc", "-r", "r1")
    line = _one_error_line(done)
    assert "unexpected KeyError" in line and "secret artifact bytes" not in line
    assert _gone_soon(pid), f"OPA stand-in {pid} outlived the crashed gate"


def test_opa_that_never_reads_a_large_input_hits_the_deadline(tmp_path: Path) -> None:
    """A hung OPA with an input larger than the pipe holds: writing it would block forever without the deadline."""
    project = _project(tmp_path)
    pidfile = tmp_path / "opa.pid"
    opa = _wrapper(tmp_path, f"echo $$ > {pidfile}\nexec sleep 600")
    rt = Runtime(load_config(project / "readypolicy.yaml"))
    loaded = stage.load(rt.policy(), rt.cache_dir)
    rt.close()
    engine = OpaCliEngine(OpaBinary(path=opa, cache_dir=tmp_path / "cache", timeout_s=1.5))
    began = time.monotonic()
    with pytest.raises(EngineError, match=r"did not finish within 1.5s"):
        engine.evaluate(loaded, "data.mini.candidate.decision", [{"padding": "x" * (4 << 20)}])
    assert time.monotonic() - began < 15
    pid = int(pidfile.read_text(encoding="utf-8"))
    assert _gone_soon(pid)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # The input never reaches OPA: it evaluates an empty stdin (input is null).
        (f'exec {OPA} "$@" </dev/null', "OPA returned 0 results for 1 inputs"),
        # Our input is swallowed and OPA is handed an empty batch instead.
        (f"cat >/dev/null\necho '{{\"batch\": []}}' | {OPA} \"$@\"", "OPA returned 0 results for 1 inputs"),
    ],
    ids=["empty stdin", "empty batch"],
)
def test_opa_handed_no_input_is_exit_2(tmp_path: Path, body: str, expected: str) -> None:
    project = _project(tmp_path)
    line = _one_error_line(run_cli("--opa", _wrapper(tmp_path, body), "eval", "-m", "svc", "-r", "r1", cwd=project))
    assert expected in line


def test_the_written_out_format_names_are_the_registry() -> None:
    """`eval --format` lists the names without loading the formats; the list must be the registry's."""
    assert tuple(sorted(FORMATS)) == FORMAT_NAMES


def test_a_vanished_binary_at_start_is_an_engine_error(tmp_path: Path) -> None:
    """A binary that vanished between lookup and start is an EngineError (exit 2), never a crash."""
    with pytest.raises(EngineError, match="vanished"):
        OpaBinary(path=tmp_path / "gone", cache_dir=tmp_path).start(["eval"])


def test_opa_started_before_the_store_is_read_is_killed_when_the_subject_is_unknown(tmp_path: Path) -> None:
    """`eval --lane L` starts OPA before it resolves the module; a module with no evidence is exit 2 and no OPA lives on."""
    project = _project(tmp_path)
    done, pid = _run_after_opa_started(tmp_path, project, "readypolicy.gate", "choose_subjects",
                                       "return real(*args, **kwargs)",
                                       "eval", "-m", "nobody", "-r", "r1", "--lane", "candidate")
    assert "no evidence stored for module 'nobody'" in _one_error_line(done)
    assert _gone_soon(pid), f"OPA stand-in {pid} outlived the failed gate"


def test_a_prestarted_opa_serves_only_the_evaluation_it_was_started_for(tmp_path: Path) -> None:
    """Another query gets a fresh OPA, and the one started ahead is ended at once, never handed that input."""
    project = _project(tmp_path)
    rt = Runtime(load_config(project / "readypolicy.yaml"))
    try:
        loaded = stage.load(rt.policy(), rt.cache_dir)
        engine = PrestartedEngine(rt.engine(), loaded, "data.mini.nosuchlane.decision")
        ahead = engine._ready
        assert isinstance(ahead, OpaRun)
        decided = list(evaluate(store=rt.store, engine=engine, policy=rt.policy(), cache_dir=rt.cache_dir,
                                lane="candidate", subjects=[Subject("svc", "r1")], now=rfc3339(utc_now())))
        assert [e.record["allow"] for e in decided] == [True]
        assert ahead.process.process.returncode is not None and not _alive(ahead.process.process.pid)
    finally:
        rt.close()


def test_the_runtime_ends_an_opa_nobody_took(tmp_path: Path) -> None:
    project = _project(tmp_path)
    rt = Runtime(load_config(project / "readypolicy.yaml"))
    rt.prestart("candidate")
    ahead = rt.engine()
    assert isinstance(ahead, PrestartedEngine) and isinstance(ahead._ready, OpaRun)
    process = ahead._ready.process.process
    rt.close()
    assert process.returncode is not None and not _alive(process.pid)


def test_a_finished_opa_run_is_freed_at_once_not_by_the_cycle_collector(tmp_path: Path) -> None:
    """A batch's OPA output (megabytes) must go when the run ends: a reference cycle (a timer holding a bound
    method) kept it until Python's cycle collector ran, which raised `eval --all`'s peak memory."""
    project = _project(tmp_path)
    rt = Runtime(load_config(project / "readypolicy.yaml"))
    policy = rt.policy()
    loaded = stage.load(policy, rt.cache_dir)
    engine = OpaCliEngine(rt.opa())
    gc.disable()
    try:
        run = engine.start(loaded, policy.query("candidate"))
        run.send([{"module": "svc"}])
        assert isinstance(run.result(), list)
        run.close()
        freed = weakref.ref(run.process)
        del run
        assert freed() is None
    finally:
        gc.enable()
        rt.close()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("exec sleep 600", "did not finish within 2s"),
        ("cat >/dev/null\necho 'panic: runtime error: garbage'", "not a JSON result"),
        ("cat >/dev/null\nkill -9 $$", "OPA exited with status -9"),
        (f'exec {OPA} "$@" </dev/null', "OPA returned 0 results for 1 inputs"),
    ],
    ids=["hangs", "garbage", "dies", "no input"],
)
def test_an_opa_started_ahead_that_fails_is_exit_2(tmp_path: Path, body: str, expected: str) -> None:
    """`--lane` starts OPA before the store is read: a hung, dying, lying or starved OPA is still exit 2, nothing stored."""
    project = _project(tmp_path)
    done = run_cli("--opa", _wrapper(tmp_path, body), "--opa-timeout", "2", "eval", "-m", "svc", "-r", "r1",
                   "--lane", "candidate", cwd=project)
    assert expected in _one_error_line(done)
    store = open_store(str(project / "store.db"))
    try:
        assert store.list_decisions() == []
    finally:
        store.close()
