"""The import-linter contracts (pyproject.toml `[tool.importlinter]`) hold, and they catch what they are for.

Each planted change is an import a later edit could bring back without anyone noticing; the real
`lint-imports` runs over a copy of the package with that change and must break the named contract.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` with root's pyproject.toml over root's engine/ (ahead of the installed package)."""
    env = {**os.environ, "PYTHONPATH": str(root / "engine")}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env, capture_output=True, text=True,
                          check=False, timeout=300)


def test_the_tree_keeps_every_import_contract() -> None:
    done = _lint_imports(REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


PLANTED = {
    "the store imports audit": (
        "store/sql.py", "from readypolicy.audit import trail  # noqa\n",
        "readypolicy.store is not allowed to import readypolicy.audit"),
    "replay depends on the CLI's wiring object": (
        "replay.py", "from readypolicy.runtime import Runtime  # noqa\n",
        "readypolicy.replay is not allowed to import readypolicy.runtime"),
    "drift depends on the CLI's wiring object": (
        "drift/detect.py", "from readypolicy.runtime import Runtime  # noqa\n",
        "readypolicy.drift is not allowed to import readypolicy.runtime"),
    "the library imports the CLI": (
        "evaluate.py", "from readypolicy.cli import context  # noqa\n",
        "readypolicy.evaluate is not allowed to import readypolicy.cli"),
    "the pack's core imports a feature built on evaluation": (
        "policy/pack.py", "from readypolicy.policy import whatif  # noqa\n",
        "readypolicy.policy.pack is not allowed to import readypolicy.policy.whatif"),
    "a new top-level module no layer names": (
        "unplaced.py", "VALUE = 1\n", "- readypolicy.unplaced"),
    "a new module of policy/ in neither of its layers": (
        "policy/unplaced.py", "VALUE = 1\n", "- readypolicy.policy.unplaced"),
}


@pytest.mark.parametrize("attack", sorted(PLANTED))
def test_a_planted_upward_import_breaks_a_contract(tmp_path: Path, attack: str) -> None:
    relative, line, expected = PLANTED[attack]
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    package = tmp_path / "engine" / "readypolicy"
    shutil.copytree(REPO / "engine" / "readypolicy", package, ignore=shutil.ignore_patterns("__pycache__"))
    target = package / relative
    target.write_text((target.read_text() if target.exists() else "") + line, encoding="utf-8")
    done = _lint_imports(tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert expected in done.stdout, done.stdout
