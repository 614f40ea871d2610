"""Each check's `result` head is one line, `result(id, lane) := <helper>(lane) if id == "<id>"`, calling a
helper named after the check (issue 17: OPA indexes a function by the id equality in its bodies, so
each check's call tries one head instead of every head of the pack; see `lib.lane_decision`).

The split adds a way to go wrong that the old form did not have: a head routed to another check's
helper (a copy-paste slip) would answer for one check with another's verdict, so a failing check
could read "pass" under the wrong name. These tests read every pack's `result` rules from OPA's own
parse and hold each head to the helper its id names, prove that holding fails on a misrouted head,
and evaluate every lane of every pack on no evidence at all: no check may pass on nothing.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from readypolicy.engines.locate import find_opa
from readypolicy.engines.opa_binary import OpaBinary
from readypolicy.policy import stage
from readypolicy.policy.pack import load_pack
from readypolicy.policy.rego_index import RegoIndex

ROOT = Path(__file__).resolve().parent.parent
PACKS = [ROOT / "policies", ROOT / "policies" / "packs" / "enterprise", ROOT / "policies" / "packs" / "priority",
         ROOT / ".ci" / "pack"]

SUITES = {"tests.unit": "unit", "tests.smoke": "smoke", "tests.integration": "integration"}
"""The JUnit checks share one helper, called with the suite's scope."""


@pytest.fixture(scope="module")
def opa(tmp_path_factory: pytest.TempPathFactory) -> OpaBinary:
    """The project's OPA binary, with its restricted capabilities cached in a temp dir."""
    return OpaBinary(path=find_opa(None, ROOT), cache_dir=tmp_path_factory.mktemp("opa-cache"))


def _called(value: dict[str, Any]) -> tuple[str, list[dict[str, Any]]] | None:
    """(name, arguments) of a head value that is a bare rule or a call of a package function, else None."""
    if value.get("type") == "var":
        return str(value["value"]), []
    if value.get("type") == "call":
        operator, *args = value["value"]
        path = operator.get("value") or []
        if operator.get("type") == "ref" and len(path) == 1 and path[0].get("type") == "var":
            return str(path[0]["value"]), args
    return None


def misrouted(index: RegoIndex) -> list[str]:
    """Every `result` head not in the indexed one-line form (the id equality alone, no else) or calling a
    helper its id does not name."""
    problems: list[str] = []
    for check_id, rules in index.checks().items():
        for rule in rules:
            where = f"{rule.path}:{rule.row} {check_id}"
            if not rule.indexed or "else" in rule.ast or len(rule.ast["body"]) != 1:
                problems.append(f"{where}: not result(id, lane) := <helper>(lane) if id == {json.dumps(check_id)}")
                continue
            called = _called(rule.ast["head"]["value"])
            if check_id in SUITES:
                scope = [(a.get("type"), a.get("value")) for a in called[1][:1]] if called else []
                if called is None or called[0] != "suite_result" or scope != [("string", SUITES[check_id])]:
                    problems.append(f"{where}: not suite_result({SUITES[check_id]!r}, lane)")
            elif called is None or called[0] != check_id.replace(".", "_"):
                problems.append(f"{where}: calls {called[0] if called else 'no helper'}, not {check_id.replace('.', '_')}")
    return problems


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.name)
def test_every_result_head_calls_the_helper_its_check_id_names(opa: OpaBinary, pack: Path) -> None:
    index = RegoIndex.of(opa, load_pack(pack))
    assert index.checks(), pack
    assert misrouted(index) == []


MISROUTES = {
    "helper": ('result(id, lane) := chaos_basic(lane) if id == "docs.present"\n',
               "docs.present: calls chaos_basic, not docs_present"),
    "equality": ('result(id, lane) := docs_present(lane) if id == "chaos.basic"\n',
                 "chaos.basic: calls docs_present, not chaos_basic"),
    "literal head": ('result("docs.present", lane) := docs_present(lane)\n',
                     'docs.present: not result(id, lane) := <helper>(lane) if id == "docs.present"'),
}
"""The docs.present head rewritten → the one problem the holding must name."""


@pytest.mark.parametrize("attack", sorted(MISROUTES))
def test_a_head_routed_to_another_checks_helper_is_caught(opa: OpaBinary, tmp_path: Path, attack: str) -> None:
    """The attacks: docs.present answering with chaos.basic's verdict (helper), chaos.basic answered a second
    time by docs.present's helper (equality), and the unindexed literal head coming back (every call would try
    it again). The holding above must name each."""
    policies = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", policies, ignore=shutil.ignore_patterns("packs"))
    docs = policies / "checks" / "docs.rego"
    head = 'result(id, lane) := docs_present(lane) if id == "docs.present"\n'
    text = docs.read_text(encoding="utf-8")
    assert text.count(head) == 1
    replacement, expected = MISROUTES[attack]
    docs.write_text(text.replace(head, replacement), encoding="utf-8")
    [problem] = misrouted(RegoIndex.of(opa, load_pack(policies)))
    assert expected in problem


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.name)
def test_no_check_of_any_lane_passes_without_evidence(opa: OpaBinary, pack: Path, tmp_path: Path) -> None:
    """Every lane of the pack, no manifest and no evidence: each check is missing, so no lane allows."""
    policy = load_pack(pack)
    bundle = stage.load(policy, tmp_path / "stage").path
    inp = tmp_path / "input.json"
    inp.write_text(json.dumps({"module": "payments", "revision": "abc", "now": "2026-12-02T00:00:00Z",
                               "manifest": None, "evidence": {}, "waivers": []}), encoding="utf-8")
    query = f"{{lane: d | some lane in data.{policy.root}.config.lane_order; d := data.{policy.root}[lane].decision}}"
    done = opa.run(["eval", "--format", "json", "--strict", "--strict-builtin-errors", "--capabilities",
                    str(opa.capabilities_file), "--bundle", str(bundle), "--input", str(inp), query])
    assert done.returncode == 0, done.stderr
    decisions = json.loads(done.stdout)["result"][0]["expressions"][0]["value"]
    assert decisions
    for lane, decision in decisions.items():
        statuses = {c["id"]: c["status"] for c in decision["checks"]}
        assert statuses and set(statuses.values()) <= {"missing", "warn"}, (lane, statuses)
        assert decision["allow"] is (set(statuses.values()) == {"warn"}), lane
