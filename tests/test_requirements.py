"""`readypolicy requirements`: what a lane needs, checked against what `eval` really applies.

Expected values come from the raw pack files (pack.yaml, config/data.yaml read with PyYAML) and
from real decisions of the real OPA, never from the requirements module itself.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from readypolicy.cli.requirements import render_markdown
from readypolicy.policy.requirements import CheckNeeds, Need, Requirements, Threshold
from support import FIXTURES, OPA, REPO, require_opa, run_cli

PACKS = {"readiness": REPO / "policies", "enterprise": REPO / "policies" / "packs" / "enterprise",
         "priority": REPO / "policies" / "packs" / "priority"}
PASSING_JUNIT = REPO / "evidence_samples" / "payments" / "unit" / "junit.xml"
MANIFEST = "module: payments\nowner: team-payments\nlanes: {current: candidate, target: production}\n"


def env_for(tmp: Path) -> dict[str, str]:
    return {"READYPOLICY_STORE": str(tmp / "store.db"), "READYPOLICY_OPA": str(OPA),
            "READYPOLICY_POLICIES": str(REPO / "policies")}


def raw_config(pack: str) -> tuple[list[str], dict[str, Any]]:
    directory = PACKS[pack]
    config = yaml.safe_load((directory / "config" / "data.yaml").read_text(encoding="utf-8"))
    return list(config["lane_order"]), config


def requirements_json(tmp: Path, lane: str, pack: str = "readiness") -> dict[str, Any]:
    done = run_cli("requirements", "--lane", lane, "--pack", pack, "--format", "json", cwd=tmp, env=env_for(tmp))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("pack", sorted(PACKS))
@pytest.mark.parametrize("lane", ["candidate", "integration", "production"])
def test_checks_kinds_and_thresholds_follow_the_raw_pack_data(tmp_path: Path, pack: str, lane: str) -> None:
    lanes, config = raw_config(pack)
    up_to = lanes[: lanes.index(lane) + 1]
    expected_ids = [c for name in up_to for c in config["lanes"][name].get("checks", [])]
    expected_thresholds: dict[str, Any] = {}
    for name in up_to:
        for key, value in (config["lanes"][name].get("thresholds") or {}).items():
            expected_thresholds[key] = {"value": value, "lane": name}
    got = requirements_json(tmp_path, lane, pack)
    assert [c["id"] for c in got["checks"]] == expected_ids
    for check in got["checks"]:
        assert [n["kind"] for n in check["needs"]] == config["checks"][check["id"]]["needs"]
    assert got["thresholds"] == expected_thresholds


def test_the_listed_checks_are_the_ones_eval_decides(tmp_path: Path) -> None:
    """No check is left out: a module with nothing but a manifest gets exactly these checks from OPA."""
    require_opa()
    env = env_for(tmp_path)
    (tmp_path / "module.lane.yaml").write_text(MANIFEST, encoding="utf-8")
    assert run_cli("ingest", "module.lane.yaml", "--revision", "r1", cwd=tmp_path, env=env).returncode == 0
    for lane in ("candidate", "integration", "production"):
        decided = run_cli("eval", "--module", "payments", "--revision", "r1", "--lane", lane, "--format", "json",
                          "--no-record", cwd=tmp_path, env=env)
        assert decided.returncode == 1, decided.stderr
        record = json.loads(decided.stdout)
        listed = requirements_json(tmp_path, lane)
        assert sorted(c["id"] for c in listed["checks"]) == sorted(c["id"] for c in record["checks"])
        needs = {c["id"]: c["needs"] for c in record["checks"]}
        assert all([n["kind"] for n in c["needs"]] == needs[c["id"]] for c in listed["checks"])


def test_accepted_formats_are_what_ingest_can_read(tmp_path: Path) -> None:
    listing = run_cli("formats", cwd=tmp_path, env=env_for(tmp_path))
    assert listing.returncode == 0
    readable: dict[str, set[str]] = {}
    for line in listing.stdout.splitlines():
        kind, fmt = line.split()[:2]
        readable.setdefault(kind, set()).add(fmt)
    for check in requirements_json(tmp_path, "production")["checks"]:
        for need in check["needs"]:
            assert set(need["formats"]) == readable[need["kind"]], (check["id"], need["kind"])


@pytest.mark.parametrize("check", ["tests.unit", "tests.smoke", "tests.integration"])
def test_a_declared_scope_is_the_one_the_check_reads(tmp_path: Path, check: str) -> None:
    """The listed scope is not decoration: the same passing report in another scope leaves the check missing."""
    require_opa()
    [need] = next(c for c in requirements_json(tmp_path, "integration")["checks"] if c["id"] == check)["needs"]
    [scope] = need["scopes"]
    statuses = {}
    for label in (scope, "default"):
        project = tmp_path / label
        project.mkdir()
        env = env_for(project)
        (project / "module.lane.yaml").write_text(MANIFEST, encoding="utf-8")
        shutil.copy2(PASSING_JUNIT, project / "junit.xml")
        assert run_cli("ingest", "module.lane.yaml", "--revision", "r1", cwd=project, env=env).returncode == 0
        assert run_cli("ingest", "junit.xml", "--module", "payments", "--revision", "r1", "--scope", label,
                       cwd=project, env=env).returncode == 0
        decided = run_cli("eval", "--module", "payments", "--revision", "r1", "--lane", "integration", "--format",
                          "json", "--no-record", cwd=project, env=env)
        statuses[label] = next(c["status"] for c in json.loads(decided.stdout)["checks"] if c["id"] == check)
    assert statuses == {scope: "pass", "default": "missing"}


def test_table_and_markdown_name_every_check(tmp_path: Path) -> None:
    listed = requirements_json(tmp_path, "candidate")
    for fmt in ("table", "markdown"):
        done = run_cli("requirements", "--lane", "candidate", "--format", fmt, cwd=tmp_path, env=env_for(tmp_path))
        assert done.returncode == 0, done.stderr
        assert all(c["id"] in done.stdout for c in listed["checks"])
        assert "coverage_line_min" in done.stdout


def test_a_title_cannot_break_the_markdown_table() -> None:
    req = Requirements(
        pack="p", version="1", lane="candidate",
        checks=(CheckNeeds("a.b", "pipes | in | title", "high", "candidate", (Need("tests", ("unit",), ("junit-xml",)),)),),
        thresholds=(Threshold("tests_min", 1, "candidate"),),
    )
    rows = [line for line in render_markdown(req).splitlines() if line.startswith("| `a.b`")]
    assert len(rows) == 1 and rows[0].count(" | ") == 5  # six columns: the title's pipes are escaped


def test_an_unknown_lane_is_an_error_naming_the_lanes(tmp_path: Path) -> None:
    done = run_cli("requirements", "--lane", "staging", cwd=tmp_path, env=env_for(tmp_path))
    assert done.returncode == 2
    assert "candidate, integration, production" in done.stderr


def test_a_pack_without_a_catalog_is_an_error(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    done = run_cli("requirements", "--lane", "candidate", "--pack", FIXTURES / "packs" / "mini", cwd=tmp_path, env=env)
    assert done.returncode == 2
    assert "no check catalog" in done.stderr


@pytest.mark.parametrize(("target", "expected"), [("candidate", ["candidate"]),
                                                  ("integration", ["candidate", "integration"])])
def test_eval_without_lane_decides_the_manifest_target_and_the_lanes_below(
    tmp_path: Path, target: str, expected: list[str],
) -> None:
    """A module aiming at integration is not failed for production lanes it never asked for."""
    require_opa()
    manifest = tmp_path / "module.lane.yaml"
    manifest.write_text(MANIFEST.replace("target: production", f"target: {target}"), encoding="utf-8")
    env = env_for(tmp_path)
    assert run_cli("ingest", "-m", "payments", "-r", "r1", manifest, cwd=tmp_path, env=env).returncode == 0
    done = run_cli("eval", "-m", "payments", "-r", "r1", "--no-record", "--format", "json", cwd=tmp_path, env=env)
    assert done.returncode == 1, done.stderr
    records = json.loads(done.stdout)
    records = records if isinstance(records, list) else [records]
    assert [r["lane"] for r in records] == expected


def test_eval_without_lane_or_manifest_decides_the_first_lane_and_is_not_ready(tmp_path: Path) -> None:
    """No manifest means no target: the first lane is decided, where manifest.present fails (never exit 0)."""
    require_opa()
    env = env_for(tmp_path)
    ingested = run_cli("ingest", "-m", "payments", "-r", "r1", "--scope", "unit", PASSING_JUNIT, cwd=tmp_path, env=env)
    assert ingested.returncode == 0, ingested.stderr
    done = run_cli("eval", "-m", "payments", "-r", "r1", "--no-record", "--format", "json", cwd=tmp_path, env=env)
    assert done.returncode == 1, done.stderr
    records = json.loads(done.stdout)
    records = records if isinstance(records, list) else [records]
    first_lane = raw_config("readiness")[0][0]
    assert [r["lane"] for r in records] == [first_lane]
    assert {c["id"]: c["status"] for c in records[0]["checks"]}["manifest.present"] == "missing"


def test_each_check_names_the_thresholds_its_rules_read(tmp_path: Path) -> None:
    """Per check, the thresholds come from OPA's parse of its rules; values are the lane's effective ones."""
    require_opa()
    _, config = raw_config("readiness")
    listed = {c["id"]: c["thresholds"] for c in requirements_json(tmp_path, "integration")["checks"]}
    integration_floor = config["lanes"]["integration"]["thresholds"]["coverage_line_min"]
    assert "coverage_line_min" in listed["coverage.line"]
    assert listed["manifest.present"] == []
    assert "sast_severity_max" in listed["security.sast"] and "coverage_line_min" not in listed["security.sast"]
    table = run_cli("requirements", "--lane", "integration", cwd=tmp_path, env=env_for(tmp_path))
    assert table.returncode == 0, table.stderr
    assert f"coverage_line_min={integration_floor}" in table.stdout
