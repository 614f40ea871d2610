"""A staged bundle in the writable cache is used only when it is exactly the policy set it is named after.

`eval` stages the pack's sources into `.readypolicy/cache/policies/<pack>@<version>-<digest>/` and OPA
loads that directory, while the decision names the sources' digest. Whoever can write the cache could
otherwise swap the Rego that decides (a floor lowered, a file added) under an unchanged digest.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from readypolicy.store.open import open_store
from support import coverage_json, make_project, run_cli


def _project(tmp_path: Path) -> Path:
    """The mini pack (coverage must be above 70%) and a module at 50%: NOT READY, exit 1."""
    project = make_project(tmp_path)
    report = coverage_json(tmp_path / "coverage.json", covered=50, total=100)
    assert run_cli("ingest", report, "-m", "svc", "-r", "r1", cwd=project).returncode == 0
    return project


def _eval(project: Path, *extra: str) -> tuple[int, str]:
    done = run_cli("eval", "-m", "svc", "-r", "r1", *extra, cwd=project)
    return done.returncode, done.stderr.strip()


def _staged(project: Path) -> Path:
    [staged] = (project / ".readypolicy" / "cache" / "policies").glob("mini@*")
    return staged


def _decisions(project: Path) -> int:
    store = open_store(str(project / "store.db"))
    try:
        return len(list(store.list_decisions()))
    finally:
        store.close()


def _lower_the_floor(staged: Path) -> None:
    rego = next(staged.rglob("candidate.rego"))
    text = rego.read_text(encoding="utf-8")
    assert "> 70" in text
    rego.write_text(text.replace("> 70", "> 10"), encoding="utf-8")


def _add_a_file(staged: Path) -> None:
    (next(staged.rglob("candidate.rego")).parent / "extra.rego").write_text(
        "package mini.extra\n\nimport rego.v1\n\nx := 1\n", encoding="utf-8"
    )


def _symlink_a_folder(staged: Path) -> None:
    elsewhere = staged.parent.parent / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "more.rego").write_text("package mini.more\n\nimport rego.v1\n\ny := 1\n", encoding="utf-8")
    os.symlink(elsewhere, staged / "linked")


def _remove_the_rego(staged: Path) -> None:
    next(staged.rglob("candidate.rego")).unlink()


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        pytest.param(_lower_the_floor, "staged file mini/candidate/candidate.rego is not the policy's", id="floor lowered"),
        pytest.param(_add_a_file, "staged file mini/candidate/extra.rego is not the policy's", id="file added"),
        pytest.param(_symlink_a_folder, "staged bundle holds a symlink (linked)", id="folder symlinked"),
        pytest.param(_remove_the_rego, "staged bundle lacks mini/candidate/candidate.rego", id="file removed"),
    ],
)
def test_a_tampered_staged_bundle_is_refused_and_nothing_recorded(
    tmp_path: Path, tamper: Callable[[Path], None], expected: str
) -> None:
    project = _project(tmp_path)
    assert _eval(project)[0] == 1  # control: the honest pack says NOT READY and stages its bundle
    staged = _staged(project)
    tamper(staged)
    code, error = _eval(project)
    assert code == 2, error
    assert [line for line in error.splitlines() if line] == [error], error
    assert str(staged) in error and expected in error, error
    assert _decisions(project) == 1  # only the honest decision


def test_a_tampered_staged_bundle_is_refused_when_opa_was_started_ahead(tmp_path: Path) -> None:
    """With `--lane`, OPA starts before the store is read, from the staged path alone; the evaluation that
    hands it its input checks the staged files first, so the lowered floor is still refused."""
    project = _project(tmp_path)
    assert _eval(project, "--lane", "candidate")[0] == 1
    staged = _staged(project)
    _lower_the_floor(staged)
    code, error = _eval(project, "--lane", "candidate")
    assert code == 2, error
    assert "staged file mini/candidate/candidate.rego is not the policy's" in error, error
    assert _decisions(project) == 1


def test_an_untouched_staged_bundle_is_reused_and_a_removed_one_staged_again(tmp_path: Path) -> None:
    project = _project(tmp_path)
    assert _eval(project)[0] == 1
    staged = _staged(project)
    first = staged.stat().st_ino
    assert _eval(project)[0] == 1
    assert _staged(project).stat().st_ino == first
    shutil.rmtree(staged)
    assert _eval(project)[0] == 1
    assert _decisions(project) == 3
