"""Helpers for tests that drive the real CLI and the real OPA binary."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest
from synthetic_fleet import coverage_report, populate

from pgserver import PgServer, PgServerError, start_server
from readypolicy.cli.context import REVISION_VARIABLES
from readypolicy.config import load_config
from readypolicy.runtime import Runtime
from readypolicy.store.open import open_store

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
ARTIFACTS = FIXTURES / "artifacts"
OPA = REPO / ".tools" / "bin" / "opa"
CI_REVISION_VARIABLES = frozenset(variable for variable, _ci in REVISION_VARIABLES)
"""Commit variables of CI systems: the CLI decides the revision they name, so tests must not inherit them."""


def require_opa() -> Path:
    """The project's OPA binary; CI must have it (scripts/install-opa), locally a missing one skips."""
    if OPA.is_file():
        return OPA
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("OPA is not installed; `make test` runs scripts/install-opa first")
    pytest.skip("OPA not installed (run scripts/install-opa)")



@contextmanager
def synthetic_fleet_runtime(directory: Path, modules: int) -> Iterator[tuple[Runtime, Path]]:
    """A runtime over `directory/fleet.db` holding `modules` synthetic modules (real normalized evidence), and its config."""
    db = directory / "fleet.db"
    store = open_store(str(db))
    try:
        populate(store, modules)
    finally:
        store.close()
    config = directory / "readypolicy.yaml"
    config.write_text(
        f"store: {db}\npolicies: {REPO / 'policies'}\nopa: {require_opa()}\ncache_dir: {directory / 'cache'}\nactor: t\n",
        encoding="utf-8",
    )
    rt = Runtime(load_config(config))
    try:
        yield rt, config
    finally:
        rt.close()

def start_server_or_skip() -> PgServer:
    """A new throwaway PostgreSQL cluster; CI must be able to start one, locally a failure skips."""
    try:
        return start_server()
    except PgServerError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL is required in CI but could not be started: {exc}")
        pytest.skip(f"PostgreSQL unavailable: {exc}")


def run_cli(
    *args: str | os.PathLike[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 120,
    preexec_fn: object = None, user: str | None = None, measured: bool = True, stdout: IO[str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `python -m readypolicy ARGS` as a real process in `cwd`.

    `measured=False` keeps coverage out of the child, for faults (like a file-size limit) that
    would also break coverage's own data file and add its complaints to stderr. `stdout` sends the
    child's standard output to a file instead of capturing it.
    """
    dropped = ("READYPOLICY_",) if measured else ("READYPOLICY_", "COVERAGE_")
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(dropped) and k not in CI_REVISION_VARIABLES}
    full_env.update({"READYPOLICY_ACTOR": "test", "PYTHONPATH": str(REPO / "engine")})
    full_env.update(env or {})
    argv = [sys.executable, "-m", "readypolicy", *map(str, args)]
    if user is not None:
        argv = ["runuser", "-u", user, "--", *argv]
    return subprocess.run(
        argv, cwd=cwd, env=full_env, stdout=subprocess.PIPE if stdout is None else stdout, stderr=subprocess.PIPE,
        text=True, timeout=timeout, check=False,
        preexec_fn=preexec_fn,  # type: ignore[arg-type]
    )


def make_project(tmp: Path, pack: str = "mini") -> Path:
    """A throwaway project: a readypolicy.yaml pointing at a copy of a test pack and the real OPA."""
    opa = require_opa()
    project = tmp / "project"
    shutil.copytree(FIXTURES / "packs", project / "policies" / "packs")
    (project / "readypolicy.yaml").write_text(
        f"store: store.db\npolicies: policies\npack: {pack}\nlanes: [candidate]\nopa: {opa}\nopa_timeout_s: 20\n",
        encoding="utf-8",
    )
    return project


def coverage_json(path: Path, covered: int, total: int) -> Path:
    """A coverage.py JSON report with the given totals (shape as coverage.py 7 writes it)."""
    path.write_text(json.dumps(coverage_report(covered, total)), encoding="utf-8")
    return path
