"""Where the policy that decides comes from: nothing outside the configured, digested policy may run.

Two attacks from a red-team review, each a wrong READY before its guard: a pack directory in the CI
job's working directory (the module's own checkout) named like the configured pack, and a bundle
member the policy digest leaves out but `opa eval --bundle` loads.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from policy_project import make_project
from readypolicy.policy.interface import PolicyError
from readypolicy.policy.pack import pack_dir
from support import run_cli

ARGS = ("--module", "payments", "--lane", "candidate", "--revision", "abc")


def _advisory_copy(source: Path, target: Path) -> None:
    """A copy of a pack whose every check is advisory: every module it decides is READY."""
    shutil.copytree(source, target)
    data = target / "config" / "data.yaml"
    text = data.read_text(encoding="utf-8")
    assert "  default: blocking" in text
    data.write_text(text.replace("  default: blocking", "  default: advisory"), encoding="utf-8")


def test_a_pack_directory_in_the_working_directory_does_not_replace_the_configured_pack(tmp_path: Path) -> None:
    """`pack: readiness` is a name: a `readiness/pack.yaml` in the checkout CI runs in must not decide the gate."""
    project = make_project(tmp_path)
    checkout = tmp_path / "checkout"
    _advisory_copy(project.root / "policies", checkout / "readiness")
    args = ("--config", str(project.config), "eval", *ARGS, "--format", "json", "--no-record")
    honest = run_cli(*args, cwd=project.root)
    assert honest.returncode == 1, honest.stderr
    hijacked = run_cli(*args, cwd=checkout)
    assert hijacked.returncode == 1, hijacked.stderr
    assert json.loads(hijacked.stdout)["policy"]["digest"] == json.loads(honest.stdout)["policy"]["digest"]


def test_a_relative_pack_path_is_the_project_roots_not_the_working_directorys(tmp_path: Path) -> None:
    """A pack written as a path resolves against the project root, like every configured path."""
    project = make_project(tmp_path)
    checkout = tmp_path / "checkout"
    _advisory_copy(project.root / "policies", checkout / "mine")
    env = {"READYPOLICY_PACK": "./mine"}
    refused = run_cli("--config", str(project.config), "eval", *ARGS, "--no-record", cwd=checkout, env=env)
    assert refused.returncode == 2
    assert f"no policy pack at {project.root / 'mine'}" in refused.stderr
    shutil.copytree(project.root / "policies", project.root / "mine")
    decided = run_cli("--config", str(project.config), "eval", *ARGS, "--no-record", cwd=checkout, env=env)
    assert decided.returncode == 1, decided.stderr


def test_a_bare_name_is_looked_up_only_under_the_policies_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The library call itself: a same-named directory in the working directory is not a pack."""
    policies = tmp_path / "platform" / "policies"
    shutil.copytree(Path(__file__).resolve().parent.parent / "policies", policies)
    _advisory_copy(policies, tmp_path / "cwd" / "readiness")
    monkeypatch.chdir(tmp_path / "cwd")
    assert pack_dir(policies, "readiness", tmp_path / "platform") == policies
    with pytest.raises(PolicyError, match="no policy pack 'ghost'"):
        pack_dir(policies, "ghost", tmp_path / "platform")


def _clean_bandit_report(tmp_path: Path) -> Path:
    """A real bandit run over one harmless file."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "ok.py").write_text("def add(a: int, b: int) -> int:\n    return a + b\n", encoding="utf-8")
    report = tmp_path / "bandit-clean.json"
    subprocess.run([sys.executable, "-m", "bandit", "-r", str(tmp_path / "pkg"), "-f", "json", "-o", str(report), "-q"],
                   check=True, capture_output=True)
    return report


@pytest.mark.parametrize(
    ("member", "body"),
    [
        ("/readiness/checks/zz_test.rego", b"package readiness.checks\n\nimport rego.v1\n\nsast_tool_ran(_) if true\n"),
        ("/readiness/notes.txt", b"not a policy file\n"),
    ],
    ids=["a test module that overrides a rule", "an unknown file"],
)
def test_a_bundle_member_outside_the_policy_digest_is_refused(tmp_path: Path, member: str, body: bytes) -> None:
    """`opa eval --bundle` loads a `_test.rego` like any module; a bundle holding one is refused (exit 2).

    Before the guard, the extra rule made security.sast pass without the semgrep report the lane requires,
    and the decision named the clean bundle's digest.
    """
    project = make_project(tmp_path)
    assert project.run("ingest", *ARGS[:2], *ARGS[4:], str(_clean_bandit_report(tmp_path))).exit_code == 0
    assert project.run("policy", "build").exit_code == 0
    [clean] = project.bundles.glob("readiness-*.tar.gz")
    [honest] = project.eval_records(*ARGS, "--no-record", "--bundle", str(clean))
    sast = next(check for check in honest["checks"] if check["id"] == "security.sast")
    assert sast["status"] == "fail"
    evil = tmp_path / "readiness-evil.tar.gz"
    with tarfile.open(clean, "r:gz") as src, tarfile.open(evil, "w:gz") as out:
        for entry in src:
            out.addfile(entry, src.extractfile(entry) if entry.isfile() else None)
        extra = tarfile.TarInfo(member)
        extra.size = len(body)
        out.addfile(extra, io.BytesIO(body))
    done = run_cli("--config", str(project.config), "eval", *ARGS, "--no-record", "--bundle", str(evil), cwd=project.root)
    assert done.returncode == 2, done.stdout
    assert f"member {member.lstrip('/')!r} is not covered by the bundle's policy digest" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
