"""Verdict integrity in the policy: thresholds and waivers are bounded by the pack (issue 11, part C).

Each test is an attack a module team could make through its own evidence or its waiver file, run
for real: real tool outputs ingested into a project holding a copy of the shipped readiness pack,
decided by the real OPA binary through the CLI, and where the loader could hide a weakness of the
policy, once more through the library with the waiver handed straight to OPA. Expected values come
from the raw artifacts and the raw pack data (json, PyYAML), never from readypolicy's own readers.
"""

from __future__ import annotations

import json
import re
import statistics
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from policy_project import ARTIFACTS, Project, make_project
from readypolicy.canonical import rfc3339, utc_now
from readypolicy.engines.opa_binary import OpaBinary
from readypolicy.engines.opa_cli import OpaCliEngine
from readypolicy.evaluate import Subject, decide
from readypolicy.policy import stage
from readypolicy.policy.pack import load_pack, pack_dir
from readypolicy.store.open import open_store
from support import REPO, require_opa

POLICIES = REPO / "policies"
WAIVERS_DOC = REPO / "docs" / "waivers.md"
PACKS = ("readiness", "priority", "enterprise")
LANES = ("candidate", "integration", "production")


def _waiver(check: str, lane: str, created: datetime, days: float) -> dict[str, str]:
    return {"check": check, "module": "payments", "lane": lane, "reason": "tracked in PAY-123", "approver": "sec-lead",
            "created": rfc3339(created), "expires": rfc3339(created + timedelta(days=days))}


def _project(tmp_path: Path, waivers: list[dict[str, str]] | None = None) -> Project:
    """payments@abc with manifest, coverage, unit tests (2 of 11 fail) and bandit (a B602 finding); waivers.yaml if given."""
    text = None if waivers is None else yaml.safe_dump({"waivers": waivers}, sort_keys=False)
    return make_project(tmp_path, waivers=text)


def _ingest(project: Project, *args: str | Path) -> None:
    result = project.run("ingest", "--module", "payments", "--revision", "abc", *map(str, args))
    assert result.exit_code == 0, result.output


def _checks(project: Project, *lanes: str) -> dict[str, dict[str, dict[str, Any]]]:
    """lane → check id → check, from `eval --format json` of payments@abc (nothing recorded)."""
    lane_args = [arg for lane in lanes for arg in ("--lane", lane)]
    records = project.eval_records("--module", "payments", "--revision", "abc", *lane_args, "--no-record")
    return {r["lane"]: {c["id"]: c for c in r["checks"]} for r in records}


def _eval_stderr(project: Project, lane: str) -> str:
    result = project.run("eval", "--module", "payments", "--revision", "abc", "--lane", lane, "--no-record")
    assert result.exit_code in (0, 1), result.output
    return result.stderr


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> OpaCliEngine:
    return OpaCliEngine(OpaBinary(path=require_opa(), cache_dir=tmp_path_factory.mktemp("opa"), timeout_s=30))


def _decided_directly(project: Project, engine: OpaCliEngine, tmp_path: Path, lane: str,
                      waivers: list[dict[str, str]], now: datetime) -> dict[str, dict[str, Any]]:
    """The lane decided through the library with `waivers` given to OPA as they are: no loader in between."""
    evidence = tuple(open_store(str(project.root / "store.db")).latest_evidence("payments", "abc"))
    [made] = decide(engine=engine, policy=load_pack(project.root / "policies"), cache_dir=tmp_path / "cache", lane=lane,
                    batch=[(Subject("payments", "abc"), evidence)], now=rfc3339(now), waivers=waivers)
    return {c["id"]: c for c in made.record["checks"]}


# --- SLO budgets: the manifest claims, the policy bounds -------------------------------------------


def _reflect_benchmark(tmp_path: Path) -> tuple[Path, float]:
    """The real hyperfine run of `sleep 0.01`, as `hyperfine --command-name reflect` names it; and its median run in ms."""
    raw = json.loads((ARTIFACTS / "hyperfine-json" / "hyperfine-sleep-vs-true.json").read_text(encoding="utf-8"))
    [sleep] = [r for r in raw["results"] if r["command"] == "sleep 0.01"]
    path = tmp_path / "reflect-hyperfine.json"
    path.write_text(json.dumps({"results": [{**sleep, "command": "reflect"}]}), encoding="utf-8")
    return path, 1000 * statistics.median(sleep["times"])


def _manifest(tmp_path: Path, slo: str, thresholds: str = "{}") -> Path:
    path = tmp_path / "module.lane.yaml"
    path.write_text(
        "module: payments\nowner: team-payments\nlanes: {current: candidate, target: integration}\n"
        f"slo: {slo}\nthresholds: {thresholds}\n"
        "telemetry: {allowed_labels: {lane: [candidate, integration, production]}}\ncapacity: {expected_rps: 200}\n",
        encoding="utf-8",
    )
    return path


def test_manifest_cannot_raise_slo_budget_above_lane_max(tmp_path: Path) -> None:
    """reflect's median run alone exceeds the pack's 10 ms ceiling: claiming 1000 ms (and raising the ceiling) passes nothing."""
    project = _project(tmp_path)
    benchmark, median_ms = _reflect_benchmark(tmp_path)
    _ingest(project, benchmark)
    raised = "{integration: {reflect_p95_ms_max: 5000, slo_p95_ms_max: 5000}}"
    _ingest(project, _manifest(tmp_path, "{reflect_p95_ms: 1000}", raised))
    slo = _checks(project, "integration")["integration"]["perf.slo"]
    assert slo["status"] == "fail"
    assert re.fullmatch(r"reflect: p95 CI95 upper bound \S+ ms exceeds the 10\.0 ms budget "
                        r"\(lane maximum reflect_p95_ms_max; the manifest claims 1000 ms\)", slo["message"]), slo["message"]
    thresholds = yaml.safe_load((POLICIES / "config" / "data.yaml").read_text())["lanes"]["integration"]["thresholds"]
    assert thresholds["reflect_p95_ms_max"] == 10 and median_ms > 10  # so its p95 and that p95's CI95 are over 10 too


def test_manifest_budget_below_the_lane_max_is_the_one_judged(tmp_path: Path) -> None:
    project = _project(tmp_path)
    benchmark, _ = _reflect_benchmark(tmp_path)
    _ingest(project, benchmark)
    _ingest(project, _manifest(tmp_path, "{reflect_p95_ms: 5}"))
    slo = _checks(project, "integration")["integration"]["perf.slo"]
    assert slo["status"] == "fail"
    assert slo["message"].endswith("exceeds the 5.00 ms budget (manifest budget)"), slo["message"]


def test_operation_left_out_of_the_manifest_is_still_held_to_its_lane_max(tmp_path: Path) -> None:
    """Dropping reflect from the manifest's slo does not drop the pack's bound on it."""
    project = _project(tmp_path)
    benchmark, _ = _reflect_benchmark(tmp_path)
    _ingest(project, benchmark)
    _ingest(project, _manifest(tmp_path, "{tick_p95_ms: 100}"))
    message = _checks(project, "integration")["integration"]["perf.slo"]["message"]
    assert "reflect: p95 CI95 upper bound" in message
    assert "exceeds the 10.0 ms budget (lane maximum reflect_p95_ms_max; the manifest sets no budget)" in message


# --- Waivers: time-boxed by the pack ---------------------------------------------------------------


def test_waiver_expiring_in_2199_is_not_honoured(tmp_path: Path, engine: OpaCliEngine) -> None:
    now = utc_now()
    created = now - timedelta(days=1)
    forever = {**_waiver("tests.unit", "candidate", created, 1), "expires": "2199-12-31T00:00:00Z"}
    bounded = _waiver("security.sast", "candidate", created, 5)
    project = _project(tmp_path, [forever, bounded])
    checks = _checks(project, "candidate")["candidate"]
    assert checks["tests.unit"]["status"] == "fail"
    assert checks["security.sast"]["status"] == "waived"  # the same file's bounded waiver does apply
    assert "waiver #1 for tests.unit on payments ignored: it runs" in _eval_stderr(project, "candidate")
    # Handed to OPA without the loader, the policy refuses it on its own.
    direct = _decided_directly(project, engine, tmp_path, "candidate", [forever, bounded], now)
    assert direct["tests.unit"]["status"] == "fail"
    assert direct["security.sast"]["status"] == "waived"


def test_waiver_longer_than_lane_lifetime_is_not_honoured(tmp_path: Path, engine: OpaCliEngine) -> None:
    """20 days: within candidate's 30, over integration's 14 (the pack's numbers, read here with PyYAML)."""
    now = utc_now()
    created = now - timedelta(days=1)
    waivers = [_waiver("tests.unit", lane, created, 20) for lane in ("candidate", "integration")]
    project = _project(tmp_path, waivers)
    decided = _checks(project, "candidate", "integration")
    assert decided["candidate"]["tests.unit"]["status"] == "waived"
    assert decided["integration"]["tests.unit"]["status"] == "fail"
    direct = _decided_directly(project, engine, tmp_path, "integration", waivers, now)
    assert direct["tests.unit"]["status"] == "fail"
    lifetimes = yaml.safe_load((POLICIES / "config" / "data.yaml").read_text())["waivers"]["lifetime_days_max"]
    assert lifetimes == {"candidate": 30, "integration": 14, "production": 7}


def test_waiver_created_in_the_future_is_not_honoured(tmp_path: Path, engine: OpaCliEngine) -> None:
    """A waiver dated tomorrow cannot be made to look young: it is not in force before it exists."""
    now = utc_now()
    future = _waiver("tests.unit", "candidate", now + timedelta(days=1), 5)
    project = _project(tmp_path, [future])
    assert _checks(project, "candidate")["candidate"]["tests.unit"]["status"] == "fail"
    assert "is after the evaluation time" in _eval_stderr(project, "candidate")
    assert _decided_directly(project, engine, tmp_path, "candidate", [future], now)["tests.unit"]["status"] == "fail"


# --- Which checks are waivable: the catalog, and only the catalog -----------------------------------


def test_critical_vulns_unwaivable_in_every_lane(tmp_path: Path, engine: OpaCliEngine) -> None:
    """grype reports a Critical CVE; a waiver for it in each lane changes nothing, one for the dependency audit does."""
    report = ARTIFACTS / "grype-json" / "grype-upstream-dirs-presenter.json"
    severities = {m["vulnerability"]["severity"] for m in json.loads(report.read_text())["matches"]}
    assert "Critical" in severities
    now = utc_now()
    created = now - timedelta(days=1)
    waivers = [_waiver("security.no_critical_vulns", lane, created, 5) for lane in LANES]
    waivers.append(_waiver("security.dependencies", "candidate", created, 5))
    project = _project(tmp_path, waivers)
    _ingest(project, report)
    decided = _checks(project, *LANES)
    for lane in LANES:
        assert decided[lane]["security.no_critical_vulns"]["status"] == "fail", lane
        direct = _decided_directly(project, engine, tmp_path, lane, waivers, now)
        assert direct["security.no_critical_vulns"]["status"] == "fail", lane
    assert decided["candidate"]["security.dependencies"]["status"] == "waived"


def _catalogs() -> dict[str, dict[str, Any]]:
    return {pack: yaml.safe_load((pack_dir(POLICIES, pack) / "config" / "data.yaml").read_text(encoding="utf-8"))
            for pack in PACKS}


def test_no_lane_keeps_a_second_list_of_unwaivable_checks() -> None:
    """The old per-lane `unwaivable` list is read by nothing now: one left in a pack would silently waive what it names."""
    for pack, config in _catalogs().items():
        assert not [lane for lane, spec in config["lanes"].items() if "unwaivable" in spec], pack
        for check_id, entry in config["checks"].items():
            assert isinstance(entry.get("waivable", True), bool), (pack, check_id)
            lanes = entry.get("unwaivable_in", [])
            assert isinstance(lanes, list) and set(lanes) <= set(LANES), (pack, check_id)


WAIVABLE_QUERY = (
    '{"lanes": data.readiness.lib.lane_order, '
    '"checks": {lane: data.readiness.lib.lane_checks(lane) | some lane in data.readiness.lib.lane_order}, '
    '"waivable": {lane: {id | some id in data.readiness.lib.lane_checks(lane); data.readiness.lib.waivable(id, lane)} '
    "| some lane in data.readiness.lib.lane_order}}"
)


def _waivable_table(answer: dict[str, Any]) -> str:
    """The Markdown table docs/waivers.md holds for a pack: yes / **no** / — (not checked in the lane)."""
    lanes: list[str] = answer["lanes"]
    lines = ["| check | " + " | ".join(lanes) + " |", "| --- |" + " --- |" * len(lanes)]
    for check_id in answer["checks"][lanes[-1]]:
        cells = ["—" if check_id not in answer["checks"][lane] else "yes" if check_id in answer["waivable"][lane] else "**no**"
                 for lane in lanes]
        lines.append(f"| `{check_id}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _documented_table(pack: str) -> str:
    text = WAIVERS_DOC.read_text(encoding="utf-8")
    found = re.search(rf"<!-- waivable-checks {pack} -->\n(.*?)\n<!-- end waivable-checks {pack} -->", text, re.S)
    assert found, f"{WAIVERS_DOC} has no waivable-checks block for pack {pack}"
    return found.group(1)


@pytest.mark.parametrize("pack", PACKS)
def test_waivable_checks_doc_matches_catalog(pack: str, engine: OpaCliEngine, tmp_path: Path) -> None:
    """docs/waivers.md shows, per lane, exactly what OPA computes from the pack's catalog; the catalog read with PyYAML agrees."""
    policy = load_pack(pack_dir(POLICIES, pack))
    [answer] = engine.evaluate(stage.load(policy, tmp_path), WAIVABLE_QUERY, [{}])
    catalog = _catalogs()[pack]["checks"]
    for lane in answer["lanes"]:
        expected = {c for c in answer["checks"][lane]
                    if catalog[c].get("waivable", True) is True and lane not in catalog[c].get("unwaivable_in", [])}
        assert set(answer["waivable"][lane]) == expected, lane
    table = _waivable_table(answer)
    assert _documented_table(pack) == table, f"update docs/waivers.md; the {pack} table is now:\n{table}"
