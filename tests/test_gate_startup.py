"""What a single `eval` gate loads, and the YAML reader it relies on being both fast and safe.

A CI gate pays every import on every run. The signing stack (sigstore, cryptography, TUF: about 0.3 s)
must load only when something is signed or a signed waiver approval is checked. YAML is read through
libyaml when PyYAML has it; the checks that the pure-Python composer did as it went (no aliases, bounded
nesting) now run on the event stream before anything is composed, and must still refuse what they did.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from readypolicy.policy.pack import _parsed, config_data, load_pack, pack_dir
from readypolicy.safeio import UnsafeInputError, loads_yaml
from support import REPO, coverage_json, make_project, require_opa, run_cli

SIGNING_MODULES = ("readypolicy.signing", "sigstore", "cryptography", "tuf", "securesystemslib")


def imported_modules(stderr: str) -> set[str]:
    """Module names from `-X importtime` lines (`import time: self | cumulative | name`)."""
    return {line.rsplit("|", 1)[1].strip() for line in stderr.splitlines() if line.startswith("import time:")}


def eval_imports(tmp_path: Path) -> set[str]:
    """The modules a plain `eval` of one ingested coverage report imports (no --sign, no waiver_approvers)."""
    project = make_project(tmp_path)
    assert run_cli("ingest", coverage_json(tmp_path / "c.json", 95, 100), "-m", "svc", "-r", "r1",
                   cwd=project).returncode == 0
    done = run_cli("eval", "-m", "svc", "-r", "r1", "--no-record", cwd=project, env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    return imported_modules(done.stderr)


def test_eval_without_approver_keys_does_not_load_the_signing_stack(tmp_path: Path) -> None:
    """A plain `eval` (no --sign, no waiver_approvers) must not import sigstore and friends."""
    modules = eval_imports(tmp_path)
    # The probe sees the eval path: the waiver gate is what used to pull in the signing stack. (The
    # subcommand module itself is loaded by importlib.import_module, which importtime does not list.)
    assert {"readypolicy.evaluate", "readypolicy.waivers.gate"} <= modules
    loaded = sorted(m for m in modules if m.startswith(SIGNING_MODULES))
    assert loaded == []


INGEST_ONLY_MODULES = ("defusedxml", "jsonschema", "requests", "referencing", "readypolicy.evidence.schemas")
"""Parsers and validators of artifacts: an `eval` reads stored, already validated evidence and needs none."""


def test_eval_does_not_load_the_artifact_parsers_or_validators(tmp_path: Path) -> None:
    modules = eval_imports(tmp_path)
    assert "readypolicy.evaluate" in modules
    assert sorted(m for m in modules if m.startswith(INGEST_ONLY_MODULES)) == []


GATE_DEFERRED_MODULES = ("concurrent.futures", "readypolicy.policy.lock", "tarfile", "tempfile", "shutil", "traceback")
"""Off a one-module gate's path: the thread pool (one batch is decided inline), the bundle lock (only
with --locked), staging's temp files (only the first time a pack version is staged), shutil with its
compression modules (only staging, or an OPA looked up on PATH) and the traceback module (only a crash
prints one)."""


def test_a_one_module_gate_loads_no_thread_pool_lock_or_staging(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    assert run_cli("ingest", coverage_json(tmp_path / "c.json", 95, 100), "-m", "svc", "-r", "r1",
                   cwd=project).returncode == 0
    assert run_cli("eval", "-m", "svc", "-r", "r1", "--no-record", cwd=project).returncode == 0  # stages the pack
    # Without the suite's coverage in the child: coverage itself imports traceback.
    done = run_cli("eval", "-m", "svc", "-r", "r1", "--no-record", cwd=project, env={"PYTHONPROFILEIMPORTTIME": "1"},
                   measured=False)
    assert done.returncode == 0, done.stderr[-2000:]
    modules = imported_modules(done.stderr)
    assert "readypolicy.evaluate" in modules
    assert sorted(m for m in modules if m.startswith(GATE_DEFERRED_MODULES)) == []


def test_a_gate_on_the_pinned_opa_runs_one_opa_process(tmp_path: Path) -> None:
    """The restricted capabilities ship with the package: no `opa capabilities` process per gate (about 25 ms)."""
    project = make_project(tmp_path)
    calls = tmp_path / "opa-calls.log"
    wrapper = tmp_path / "opa"
    wrapper.write_text(f'#!/bin/sh\necho "$1" >> {calls}\nexec {require_opa()} "$@"\n', encoding="utf-8")
    wrapper.chmod(0o755)
    config = project / "readypolicy.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace(f"opa: {require_opa()}", f"opa: {wrapper}"), encoding="utf-8")
    assert run_cli("ingest", coverage_json(tmp_path / "c.json", 95, 100), "-m", "svc", "-r", "r1",
                   cwd=project).returncode == 0
    for _ in range(2):
        done = run_cli("eval", "-m", "svc", "-r", "r1", "--no-record", cwd=project)
        assert done.returncode == 0, done.stderr[-2000:]
    # `version` once (cached per binary), then one `eval` per gate; never `capabilities`.
    assert calls.read_text(encoding="utf-8").split() == ["version", "eval", "eval"]


NESTED = 65
"""One level more than safeio's DEFAULT_MAX_DEPTH (64)."""


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[" * NESTED + "]" * NESTED, "nesting deeper than 64"),
        ("a:\n" + "".join("  " * depth + "- \n" for depth in range(1, NESTED)) + "  " * NESTED + "- x\n",
         "nesting deeper than 64"),
        # A nesting bomb for libyaml's recursive C composer; libyaml's scanner may refuse it first
        # ("exceeded maximum nesting depth"): either way it is refused in one line, never composed.
        ("[" * 100_000, "nesting"),
        ("a: &x {k: 1}\nb: {<<: *x}\n", "aliases are not allowed"),  # a merge key is an alias too
        ("&a [*a]\n", "aliases are not allowed"),  # a self-referencing alias: a cycle, never built
    ],
    ids=["flow nesting", "block nesting", "nesting bomb", "merge key alias", "recursive alias"],
)
def test_yaml_bombs_are_refused_before_anything_is_composed(text: str, problem: str) -> None:
    with pytest.raises(UnsafeInputError, match=problem) as refused:
        loads_yaml(text.encode(), "bomb.yaml")
    assert str(refused.value).startswith("bomb.yaml: ")


def test_yaml_just_inside_the_nesting_limit_is_read() -> None:
    """64 nested lists around a scalar are 65 levels of value: refused; 63 around it: read, as before."""
    inside = "[" * 63 + "1" + "]" * 63
    value = loads_yaml(inside.encode(), "ok.yaml")
    for _ in range(63):
        assert isinstance(value, list) and len(value) == 1
        value = value[0]
    assert value == 1
    with pytest.raises(UnsafeInputError, match="nesting deeper than 64"):
        loads_yaml(("[" * 64 + "1" + "]" * 64).encode(), "deep.yaml")


def test_pack_config_is_parsed_once_and_each_caller_gets_its_own_copy() -> None:
    """Parsing once per process must not share one dict: a caller editing it cannot change the next lane's catalog."""
    policy = load_pack(pack_dir(REPO / "policies", "readiness"))
    expected = yaml.safe_load((REPO / "policies" / "config" / "data.yaml").read_text(encoding="utf-8"))
    first = config_data(policy.files, policy.root, policy.pack)
    assert first == expected
    hits = _parsed.cache_info().hits
    first["lanes"].clear()
    second = config_data(policy.files, policy.root, policy.pack)
    assert _parsed.cache_info().hits == hits + 1  # served from the parse cache...
    assert second == expected  # ...yet untouched by the first caller's edit
