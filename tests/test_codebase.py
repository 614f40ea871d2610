"""Facts about the codebase itself: every import is declared, and the lane list is held once."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from readypolicy.decision.catalog import required_checks
from readypolicy.engines.locate import find_opa
from readypolicy.engines.opa_binary import OpaBinary
from readypolicy.engines.opa_cli import OpaCliEngine
from readypolicy.policy import stage
from readypolicy.policy.interface import PolicyError, PolicySet
from readypolicy.policy.pack import load_pack
from support import REPO

DEPTRY = REPO / ".venv" / "bin" / "deptry"


def test_every_imported_package_is_declared() -> None:
    """`make deptry` (run by `make lint` and `make test`) is clean on engine/, tests/ and benchmarks/."""
    done = subprocess.run(["make", "--no-print-directory", "deptry"], cwd=REPO, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (done.stdout + done.stderr).count("No dependency issues found") == 2


def test_library_importing_an_undeclared_or_dev_only_package_fails_deptry(tmp_path: Path) -> None:
    """The attack: engine/ starts using a package that only happens to be installed (pulled in by another
    package, or by the dev extra); a fresh install without it would crash. deptry must refuse both."""
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    package = tmp_path / "engine" / "readypolicy"
    package.mkdir(parents=True)
    used = ["click", "yaml", "jsonschema", "rfc8785", "defusedxml", "cryptography", "sigstore", "opa_client", "psycopg",
            "pydantic", "sigstore_models", "rfc3161_client", "requests", "referencing", "jinja2", "jsonschema_rs"]
    (package / "__init__.py").write_text("".join(f"import {name}  # noqa: F401\n" for name in used))
    clean = subprocess.run([str(DEPTRY), "engine"], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert clean.returncode == 0, clean.stdout + clean.stderr

    (package / "sneaky.py").write_text("import idna  # noqa: F401\nimport jwt  # noqa: F401\n")
    done = subprocess.run([str(DEPTRY), "engine", "--no-ansi"], cwd=tmp_path, capture_output=True, text=True, check=False)
    out = done.stdout + done.stderr
    assert done.returncode != 0
    assert "sneaky.py:1:8: DEP003 'idna' imported but it is a transitive dependency" in out, out
    assert "sneaky.py:2:8: DEP004 'jwt' imported but declared as a dev dependency" in out, out


PACKS = {name: REPO / "policies" / "packs" / name for name in ("priority", "enterprise")} | {"readiness": REPO / "policies"}
LANE_LIST = re.compile(r"""candidate["']?\s*,\s*["']?integration["']?\s*,\s*["']?production""")


def _engine(tmp_path: Path) -> OpaCliEngine:
    return OpaCliEngine(OpaBinary(find_opa(None, REPO), tmp_path / "opa"))


def _decide(engine: OpaCliEngine, policy: PolicySet, cache: Path, query: str) -> Any:
    [value] = engine.evaluate(stage.load(policy, cache), query, [{}])
    return value


def _copy_pack(tmp_path: Path) -> Path:
    pack = tmp_path / "policies"
    shutil.copytree(REPO / "policies", pack, ignore=shutil.ignore_patterns("packs"))
    return pack


def _edit_yaml(path: Path, change: Any) -> None:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


@pytest.mark.parametrize("pack", sorted(PACKS))
def test_config_lane_order_is_the_lane_list_python_rego_and_the_catalog_use(pack: str, tmp_path: Path) -> None:
    directory = PACKS[pack]
    config = yaml.safe_load((directory / "config" / "data.yaml").read_text(encoding="utf-8"))
    written = config["lane_order"]
    assert "lanes" not in yaml.safe_load((directory / "pack.yaml").read_text(encoding="utf-8"))  # held once
    policy = load_pack(directory)
    assert list(policy.lanes) == written and all(policy.lanes[lane] == lane for lane in written)
    assert _decide(_engine(tmp_path), policy, tmp_path / "cache", f"data.{policy.root}.lib.lane_order") == written
    # The catalog's per-lane tables name no lane the pack does not have, and miss none.
    assert list(config["lanes"]) == written
    assert set(config["waivers"]["lifetime_days_max"]) == set(written)


def test_reordered_lane_order_reorders_python_and_the_policy(tmp_path: Path) -> None:
    """No other lane list is left: put production at the bottom of `lane_order` and both halves follow."""
    pack = _copy_pack(tmp_path)
    _edit_yaml(pack / "config" / "data.yaml", lambda doc: doc.update(lane_order=["production", "integration", "candidate"]))
    policy = load_pack(pack)
    assert list(policy.lanes) == ["production", "integration", "candidate"]
    catalog = yaml.safe_load((pack / "config" / "data.yaml").read_text(encoding="utf-8"))["lanes"]
    engine = _engine(tmp_path)
    checks = _decide(engine, policy, tmp_path / "cache", 'data.readiness.lib.lane_checks("production")')
    assert checks == catalog["production"]["checks"]
    everything = [c for lane in ("production", "integration", "candidate") for c in catalog[lane]["checks"]]
    assert _decide(engine, policy, tmp_path / "cache", 'data.readiness.lib.lane_checks("candidate")') == everything
    assert required_checks(policy, "candidate") == tuple(everything)


def test_a_second_lane_list_that_disagrees_is_refused(tmp_path: Path) -> None:
    """The attack: pack.yaml names the lanes in another order than the Rego reads them; readypolicy refuses the pack."""
    pack = _copy_pack(tmp_path)
    _edit_yaml(pack / "pack.yaml", lambda doc: doc.update(lanes={"production": "production", "candidate": "candidate",
                                                                  "integration": "integration"}))
    with pytest.raises(PolicyError, match="disagree with config `lane_order`"):
        load_pack(pack)


@pytest.mark.parametrize("order", [[], ["candidate", "candidate"], "candidate", [""]])
def test_a_malformed_lane_order_is_refused(tmp_path: Path, order: Any) -> None:
    pack = _copy_pack(tmp_path)
    _edit_yaml(pack / "config" / "data.yaml", lambda doc: doc.update(lane_order=order))
    with pytest.raises(PolicyError, match="must list each lane once"):
        load_pack(pack)


def test_no_lane_list_is_written_outside_the_config() -> None:
    """The lane list is held once (each pack's config `lane_order`): no Python, shipped Rego or script spells it out again."""
    files = [*(REPO / "engine").rglob("*.py"), *(REPO / "benchmarks").rglob("*.py"), *(REPO / "scripts").iterdir(),
             *(p for p in (REPO / "policies").rglob("*.rego") if not p.name.endswith("_test.rego"))]
    offenders = [str(p.relative_to(REPO)) for p in files if p.is_file() and LANE_LIST.search(p.read_text(errors="replace"))]
    assert offenders == []
